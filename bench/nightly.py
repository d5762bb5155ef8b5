"""Time the nightly flag recompute of an account of N contacts (PostgreSQL) against one
hand-written UPDATE of every contact, in the same run; then the whole nightly run and its peak
memory.

    python bench/nightly.py [--contacts 1000000] [--runs 5] [--keep URL] [--plans FILE]

The data is generated inside PostgreSQL (generate_series): N contacts, ~10 email events each
over the last year, and the contacts' summary fields (last open, click, engagement, send, hard
bounce; sends and soft bounces since the last engagement) set from their events, so the rules
have realistic work (30-40% of the subscribers Inactive, ~3% of the contacts Excluded); the
table is then clustered on id, as rows inserted over time lie. A million contacts take about
five minutes; `--keep URL` generates into that database once and reuses it afterwards (the
time "now" of the data is the account's creation time, so reruns see the same flags).

Scenarios, each timed `--runs` times after one warm-up (medians): recompute_flags after every
flag was reset (first run), again with nothing to change, after 1% of the contacts' Inactive
flag was flipped; the hand-written UPDATE of every contact (several forms, all checked to give
exactly the flags recompute_flags gives; the fastest is the baseline); the whole nightly run
(`maintenance.run`: flags, then the six default segments' counts). Before each timed run the
contacts table is vacuumed and analyzed and a checkpoint taken (not timed), so every run starts
from the same state. The nightly run's peak RSS is measured once in a child process. EXPLAIN
(ANALYZE, BUFFERS) plans of one batch UPDATE of recompute_flags and of the baseline go to
--plans.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
from common import bench_database

from app.db import apply_migrations, database
from app.engagement import RECOMPUTE_BATCH, Rules, _set_flags, recompute_flags
from app.enums import RunTrigger
from app.filters.sql import Sql, render, sql
from app.models import Account
from app.services import maintenance
from app.services.accounts import create_account
from app.settings import Settings

# $1 account id, $2 now, $3 contacts.
GENERATE = [
    (
        "contacts",
        # 80% subscribed, subscribed over two years (created up to 30 days before); 3% of the
        # addresses validated as high risk.
        """INSERT INTO contacts (account_id, email, email_lower, created_at, updated_at,
             subscription_status, subscribed_at, email_risk, is_customer, is_inactive,
             is_hard_bounced, is_excluded, sends_since_engagement, soft_bounces,
             total_spent_cents, custom_fields)
           SELECT $1, 'user' || g || '@example.com', 'user' || g || '@example.com',
             s.at - s.lead * interval '30 days', $2::timestamptz,
             CASE WHEN s.sub < 0.8 THEN 'SUBSCRIBED' ELSE 'UNSUBSCRIBED' END, s.at,
             CASE WHEN s.risk < 0.03 THEN 'HIGH_RISK' ELSE 'VALID' END,
             false, false, false, false, 0, 0, 0, '{}'
           FROM generate_series(1, $3) g CROSS JOIN LATERAL (
             SELECT $2::timestamptz - random() * interval '730 days' + 0 * g * interval '1 s'
               AS at, random() + 0 * g AS lead, random() + 0 * g AS sub,
               random() + 0 * g AS risk) s""",
    ),
    (
        "profiles",
        # Per contact: dormant (never opens, 12%), how many events (1 + exponential of mean
        # 9.5, at most 80: ~10 on average), over what span.
        """INSERT INTO bench_profile (id, dormant, events, span)
           SELECT c.id, random() < 0.12, LEAST(80, 1 + floor(-ln(1 - random()) * 9.5)::int),
             LEAST(interval '365 days', $2::timestamptz - c.created_at)
           FROM contacts c WHERE c.account_id = $1""",
    ),
    (
        "email_events",
        # Over the contact's last year, skewed to recent (time ago = span * r^2); kinds: 0.1%
        # hard bounces, ~4% soft bounces, 55% sends, then deliveries, and for the engaged
        # contacts 21% opens and 7% clicks.
        """INSERT INTO email_events (account_id, contact_id, kind, campaign, occurred_at)
           SELECT $1, p.id,
             CASE WHEN x.r < 0.001 THEN 'BOUNCED_HARD' WHEN x.r < 0.04 THEN 'BOUNCED_SOFT'
                  WHEN x.r < 0.59 THEN 'SENT' WHEN p.dormant OR x.r < 0.72 THEN 'DELIVERED'
                  WHEN x.r < 0.93 THEN 'OPENED' ELSE 'CLICKED' END,
             'campaign-' || (g % 26), $2::timestamptz - x.t * p.span
           FROM bench_profile p CROSS JOIN LATERAL generate_series(1, p.events) g
             CROSS JOIN LATERAL (SELECT random() + 0 * g AS r, random() ^ 2 + 0 * g AS t) x""",
    ),
    ("vacuum analyze email_events", "VACUUM ANALYZE email_events"),
    (
        "summary fields",
        # One pass over the events: latest times by kind, and the sends and soft bounces after
        # the last engagement (all of them when never engaged). A hard bounce after the last
        # engagement unsubscribes, as app.services.events does.
        """UPDATE contacts AS c SET last_opened_at = a.opened, last_clicked_at = a.clicked,
             last_engaged_at = GREATEST(a.opened, a.clicked), last_sent_at = a.sent,
             hard_bounced_at = a.hard, last_soft_bounce_at = a.soft_at,
             sends_since_engagement = a.sends, soft_bounces = a.softs,
             subscription_status = CASE WHEN a.hard > COALESCE(a.engaged, '-infinity')
               AND a.hard >= c.subscribed_at THEN 'UNSUBSCRIBED' ELSE c.subscription_status END,
             unsubscribe_reason = CASE WHEN a.hard > COALESCE(a.engaged, '-infinity')
               AND a.hard >= c.subscribed_at THEN 'BOUNCED' END
           FROM (
             SELECT contact_id, max(engaged) AS engaged,
               max(occurred_at) FILTER (WHERE kind = 'OPENED') AS opened,
               max(occurred_at) FILTER (WHERE kind = 'CLICKED') AS clicked,
               max(occurred_at) FILTER (WHERE kind = 'SENT') AS sent,
               max(occurred_at) FILTER (WHERE kind = 'BOUNCED_HARD') AS hard,
               max(occurred_at) FILTER (WHERE kind = 'BOUNCED_SOFT') AS soft_at,
               count(*) FILTER (WHERE kind = 'SENT'
                 AND (engaged IS NULL OR occurred_at > engaged)) AS sends,
               count(*) FILTER (WHERE kind = 'BOUNCED_SOFT'
                 AND (engaged IS NULL OR occurred_at > engaged)) AS softs
             FROM (SELECT contact_id, kind, occurred_at,
                     max(occurred_at) FILTER (WHERE kind IN ('OPENED', 'CLICKED'))
                       OVER (PARTITION BY contact_id) AS engaged
                   FROM email_events WHERE account_id = $1) e
             GROUP BY contact_id) a
           WHERE c.account_id = $1 AND c.id = a.contact_id""",
    ),
    # The summary UPDATE rewrote every contact, in the order of its join: rewrite the table
    # compact and in id order, as rows inserted over time lie (recompute_flags works by id
    # ranges; on a table in random order each batch reads ~a quarter of its pages).
    ("cluster contacts on id", "CLUSTER contacts USING contacts_pkey"),
    ("vacuum analyze", "VACUUM ANALYZE"),
]

PROFILE_TABLE = (
    "CREATE TEMP TABLE bench_profile (id bigint PRIMARY KEY, dormant boolean, events int, "
    "span interval)"
)

RESET = (
    "UPDATE contacts SET is_inactive = false, is_excluded = false, is_hard_bounced = false, "
    "flags_computed_at = NULL WHERE account_id = $1"
)
FLIP = "UPDATE contacts SET is_inactive = NOT is_inactive WHERE account_id = $1 AND random() < 0.01"
FLAGS = (
    "SELECT count(*) AS contacts, "
    "count(*) FILTER (WHERE subscription_status = 'SUBSCRIBED') AS subscribed, "
    "count(*) FILTER (WHERE is_inactive) AS inactive, "
    "count(*) FILTER (WHERE is_excluded) AS excluded, "
    "count(*) FILTER (WHERE is_hard_bounced) AS hard_bounced, "
    "count(*) FILTER (WHERE email_risk = 'HIGH_RISK') AS high_risk_address "
    "FROM contacts WHERE account_id = $1"
)
DISAGREEMENTS = (
    "SELECT count(*) FROM contacts c JOIN bench_expected x ON x.id = c.id "
    "WHERE c.account_id = $1 AND (c.is_inactive <> x.is_inactive "
    "OR c.is_excluded <> x.is_excluded OR c.is_hard_bounced <> x.is_hard_bounced "
    "OR c.flags_computed_at IS DISTINCT FROM $2)"
)

# The whole nightly run, once, in a fresh interpreter: its peak RSS is the child's.
CHILD = """
import asyncio, sys
from datetime import datetime
from app.boot import configure
from app.db import database
from app.enums import RunTrigger
from app.services import maintenance
from app.settings import Settings

