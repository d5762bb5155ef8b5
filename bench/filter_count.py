"""Count a four-condition segment on a generated account of N contacts (PostgreSQL), compiled
versus the best hand-written SQL for it, in the same run.

    python bench/filter_count.py [--contacts 1000000] [--runs 7] [--keep URL] [--plans FILE]

The filter: tags has any of two tags, owns a product, opened at least once in the last 30 days,
subscribed. The data is generated inside PostgreSQL (generate_series), so a million contacts
with ~10 events each take a minute or two. Prints the median of each query and its ratio to the
fastest hand-written one; EXPLAIN ANALYZE plans go to --plans.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from common import bench_database

from app.db import apply_migrations, database
from app.filters import codec
from app.filters.compile import Compiler
from app.filters.ids import to_global_id
from app.filters.sql import Sql, render
from app.services.accounts import create_account
from app.settings import Settings

NOW = datetime.now(UTC)

GENERATE = [
    # Contacts: 75% subscribed, created over two years.
    """INSERT INTO contacts (account_id, email, email_lower, created_at, updated_at,
         subscription_status, subscribed_at, email_risk, is_customer, is_inactive,
         is_hard_bounced, is_excluded, sends_since_engagement, soft_bounces, total_spent_cents,
         custom_fields)
       SELECT $1, 'user' || g || '@example.com', 'user' || g || '@example.com',
         $2::timestamptz - random() * interval '730 days', $2::timestamptz,
         CASE WHEN random() < 0.75 THEN 'SUBSCRIBED' ELSE 'UNSUBSCRIBED' END,
         $2::timestamptz - random() * interval '730 days', 'VALID',
         false, false, false, false, 0, 0, 0, '{}'
       FROM generate_series(1, $3) g""",
    """INSERT INTO tags (account_id, name, name_lower, created_at)
       SELECT $1, 'tag-' || g, 'tag-' || g, $2::timestamptz FROM generate_series(1, 20) g""",
    # About two tags per contact.
    """INSERT INTO contact_tags (account_id, contact_id, tag_id, created_at)
       SELECT $1, c.id, t.id, $2::timestamptz FROM contacts c JOIN tags t ON t.account_id = $1
       WHERE c.account_id = $1 AND random() < 0.1""",
    """INSERT INTO products (account_id, external_id, title, kind, created_at, updated_at)
       SELECT $1, 'product-' || g, 'Product ' || g, 'OFFER', $2::timestamptz, $2::timestamptz
       FROM generate_series(1, 10) g""",
    # A quarter of the contacts own one product.
    """INSERT INTO owned_products (account_id, contact_id, product_id, source, granted_at, progress)
       SELECT $1, c.id, p.id, 'PURCHASE', $2::timestamptz - random() * interval '365 days', 0
       FROM contacts c JOIN products p ON p.account_id = $1
         AND p.external_id = 'product-' || (1 + c.id % 10)
       WHERE c.account_id = $1 AND random() < 0.25""",
    # Ten events per contact over a year: mostly sends, a fifth opens.
    """INSERT INTO email_events (account_id, contact_id, kind, campaign, occurred_at)
       SELECT $1, c.id,
         CASE WHEN r < 0.70 THEN 'SENT' WHEN r < 0.90 THEN 'OPENED' WHEN r < 0.95 THEN 'CLICKED'
              ELSE 'DELIVERED' END,
         'campaign-' || (g % 26), $2::timestamptz - random() * interval '365 days'
       FROM contacts c CROSS JOIN generate_series(1, 10) g
         CROSS JOIN LATERAL (SELECT random() + 0 * g AS r) x
       WHERE c.account_id = $1""",
]


def hand_written(account_id: int, tag_ids: list[int], product_id: int) -> dict[str, Sql]:
    since = NOW - timedelta(days=30)
    tags = ", ".join("?" for _ in tag_ids)
    exists = Sql(
        "SELECT COUNT(*) FROM contacts c WHERE c.account_id = ? AND c.subscription_status = ? "
        "AND EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.account_id = ? "
        f"AND ct.contact_id = c.id AND ct.tag_id IN ({tags})) "
        "AND EXISTS (SELECT 1 FROM owned_products o WHERE o.account_id = ? "
        "AND o.contact_id = c.id AND o.product_id = ?) "
        "AND EXISTS (SELECT 1 FROM email_events e WHERE e.account_id = ? AND e.contact_id = c.id "
        "AND e.kind = ? AND e.occurred_at >= ? AND e.occurred_at <= ?)",
        (
            account_id,
            "SUBSCRIBED",
            account_id,
            *tag_ids,
            account_id,
            product_id,
            account_id,
            "OPENED",
            since,
            NOW,
        ),
    )
    intersect = Sql(
        "SELECT COUNT(*) FROM ("
        f"SELECT contact_id FROM contact_tags WHERE account_id = ? AND tag_id IN ({tags}) "
        "INTERSECT SELECT contact_id FROM owned_products WHERE account_id = ? AND product_id = ? "
        "INTERSECT SELECT contact_id FROM email_events WHERE account_id = ? AND kind = ? "
        "AND occurred_at >= ? AND occurred_at <= ? "
        "INTERSECT SELECT id FROM contacts WHERE account_id = ? AND subscription_status = ?) x",
        (
            account_id,
            *tag_ids,
            account_id,
            product_id,
            account_id,
            "OPENED",
            since,
            NOW,
            account_id,
            "SUBSCRIBED",
        ),
    )
    return {"hand-written EXISTS": exists, "hand-written INTERSECT": intersect}


TAG_IDS = "SELECT id FROM tags WHERE account_id = $1 AND name IN ('tag-1', 'tag-2') ORDER BY id"
PRODUCT_ID = "SELECT id FROM products WHERE account_id = $1 AND external_id = 'product-1'"


async def fixture_ids(conn: asyncpg.Connection, account_id: int) -> tuple[list[int], int]:
    """The two tags and the product the benchmark's filter names."""
    tag_ids = [int(r["id"]) for r in await conn.fetch(TAG_IDS, account_id)]
    return tag_ids, int(await conn.fetchval(PRODUCT_ID, account_id))


