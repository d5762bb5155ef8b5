"""Time `seed_demo` on PostgreSQL: each run gets a scratch database (created, migrated, dropped).

    python bench/seed_demo.py [--contacts 100000] [--runs 3] [--admin-url postgres://...]

Prints each run's seconds with the time spent per stage, then the median.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time

import asyncpg

from app.db import apply_migrations, database
from app.services.accounts import create_account
from app.services.demo import seed_demo
from app.settings import Settings

ADMIN_URL = os.environ.get(
    "SEGMENTS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


class StageClock:
    """A progress callback that records when each stage finished."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.last = self.started
        self.stages: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if done >= total and stage not in self.stages:
            now = time.perf_counter()
            self.stages[stage] = now - self.last
            self.last = now


async def one_run(admin_url: str, contacts: int) -> float:
    name = f"segments_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin_url.rpartition('/')[0]}/{name}"
    try:
        settings = Settings(database_url=url)
        await apply_migrations(settings)
        async with database(settings):
            account = (await create_account("Bench")).account
            clock = StageClock()
            started = time.perf_counter()
            summary = await seed_demo(account, contacts, progress=clock)
            seconds = time.perf_counter() - started
        stages = ", ".join(f"{stage} {spent:.1f}s" for stage, spent in clock.stages.items())
        print(f"{seconds:.1f} s for {summary}\n    {stages}", flush=True)
        return seconds
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    times = [await one_run(args.admin_url, args.contacts) for _ in range(args.runs)]
    print(f"median {statistics.median(times):.1f} s over {len(times)} runs of {args.contacts:,}")


if __name__ == "__main__":
    asyncio.run(main())