async def main():
    settings = Settings(database_url=sys.argv[1])
    configure(settings)
    async with database(settings):
        now = datetime.fromisoformat(sys.argv[3])
        record = await maintenance.run(int(sys.argv[2]), RunTrigger.COMMAND, now=now)
    print(record.flags_changed, record.counts_refreshed)

asyncio.run(main())
"""


def hand_written(rules: Rules) -> dict[str, Sql]:
    """One UPDATE of every contact of the account from the rules, in three forms."""
    account, now, window = rules.account_id, rules.now, rules.window_start
    since = (
        "COALESCE(CASE WHEN c.last_engaged_at IS NULL THEN c.subscribed_at "
        "WHEN c.subscribed_at IS NULL OR c.last_engaged_at > c.subscribed_at "
        "THEN c.last_engaged_at ELSE c.subscribed_at END, c.created_at)"
    )
    inactive = f"(c.subscription_status = 'SUBSCRIBED' AND {since} < ?)"
    soft = (
        "(SELECT contact_id, count(*) AS n FROM email_events WHERE account_id = ? "
        "AND kind = 'BOUNCED_SOFT' AND occurred_at >= ? AND occurred_at <= ? "
        "GROUP BY contact_id) sb ON sb.contact_id = c.id"
    )
    risky = "(c.email_risk = 'HIGH_RISK' OR c.sends_since_engagement >= ? OR sb.n >= ?)"
    after = (
        "c.hard_bounced_at IS NOT NULL "
        "AND (c.last_engaged_at IS NULL OR c.last_engaged_at < c.hard_bounced_at)"
    )
    update = (
        "UPDATE contacts AS c SET is_inactive = f.inactive, "
        "is_excluded = f.inactive AND f.risky, is_hard_bounced = f.bounced, "
        "flags_computed_at = ? FROM ("
    )
    thresholds = (rules.unengaged_send_threshold, rules.soft_bounce_threshold)
    aggregates = sql(
        update + f"SELECT c.id, {inactive} AS inactive, COALESCE({risky}, false) AS risky, "
        f"({after} AND (d.last IS NULL OR d.last <= c.hard_bounced_at)) AS bounced "
        f"FROM contacts c LEFT JOIN {soft} "
        "LEFT JOIN (SELECT contact_id, max(occurred_at) AS last FROM email_events "
        "WHERE account_id = ? AND kind = 'DELIVERED' GROUP BY contact_id) d "
        "ON d.contact_id = c.id WHERE c.account_id = ?) f WHERE c.id = f.id",
        now,
        window,
        *thresholds,
        account,
        window,
        now,
        account,
        account,
    )
    exists = sql(
        update + f"SELECT c.id, {inactive} AS inactive, COALESCE({risky}, false) AS risky, "
        f"({after} AND NOT EXISTS (SELECT 1 FROM email_events d WHERE d.account_id = ? "
        "AND d.contact_id = c.id AND d.kind = 'DELIVERED' "
        "AND d.occurred_at > c.hard_bounced_at)) AS bounced "
        f"FROM contacts c LEFT JOIN {soft} WHERE c.account_id = ?) f WHERE c.id = f.id",
        now,
        window,
        *thresholds,
        account,
        account,
        window,
        now,
        account,
    )
    # The rules' own correlated subqueries, as one statement over every contact.
    correlated = _set_flags(rules, Sql("TRUE"), changed_only=False)
    return {
        "UPDATE FROM 2 aggregates": aggregates,
        "UPDATE FROM agg + NOT EXISTS": exists,
        "UPDATE, correlated subqueries": correlated,
    }


async def generate(url: str, contacts: int) -> int:
    settings = Settings(database_url=url)
    await apply_migrations(settings)
    async with database(settings):
        account_id = (await create_account("Bench nightly")).account.id
    conn = await asyncpg.connect(url)
    try:
        now = await conn.fetchval("SELECT created_at FROM accounts WHERE id = $1", account_id)
        await conn.execute(PROFILE_TABLE)
        await conn.execute("SET work_mem = '256MB'")
        total = time.perf_counter()
        for label, statement in GENERATE:
            started = time.perf_counter()
            used = max((n for n in (1, 2, 3) if f"${n}" in statement), default=0)
            await conn.execute(statement, *[account_id, now, contacts][:used])
            print(f"  {time.perf_counter() - started:6.1f}s  {label}", flush=True)
        print(f"  {time.perf_counter() - total:6.1f}s  in all", flush=True)
    finally:
        await conn.close()
    return int(account_id)


async def layout(conn: asyncpg.Connection) -> str:
    """The contacts table's size, and how closely its physical order follows the ids (as of
    its last ANALYZE)."""
    row = await conn.fetchrow(
        "SELECT pg_size_pretty(pg_table_size('contacts')) AS size, (SELECT correlation "
        "FROM pg_stats WHERE tablename = 'contacts' AND attname = 'id') AS correlation"
    )
    return f"{row['size']}, id correlation {row['correlation'] or 0:.2f}"


async def settle(conn: asyncpg.Connection) -> None:
    """Before a timed run: no dead rows left by the previous one, no checkpoint pending."""
    await conn.execute("VACUUM (ANALYZE) contacts")
    await conn.execute("CHECKPOINT")


Step = Callable[[], Awaitable[int]]


async def timed(
    conn: asyncpg.Connection, prepare: Step | None, action: Step, runs: int
) -> tuple[float, list[int]]:
    """From the contacts table clustered on id, one warm-up, then `runs` timed runs of
    `action`, each after `prepare` and a settle (not timed). The median seconds and what each
    timed run changed."""
    # Every scenario starts from the same layout: compact, in id order (full-table writes,
    # here and in a previous run with --keep, leave it bloated and shuffled).
    await conn.execute("CLUSTER contacts USING contacts_pkey")
    seconds, changed = [], []
    for run in range(runs + 1):
        if prepare is not None:
            await prepare()
        await settle(conn)
        started = time.perf_counter()
        count = await action()
        if run:
            seconds.append(time.perf_counter() - started)
            changed.append(count)
    return statistics.median(seconds), changed


def save_plan(path: str, name: str, text: str, lines: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"== {name}\n{text}\n" + "\n".join(lines) + "\n\n")


async def plan(conn: asyncpg.Connection, statement: Sql) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of an UPDATE, rolled back."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        rows = await conn.fetch(
            "EXPLAIN (ANALYZE, BUFFERS) " + render(statement, "postgres"), *statement.params
        )
    finally:
        await transaction.rollback()
    return [r[0] for r in rows]


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    return "'" + str(value).replace("'", "''") + "'"


async def generic_plan(conn: asyncpg.Connection, statement: Sql) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the statement's generic plan (rolled back): the plan
    PostgreSQL switches a prepared statement to after five custom ones when it looks no
    costlier, as asyncpg's statement cache lets it do for the nightly batches."""
    await conn.execute("PREPARE bench_batch AS " + render(statement, "postgres"))
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    arguments = ", ".join(literal(value) for value in statement.params)
    transaction = conn.transaction()
    await transaction.start()
    try:
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_batch({arguments})")
    finally:
        await transaction.rollback()
        await conn.execute("RESET plan_cache_mode")
        await conn.execute("DEALLOCATE bench_batch")
    return [r[0] for r in rows]


