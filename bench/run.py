"""The benchmark of the performance issue: a realistic account of N contacts, every scenario
after a warm-up, medians and ratios against baselines measured in the same run, written as
Markdown to bench/RESULTS.md with the EXPLAIN plans beside it (bench/plans/).

    python bench/run.py [--contacts 100000] [--keep URL] [--runs 7] [--quick]
    python bench/run.py --contacts 1000000            # the reference run
    python bench/run.py --contacts 10000 --quick      # CI (.ci/run): under two minutes

Scenarios (PostgreSQL unless said otherwise):
1. counts of twelve filter shapes (bench/shapes.py), each compiled by the project's own code
   (`codec.parse`, `validate`, `query.count_matching`) against the best hand-written SQL found
   for it (every form checked to give the same count; the run fails if one does not);
2. a page of 50 members, first and near the end of a large segment, through the query layer
   and through GraphQL;
3. GraphQL over HTTP (`segments serve`) against a bare Starlette endpoint running the same SQL
   (bench/bare_app.py): requests/s and p50 / p95, one process each, then `--workers 2`;
4. refreshing the counts of 20 saved segments against 20 plain COUNT statements;
5. ingestion: email events per second through `emailEventsRecord`, batches of 1 000;
6. the embedded default (SQLite, seeded by `seed_demo`, 100 000 contacts): scenarios 1 and 2.

The PostgreSQL data is generated inside the database (bench/dataset.py: ~20 email events per
contact, a long tail of tags, purchases, custom fields), then vacuumed and analyzed; a scratch
database is dropped afterwards. `--keep URL` generates into that database once (created if
missing) and reuses it on later runs, checking its marker says the same number of contacts.
`--quick` (10 000 contacts unless given, SQLite at 10 000, 3 rounds, 3 s loads) writes its
results to a temporary directory unless `--output` is given, so CI never rewrites the
reference results. Missed targets are reported, not failed: the exit status is non-zero only
when the harness itself fails (counts that disagree, a server that answers wrongly, a crash).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import load
from common import ADMIN_URL, HarnessError, Report, shown_sql
from dataset import Dataset, open_postgres, open_sqlite
from dbtools import Plans
from scenarios import counts, http, pages

from app.db import database
from app.models import Account, ApiToken
from app.services.accounts import issue_token
from app.settings import Settings

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SCENARIOS = {1, 2, 3, 4, 5, 6}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, help="contacts to generate (default 100 000)")
    parser.add_argument("--quick", action="store_true", help="the CI run: small and short")
    parser.add_argument("--keep", metavar="URL", help="generate into / reuse this database")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="creates the scratch database")
    parser.add_argument("--runs", type=int, help="timed rounds per query (default 7, quick 3)")
    parser.add_argument(
        "--sqlite-contacts", type=int, help="scenario 6's contacts (default 100 000; 0 skips)"
    )
    parser.add_argument("--sqlite-file", type=Path, help="generate into / reuse this file")
    parser.add_argument(
        "--load", choices=("auto", "wrk", "python"), default="auto",
        help="HTTP load generator (auto: wrk when installed)",
    )  # fmt: skip
    parser.add_argument("--seconds", type=float, help="each HTTP load (default 15, quick 3)")
    parser.add_argument("--connections", type=int, default=8, help="HTTP load connections")
    parser.add_argument(
        "--scenarios", default="1,2,3,4,5,6", help="comma-separated scenarios to run"
    )
    parser.add_argument("--output", type=Path, help="the Markdown results (plans go beside)")
    parser.add_argument("--note", default="", help="a note on the machine, for the results")
    args = parser.parse_args()
    args.contacts = args.contacts or (10_000 if args.quick else 100_000)
    args.runs = args.runs or (3 if args.quick else 7)
    if args.sqlite_contacts is None:
        args.sqlite_contacts = 10_000 if args.quick else 100_000
    args.seconds = args.seconds or (3.0 if args.quick else 15.0)
    args.only = {int(x) for x in args.scenarios.split(",") if x.strip()}
    if not args.only <= SCENARIOS:
        parser.error(f"--scenarios takes numbers among {sorted(SCENARIOS)}")
    if args.output is None:
        args.output = (
            Path(tempfile.gettempdir()) / "segments-bench-quick" / "RESULTS.md"
            if args.quick
            else BENCH / "RESULTS.md"
        )
    return args


async def postgres_url(args: argparse.Namespace) -> tuple[str, bool]:
    """The database to work in, and whether it is a scratch one (dropped at the end)."""
    admin = await asyncpg.connect(args.admin_url)
    try:
        if args.keep:
            name = args.keep.rpartition("/")[2].split("?")[0]
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await admin.execute(f'CREATE DATABASE "{name}"')
            return args.keep, False
        name = f"segments_bench_{secrets.token_hex(4)}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        return f"{args.admin_url.rpartition('/')[0]}/{name}", True
    finally:
        await admin.close()


async def drop(admin_url: str, url: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')
    finally:
        await admin.close()


async def bench_token(account_id: int) -> str:
    await ApiToken.filter(account_id=account_id, name="bench").delete()
    return await issue_token(await Account.get(id=account_id), "bench")


def http_settings(args: argparse.Namespace) -> http.HttpSettings:
    return http.HttpSettings(
        generator=load.generator_name(args.load),
        connections=args.connections,
        seconds=args.seconds,
        warmup=1.0 if args.quick else 3.0,
        page_requests=5 if args.quick else 20,
        batches=4 if args.quick else 20,
        clients=2 if args.quick else 4,
    )


async def postgres_scenarios(
    args: argparse.Namespace, dataset: Dataset, report: Report, plans: Plans, scratch: Path
) -> None:
    settings = http_settings(args) if args.only & {2, 3, 5} else None
    async with database(Settings(database_url=dataset.url)):
        print("saving the benchmark's segments", flush=True)
        ctx = await counts.save_segments(dataset.account_id, dataset.now)
        best: dict[str, str] = {}
        if 1 in args.only:
            print("1. counts", flush=True)
            best = await counts.shape_counts(ctx, report, plans, args.runs, "PostgreSQL")
        if 2 in args.only:
            print("2. pages", flush=True)
            await pages.pages(ctx, report, plans, args.runs, "PostgreSQL")
        if 4 in args.only:
            print("4. refreshing 20 counts", flush=True)
            await counts.refresh_counts(ctx, report, args.runs, best, "PostgreSQL")
        if settings is None:
            return
        token = await bench_token(dataset.account_id)
        if 3 in args.only:
            print(f"3. GraphQL against the bare endpoint ({settings.generator})", flush=True)
            await http.graphql_vs_bare(dataset.url, token, scratch, settings, report)
        if args.only & {2, 5}:
            async with http.api_server(dataset.url, scratch) as api:
                if 2 in args.only:
                    print("2. pages through GraphQL", flush=True)
                    await http.graphql_pages(api, token, ctx, settings, report)
                if 5 in args.only:
                    print("5. ingestion", flush=True)
                    await http.ingestion(
                        dataset.url, api, token, ctx, dataset.contacts, settings, report
                    )


async def sqlite_scenarios(
    args: argparse.Namespace, report: Report, plans: Plans, scratch: Path
) -> Dataset:
    path = args.sqlite_file or scratch / "bench.sqlite3"
    dataset = await open_sqlite(path.resolve(), args.sqlite_contacts)
    async with database(Settings(database_url=dataset.url)):
        ctx = await counts.save_segments(dataset.account_id, dataset.now)
        print("6. SQLite: counts", flush=True)
        await counts.shape_counts(ctx, report, plans, args.runs, "SQLite")
        print("6. SQLite: pages", flush=True)
        await pages.pages(ctx, report, plans, args.runs, "SQLite")
    return dataset


def sh(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    except OSError:
        return ""
    return (done.stdout or done.stderr).strip()


def memory() -> str:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return ""
    first = meminfo.read_text().splitlines()[0].split()
    return f", {int(first[1]) / 1024 / 1024:.0f} GB RAM"


async def machine(url: str, generator: str | None) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        version = (await conn.fetchval("SHOW server_version")).split()[0]
        shown = []
        for name in ("jit", "work_mem", "shared_buffers", "max_parallel_workers_per_gather",
                     "autovacuum"):  # fmt: skip
            shown.append(f"{name} {await conn.fetchval(f'SHOW {name}')}")
    finally:
        await conn.close()
    commit = sh("git", "rev-parse", "--short", "HEAD")
    dirty = sh("git", "status", "--porcelain", "--", "src")
    lines = [
        f"{os.cpu_count()} cores{memory()}, {platform.system()} {platform.release()}; "
        f"PostgreSQL {version} ({', '.join(shown)}); SQLite {sqlite3.sqlite_version}; "
        f"Python {platform.python_version()}",
        f"code: commit {commit or '?'}"
        + (" with uncommitted changes in src/" if dirty else "")
        + (f"; HTTP load: {generator}" if generator else ""),
    ]
    if generator == "wrk":
        lines[-1] += f" ({sh('wrk', '-v').splitlines()[0] if sh('wrk', '-v') else 'wrk'})"
    return lines


def markdown(
    args: argparse.Namespace,
    report: Report,
    header: list[str],
    plan_files: list[Path],
    with_sql: bool,
) -> str:
    tables, targets = report.ordered()
    out = list(header)
    out += ["", "## Targets", ""] + [t.line() for t in targets]
    out += ["", "## Results", ""]
    for table in tables:
        out += [table.markdown(), ""]
    if plan_files:
        out += ["## Plans", ""]
        for path in plan_files:
            try:
                shown = path.relative_to(args.output.parent)
            except ValueError:
                shown = path
            out.append(f"- [{shown}]({shown})")
        out.append("")
    if with_sql and report.sql:
        out += [
            "## The hand-written SQL",
            "",
            "As run on PostgreSQL, with the parameters written in (they run bound, as the "
            "compiled queries do). The SQLite forms differ only in their JSON functions "
            "(`json_type`, `json_extract`) and `substr` for `right`.",
            "",
        ]
        for title, filter_json, forms in report.sql:
            out += [f"### {title}", "", f"Filter: `{filter_json}`", ""]
            for name, text in forms:
                out += [f"{name}:", "", "```sql", shown_sql(text), "```", ""]
    return "\n".join(out).rstrip() + "\n"


async def main() -> int:
    args = parse_args()
    # SIGTERM (a CI timeout) cancels the run like Ctrl-C: servers stopped, scratch dropped.
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="segments-bench-"))
    report = Report()
    plans = Plans(args.output.parent / "plans")
    url, scratch_db = await postgres_url(args)
    generator = load.generator_name(args.load) if args.only & {3} else None
    datasets: list[str] = []
    try:
        if args.only - {6}:
            dataset = await open_postgres(url, args.contacts)
            datasets.append(
                f"PostgreSQL: {dataset.summary}; "
                + (
                    f"generated in {dataset.seconds / 60:.1f} min"
                    if not dataset.reused
                    else f"reused (generated in {dataset.seconds / 60:.1f} min)"
                )
                + f'; the data\'s "now": {dataset.now:%Y-%m-%d %H:%M} UTC'
            )
            await postgres_scenarios(args, dataset, report, plans, scratch)
        machine_lines = await machine(url, generator)
        if 6 in args.only and args.sqlite_contacts:
            lite = await sqlite_scenarios(args, report, plans, scratch)
            datasets.append(
                f"SQLite (`seed_demo`): {lite.summary}; "
                + ("reused" if lite.reused else f"seeded in {lite.seconds:.0f} s")
            )
    except HarnessError as exc:
        print(f"\nHARNESS ERROR: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        if scratch_db:
            await drop(args.admin_url, url)
        shutil.rmtree(scratch, ignore_errors=True)
    minutes = (time.perf_counter() - started) / 60
    command = "python bench/run.py " + " ".join(sys.argv[1:])
    note = args.note or (
        "shared development machine (other work ran meanwhile): figures are medians"
    )
    header = [
        "# Benchmark results",
        "",
        f"`{command.strip()}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{minutes:.1f} minutes in all.",
        "",
        f"- machine: {machine_lines[0]}; {note}",
        f"- {machine_lines[1]}",
        *[f"- data: {line}" for line in datasets],
        "- the targets are reported, not enforced; see bench/run.py for how each figure is taken.",
    ]
    plan_files = plans.write()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(markdown(args, report, header, plan_files, True), encoding="utf-8")
    print("\n" + markdown(args, report, header, plan_files, False))
    print(f"written: {args.output} and {len(plan_files)} plan files in {plans.directory}")
    print(f"took {minutes:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