async def generate(url: str, contacts: int) -> tuple[int, list[int], int]:
    settings = Settings(database_url=url)
    await apply_migrations(settings)
    async with database(settings):
        account_id = (await create_account("Bench")).account.id
    conn = await asyncpg.connect(url)
    try:
        for statement in GENERATE:
            started = time.perf_counter()
            args: list[Any] = [account_id, NOW] + ([contacts] if "$3" in statement else [])
            await conn.execute(statement, *args)
            print(f"  {time.perf_counter() - started:6.1f}s  {statement.split()[2]}", flush=True)
        await conn.execute("ANALYZE")
        tag_ids, product_id = await fixture_ids(conn, account_id)
    finally:
        await conn.close()
    return account_id, tag_ids, int(product_id)


def compiled(account_id: int, product_id: int) -> Sql:
    tree = codec.parse(
        {
            "and": [
                {"tags": {"hasAny": ["tag-1", "TAG-2"]}},
                {"products": {"ownsAny": [to_global_id("Product", product_id)]}},
                {"emailActivity": {"event": "OPENED", "window": {"withinLastDays": 30}}},
                {"subscriptionStatus": {"in": ["SUBSCRIBED"]}},
            ]
        }
    )
    predicate = Compiler(account_id, NOW, "postgres").predicate(tree)
    return sql_count(account_id) + predicate


def sql_count(account_id: int) -> Sql:
    return Sql("SELECT COUNT(*) FROM contacts c WHERE c.account_id = ? AND ", (account_id,))


def save_plan(path: str, name: str, text: str, lines: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"== {name}\n{text}\n" + "\n".join(lines) + "\n\n")


async def measure(url: str, queries: dict[str, Sql], runs: int, plans: str | None) -> None:
    conn = await asyncpg.connect(url)
    try:
        results: dict[str, tuple[float, int]] = {}
        for name, query in queries.items():
            text = render(query, "postgres")
            count = await conn.fetchval(text, *query.params)  # warm the cache
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                await conn.fetchval(text, *query.params)
                times.append(time.perf_counter() - started)
            results[name] = (statistics.median(times), int(count))
            if plans:
                plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + text, *query.params)
                save_plan(plans, name, text, [r[0] for r in plan])
    finally:
        await conn.close()
    best = min(seconds for name, (seconds, _) in results.items() if name.startswith("hand"))
    print(f"\n{'query':<24} {'median ms':>10} {'ratio':>7} {'count':>9}")
    for name, (seconds, count) in results.items():
        print(f"{name:<24} {seconds * 1000:>10.1f} {seconds / best:>7.2f} {count:>9}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
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
            account_id, tag_ids, product_id = await generate(url, args.contacts)
        else:
            account_id = int(account["id"])
            conn = await asyncpg.connect(url)
            tag_ids, product_id = await fixture_ids(conn, account_id)
            await conn.close()
        queries = {
            **hand_written(account_id, tag_ids, product_id),
            "compiled filter": compiled(account_id, product_id),
        }
        await measure(url, queries, args.runs, args.plans)


if __name__ == "__main__":
    asyncio.run(main())