def child_peak(url: str, account_id: int, now: datetime) -> tuple[float, float, str]:
    """The whole nightly run in a child process: its seconds, peak RSS (MB), output."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(account_id), now.isoformat()],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak_kb / 1024, done.stdout.strip()


async def measure(url: str, account_id: int, runs: int, plans: str | None) -> None:
    conn = await asyncpg.connect(url)
    await conn.execute("SET work_mem = '64MB'")  # for the untimed checks only
    settings = Settings(database_url=url)
    try:
        now: datetime = await conn.fetchval(
            "SELECT created_at FROM accounts WHERE id = $1", account_id
        )
        async with database(settings):
            account = await Account.get(id=account_id)
            rules = Rules.for_account(account, now, "postgres")
            results: dict[str, tuple[float, list[int]]] = {}

            async def reset() -> int:
                await conn.execute(RESET, account_id)
                return 0

            async def recompute() -> int:
                return await recompute_flags(account, now)

            # The flags recompute_flags gives: what every hand-written form must give too.
            await reset()
            await recompute()
            await conn.execute("DROP TABLE IF EXISTS bench_expected")
            await conn.execute(
                "CREATE TEMP TABLE bench_expected AS SELECT id, is_inactive, is_excluded, "
                f"is_hard_bounced FROM contacts WHERE account_id = {account_id}"
            )
            stats = await conn.fetchrow(FLAGS, account_id)
            print(
                "\nflags at now = {}: {contacts:,} contacts, {subscribed:,} subscribed, "
                "{inactive:,} inactive ({share:.0%} of the subscribed), {excluded:,} excluded, "
                "{hard_bounced:,} hard bounced, {high_risk_address:,} high-risk addresses".format(
                    now.isoformat(timespec="seconds"),
                    share=stats["inactive"] / max(stats["subscribed"], 1),
                    **dict(stats),
                ),
                flush=True,
            )
            forms = hand_written(rules)
            for name, statement in forms.items():
                await reset()
                started = time.perf_counter()
                await conn.execute(render(statement, "postgres"), *statement.params)
                wrong = await conn.fetchval(DISAGREEMENTS, account_id, now)
                print(
                    f"  {name}: {time.perf_counter() - started:.1f}s, {wrong} disagreements "
                    "with recompute_flags",
                    flush=True,
                )
                assert wrong == 0, f"{name} disagrees with recompute_flags on {wrong} contacts"

            print(
                "\ntiming (each scenario from the table clustered on id; warm-up + runs; vacuum, "
                "analyze and checkpoint before each run; the table as of the last run):",
                flush=True,
            )
            results["first run (flags reset)"] = await timed(conn, reset, recompute, runs)
            print(f"  first run done ({await layout(conn)})", flush=True)
            results["night with no changes"] = await timed(conn, None, recompute, runs)
            assert results["night with no changes"][1] == [0] * runs, "a night changed flags"
            print(f"  no-change night done ({await layout(conn)})", flush=True)

            async def flip() -> int:
                await conn.execute(FLIP, account_id)
                return 0

            results["night with 1% changed"] = await timed(conn, flip, recompute, runs)
            print(f"  1% night done ({await layout(conn)})", flush=True)
            for name, statement in forms.items():
                text = render(statement, "postgres")

                async def update(
                    text: str = text, params: tuple[Any, ...] = statement.params
                ) -> int:
                    status = await conn.execute(text, *params)
                    return int(status.split()[-1])

                results[f"hand-written: {name}"] = await timed(conn, None, update, runs)
                print(f"  {name} done ({await layout(conn)})", flush=True)

            async def nightly() -> int:
                record = await maintenance.run(account_id, RunTrigger.COMMAND, now=now)
                assert record is not None, "the nightly run was skipped"
                return int(record.flags_changed or 0)

            results["whole nightly run (+6 counts)"] = await timed(conn, None, nightly, runs)
            print(f"  nightly run done ({await layout(conn)})", flush=True)

        size = await layout(conn)
        await settle(conn)
        child_seconds, peak_mb, output = child_peak(url, account_id, now)

        if plans:
            low = await conn.fetchval(
                "SELECT min(id) FROM contacts WHERE account_id = $1", account_id
            )
            scope = sql("c.id >= ? AND c.id < ?", low, low + RECOMPUTE_BATCH)
            batch = _set_flags(rules, scope, changed_only=True)
            text = render(batch, "postgres")
            save_plan(
                plans,
                f"recompute_flags, one batch of {RECOMPUTE_BATCH} ids, nothing to change "
                "(custom plan: the run's first 5 batches on a connection)",
                text,
                await plan(conn, batch),
            )
            save_plan(
                plans,
                f"recompute_flags, one batch of {RECOMPUTE_BATCH} ids, nothing to change "
                "(generic plan: what a connection's cached statement runs from its 6th batch)",
                text,
                await generic_plan(conn, batch),
            )
            # The reset committed first: reset in the explained transaction, every row would
            # look inserted by it and fire the foreign key's check.
            await conn.execute(RESET + " AND id >= $2 AND id < $3", account_id, *scope.params)
            save_plan(
                plans,
                f"recompute_flags, one batch of {RECOMPUTE_BATCH} ids, after the flags' reset "
                "(custom plan)",
                text,
                await plan(conn, batch),
            )
            await conn.execute(text, *batch.params)  # the flags back
    finally:
        await conn.close()

    best_name = min(
        (name for name in results if name.startswith("hand")), key=lambda n: results[n][0]
    )
    best = results[best_name][0]
    if plans:
        conn = await asyncpg.connect(url)
        try:
            await settle(conn)
            form = forms[best_name.removeprefix("hand-written: ")]
            lines = await plan(conn, form)
            save_plan(plans, f"baseline: {best_name}", render(form, "postgres"), lines)
        finally:
            await conn.close()

    print(f"\nbaseline: {best_name}; contacts table after the runs: {size}")
    labels = {name: name + (" (baseline)" if name == best_name else "") for name in results}
    width = max(len(label) for label in labels.values())
    print(f"\n| {'scenario':<{width}} | {'median s':>8} | {'ratio':>5} | {'changed':>9} |")
    print(f"| {'-' * width} | {'-' * 8} | {'-' * 5} | {'-' * 9} |")
    for name, (seconds, changed) in results.items():
        shown = f"{statistics.median(changed):,.0f}"
        row = f"{seconds:>8.2f} | {seconds / best:>5.2f} | {shown:>9}"
        print(f"| {labels[name]:<{width}} | {row} |")
    print("\nchanged per timed run:")
    for name, (_, changed) in results.items():
        print(f"  {name}: {', '.join(f'{n:,}' for n in changed)}")
    print(
        f"\nwhole nightly run in a child process: {child_seconds:.1f}s wall (with start-up), "
        f"peak RSS {peak_mb:.0f} MB (flags changed, counts refreshed: {output})"
    )
    first, quiet = results["first run (flags reset)"][0], results["night with no changes"][0]
    checks = [
        ("no-change night <= 0.3x baseline", quiet <= 0.3 * best, f"{quiet / best:.2f}x"),
        ("first run <= 1.5x baseline", first <= 1.5 * best, f"{first / best:.2f}x"),
        ("both under 60 s", max(first, quiet) < 60, f"{max(first, quiet):.1f}s"),
        ("peak memory under 300 MB", peak_mb < 300, f"{peak_mb:.0f} MB"),
    ]
    print("\ntargets:")
    for label, ok, value in checks:
        print(f"  {'met' if ok else 'MISSED':<6} {label}: {value}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", help="reuse (or keep) this database URL instead of a scratch one")
    parser.add_argument("--plans", help="append EXPLAIN ANALYZE output to this file")
    args = parser.parse_args()
    async with bench_database(args.keep) as url:
        conn = await asyncpg.connect(url)
        existing = await conn.fetchval("SELECT to_regclass('accounts') IS NOT NULL")
        account = (
            await conn.fetchrow("SELECT id FROM accounts ORDER BY id LIMIT 1") if existing else None
        )
        await conn.close()
        if account is None:
            print(f"generating {args.contacts:,} contacts in {url}", flush=True)
            account_id = await generate(url, args.contacts)
        else:
            account_id = int(account["id"])
            print(f"reusing account {account_id} in {url}", flush=True)
        await measure(url, account_id, args.runs, args.plans)


if __name__ == "__main__":
    asyncio.run(main())
