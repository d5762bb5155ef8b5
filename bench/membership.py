"""Time a segment's membership diff (app.services.membership: members computed in the
database, compared with those kept from the last computation, ENTERED and LEFT rows written)
against the plain count of the same segment, on PostgreSQL, in the same run.

    python bench/membership.py [--contacts 1000000] [--runs 7] [--churn 0.01] [--keep URL]

The data is generated inside PostgreSQL: N contacts, half of them subscribed, a tag "vip" on
another random half, and one or two opens over the last half year for a quarter of them (a
realistic segment's related rows). Three segments:
- `subscribed` (N/2 members): a column of the contacts (`subscriptionStatus: SUBSCRIBED`);
- `vip` (N/2): a tag (`tags: {hasAny: ["vip"]}`), which the count reads as a set of tag links;
- `opened_180d`: opened in the last 180 days (N/2), read from the events.
The first two are the cheapest filters to count, so the diff's own cost weighs the most there.

Before each timed round (not timed) `--churn` of the members leave and as many contacts enter
(a status flip, or tag links deleted and added), then the contacts, the tag links and the kept
members are vacuumed and analyzed.
Each round times, in alternating order: the refresh (`counts.refresh_count`: the diff, the
count kept on the segment and the history point, one transaction), the project's count
(`query.count_matching`, what a refresh ran before membership was kept), a hand-written
COUNT(*), and the floor of any diff: listing the members' ids and reading the kept ones
(a count needs neither: the index and the visibility map answer it). Medians; the ratios are
to the project's count (target: at most 3).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from common import bench_database

from app import clock as service_clock
from app.db import apply_migrations, database
from app.filters import query
from app.models import Account, MembershipChange, Segment
from app.services import counts, tasks
from app.services.accounts import create_account
from app.services.segments import create_segment, segment_filter
from app.settings import Settings

GENERATE = [
    (
        "contacts",
        """INSERT INTO contacts (account_id, email, email_lower, created_at, updated_at,
             subscription_status, email_risk, is_customer, is_inactive, is_hard_bounced,
             is_excluded, sends_since_engagement, soft_bounces, total_spent_cents, custom_fields)
           SELECT $1, 'user' || g || '@example.com', 'user' || g || '@example.com', now(), now(),
             CASE WHEN random() + 0 * g < 0.5 THEN 'SUBSCRIBED' ELSE 'UNSUBSCRIBED' END,
             'VALID', false, false, false, false, 0, 0, 0, '{}'
           FROM generate_series(1, $2) g""",
    ),
    (
        "tag",
        "INSERT INTO tags (account_id, name, name_lower, created_at) "
        "VALUES ($1, 'vip', 'vip', now())",
    ),
    (
        "tag links",
        """INSERT INTO contact_tags (account_id, contact_id, tag_id, created_at)
           SELECT $1, c.id, t.id, now() FROM contacts c JOIN tags t ON t.account_id = $1
           WHERE c.account_id = $1 AND random() < 0.5""",
    ),
    (
        "opens",
        # Half the contacts opened once or twice over the last half year.
        """INSERT INTO email_events (account_id, contact_id, kind, campaign, occurred_at)
           SELECT $1, c.id, 'OPENED', 'c' || n, now() - random() * interval '170 days'
           FROM contacts c CROSS JOIN generate_series(1, 2) n
           WHERE c.account_id = $1 AND (c.id * 7919 + n) % 4 = 0""",
    ),
    ("vacuum analyze", "VACUUM ANALYZE"),
]

SHAPES: dict[str, dict[str, Any]] = {
    "subscribed": {"subscriptionStatus": {"in": ["SUBSCRIBED"]}},
    "vip": {"tags": {"hasAny": ["vip"]}},
    "opened_180d": {"emailActivity": {"event": "OPENED", "window": {"withinLastDays": 180}}},
}
HAND_WRITTEN = {
    "subscribed": "SELECT count(*) FROM contacts WHERE account_id = $1 "
    "AND subscription_status = 'SUBSCRIBED'",
    "vip": "SELECT count(*) FROM contact_tags l JOIN tags t ON t.id = l.tag_id "
    "WHERE t.account_id = $1 AND t.name_lower = 'vip' AND l.account_id = $1",
    "opened_180d": "SELECT count(DISTINCT contact_id) FROM email_events WHERE account_id = $1 "
    "AND kind = 'OPENED' AND occurred_at >= now() - interval '180 days'",
}
# What any diff must at least do: list the members' ids (a count can skip the rows: the index
# and the visibility map answer it) and read the kept ones.
FLOOR = {
    "subscribed": "SELECT count(id), (SELECT count(*) FROM segment_members WHERE segment_id = $2) "
    "FROM contacts WHERE account_id = $1 AND subscription_status = 'SUBSCRIBED'",
    "vip": "SELECT count(l.contact_id), (SELECT count(*) FROM segment_members "
    "WHERE segment_id = $2) FROM contact_tags l JOIN tags t ON t.id = l.tag_id "
    "WHERE t.account_id = $1 AND t.name_lower = 'vip' AND l.account_id = $1",
    "opened_180d": "SELECT count(DISTINCT contact_id), (SELECT count(*) FROM segment_members "
    "WHERE segment_id = $2) FROM email_events WHERE account_id = $1 AND kind = 'OPENED' "
    "AND occurred_at >= now() - interval '180 days'",
}
# `churn` of the members leave and as many others enter: $1 account, $2 how many of each.
CHURN = {
    "subscribed": [
        """UPDATE contacts SET subscription_status = CASE subscription_status
             WHEN 'SUBSCRIBED' THEN 'UNSUBSCRIBED' ELSE 'SUBSCRIBED' END
           WHERE id IN (SELECT id FROM contacts WHERE account_id = $1
             AND subscription_status = 'SUBSCRIBED' ORDER BY random() LIMIT $2)
              OR id IN (SELECT id FROM contacts WHERE account_id = $1
             AND subscription_status = 'UNSUBSCRIBED' ORDER BY random() LIMIT $2)""",
    ],
    "vip": [
        """CREATE TEMP TABLE bench_move ON COMMIT DROP AS
           SELECT c.id, l.contact_id IS NOT NULL AS member FROM contacts c
           JOIN tags t ON t.account_id = $1 AND t.name_lower = 'vip'
           LEFT JOIN contact_tags l ON l.contact_id = c.id AND l.tag_id = t.id
           WHERE c.account_id = $1 AND c.id IN (
             (SELECT contact_id FROM contact_tags WHERE account_id = $1
              ORDER BY random() LIMIT $2)
             UNION ALL (SELECT id FROM contacts x WHERE account_id = $1 AND NOT EXISTS (
               SELECT 1 FROM contact_tags y WHERE y.contact_id = x.id)
              ORDER BY random() LIMIT $2))""",
        "DELETE FROM contact_tags WHERE account_id = $1 AND contact_id IN "
        "(SELECT id FROM bench_move WHERE member) AND $2 > 0",
        "INSERT INTO contact_tags (account_id, contact_id, tag_id, created_at) "
        "SELECT $1, m.id, t.id, now() FROM bench_move m JOIN tags t ON t.account_id = $1 "
        "WHERE NOT m.member AND $2 > 0",
    ],
}

CHURN["opened_180d"] = [
    # Members' recent opens age past the window; other contacts open now.
    """UPDATE email_events SET occurred_at = occurred_at - interval '400 days'
       WHERE account_id = $1 AND kind = 'OPENED' AND contact_id IN (
         SELECT contact_id FROM email_events WHERE account_id = $1 AND kind = 'OPENED'
           AND occurred_at >= now() - interval '180 days' ORDER BY random() LIMIT $2)""",
    """INSERT INTO email_events (account_id, contact_id, kind, campaign, occurred_at)
       SELECT $1, id, 'OPENED', 'churn', now() FROM contacts c WHERE account_id = $1
         AND NOT EXISTS (SELECT 1 FROM email_events e WHERE e.contact_id = c.id
           AND e.kind = 'OPENED' AND e.occurred_at >= now() - interval '180 days')
       ORDER BY random() LIMIT $2""",
]

Step = Callable[[], Awaitable[Any]]


class NoBackgroundWork:
    """Saving a segment queues its count: here the bench alone says when counts run."""

    async def send(self, *_: Any) -> bool:
        return False


async def generate(url: str, contacts: int) -> int:
    async with database_at(url):
        account_id = (await create_account("Bench membership")).account.id
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET work_mem = '256MB'")
        for label, statement in GENERATE:
            started = time.perf_counter()
            used = max((n for n in (1, 2) if f"${n}" in statement), default=0)
            await conn.execute(statement, *[account_id, contacts][:used])
            print(f"  {time.perf_counter() - started:6.1f}s  {label}", flush=True)
    finally:
        await conn.close()
    return int(account_id)


def database_at(url: str) -> Any:
    return database(Settings(database_url=url))


async def churn(conn: asyncpg.Connection, shape: str, account_id: int, moved: int) -> None:
    async with conn.transaction():
        for statement in CHURN[shape]:
            await conn.execute(statement, account_id, moved)
    # What autovacuum does between nightly runs, done now so every round starts alike (without
    # it the kept members' index-only scan visits the heap for each of them).
    for table in ("contacts", "contact_tags", "email_events", "segment_members"):
        await conn.execute(f"VACUUM ANALYZE {table}")


async def clock(step: Step) -> float:
    started = time.perf_counter()
    await step()
    return time.perf_counter() - started


async def measure(url: str, account_id: int, runs: int, rate: float) -> list[str]:
    conn = await asyncpg.connect(url)
    lines = [
        "| segment | members | entered + left per round | refresh (diff) ms | "
        "project count ms | hand-written COUNT ms | listing both id sets ms | "
        "refresh / count | listing / count |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    tasks.use_backend(NoBackgroundWork())
    try:
        async with database_at(url):
            for shape in SHAPES:
                lines.append(await measure_shape(conn, account_id, shape, runs, rate))
                print(lines[-1], flush=True)
    finally:
        await conn.close()
    return lines


async def measure_shape(
    conn: asyncpg.Connection, account_id: int, shape: str, runs: int, rate: float
) -> str:
    name = f"bench {shape}"
    segment = await Segment.get_or_none(account_id=account_id, name=name)
    if segment is None:
        account = await Account.get(id=account_id)
        segment = await create_segment(
            account, name=name, description=None, filter_input=SHAPES[shape]
        )
    segment_id, tree = segment.id, segment_filter(segment)
    first = await counts.refresh_count(account_id, segment_id)  # keeps the members
    members = int(first.cached_count or 0) if first else 0
    moved = int(members * rate / 2)
    steps: list[tuple[str, Step]] = [
        ("refresh", lambda: counts.refresh_count(account_id, segment_id)),
        ("count", lambda: query.count_matching(account_id, tree, now=_now())),
        ("hand", lambda: conn.fetchval(HAND_WRITTEN[shape], account_id)),
        ("floor", lambda: conn.fetchval(FLOOR[shape], account_id, segment_id)),
    ]
    timings: dict[str, list[float]] = {label: [] for label, _ in steps}
    changed: list[int] = []
    for round_ in range(runs + 1):  # the first round warms up
        await churn(conn, shape, account_id, moved)
        before = await MembershipChange.filter(segment_id=segment_id).count()
        for label, step in steps[:: -1 if round_ % 2 else 1]:
            seconds = await clock(step)
            if round_:
                timings[label].append(seconds)
        if round_:
            changed.append(await MembershipChange.filter(segment_id=segment_id).count() - before)
    refresh, count, hand, floor = (
        statistics.median(timings[k]) for k in ("refresh", "count", "hand", "floor")
    )
    return (
        f"| {shape} | {members:,} | {statistics.median(changed):,.0f} | "
        f"{refresh * 1000:.0f} | {count * 1000:.0f} | {hand * 1000:.0f} | "
        f"{floor * 1000:.0f} | {refresh / count:.2f} | {floor / count:.2f} |"
    )


def _now() -> Any:
    return service_clock.now()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--churn", type=float, default=0.01, help="share of members moved")
    parser.add_argument("--keep", help="reuse (or keep) this database URL instead of a scratch one")
    args = parser.parse_args()
    async with bench_database(args.keep) as url:
        await apply_migrations(Settings(database_url=url))
        conn = await asyncpg.connect(url)
        account = await conn.fetchrow(
            "SELECT id FROM accounts WHERE name = 'Bench membership' ORDER BY id LIMIT 1"
        )
        await conn.close()
        if account is None:
            print(f"generating {args.contacts:,} contacts in {url}", flush=True)
            account_id = await generate(url, args.contacts)
        else:
            account_id = int(account["id"])
            print(f"reusing account {account_id} in {url}", flush=True)
        await measure(url, account_id, args.runs, args.churn)


if __name__ == "__main__":
    asyncio.run(main())
