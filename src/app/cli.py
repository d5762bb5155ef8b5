"""The `segments` command: serve, worker, beat, migrate, create-account, seed-demo, import-csv,
recompute, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.boot import configure
from app.db import apply_migrations, database, pending_migrations
from app.filters.ids import from_global_id
from app.main import migrate_hint
from app.models import Account
from app.progress import ProgressBar
from app.settings import Settings, SettingsError

DEMO_ACCOUNT_NAME = "Demo Academy"
SCHEMA_FILE = Path("schema.graphql")
EXIT_USAGE = 2


class CommandError(Exception):
    """A failure to report in one line, without a traceback."""


def _print(*lines: str) -> None:
    for line in lines:
        print(line, flush=True)


async def _migrate(settings: Settings) -> None:
    applied = await apply_migrations(settings)
    _print(f"Applied {', '.join(applied)}." if applied else "The database is up to date.")


async def _create_account(settings: Settings, name: str) -> None:
    from app.services.accounts import create_account
    from app.services.errors import DomainError

    async with database(settings):
        await _require_migrated(settings)
        try:
            created = await create_account(name)
        except DomainError as exc:
            raise CommandError(exc.message) from None
    _print(
        f"Created account {created.account.name!r} (id {created.account.id}).",
        "Its API token, shown this once (only a hash is stored):",
        "",
        f"    {created.token}",
    )


async def _seed_demo(settings: Settings, contacts: int, name: str, seed: int) -> None:
    from app.services.accounts import create_account
    from app.services.counts import refresh_all_counts
    from app.services.demo import seed_demo

    async with database(settings):
        await _require_migrated(settings)
        created = await create_account(name)
        bar = ProgressBar()
        summary = await seed_demo(created.account, contacts, seed=seed, progress=bar)
        bar.close()
        await refresh_all_counts(created.account.id)
    _print(
        f"Seeded account {name!r} (id {created.account.id}): {summary}.",
        f"API token (shown once): {created.token}",
    )


async def _import_csv(
    settings: Settings, path: Path, account_id: int, rejects: Path | None
) -> None:
    from app.services.csv_import import CsvFormatError, count_rows, import_csv

    async with database(settings):
        await _require_migrated(settings)
        account = await Account.get_or_none(id=account_id)
        if account is None:
            raise CommandError(f"No account with id {account_id}.")
        try:
            total = count_rows(path)
        except OSError as exc:  # there, but not readable (its permissions, say)
            raise CommandError(f"{path}: {exc.strerror or exc}") from None
        bar = ProgressBar()
        try:
            report = await import_csv(account, path, lambda done: bar("import", done, total))
        except CsvFormatError as exc:
            raise CommandError(f"{path}: {exc}") from None
        finally:
            bar.close()
    _print(f"{report.rows} rows read, {report.imported} imported, {len(report.rejected)} rejected.")
    for row in report.rejected[:20]:
        _print(f"  line {row.line}: {row.field or 'row'}: {row.message}")
    if len(report.rejected) > 20:
        _print(
            f"  … and {len(report.rejected) - 20} more" + ("" if rejects else " (see --rejects).")
        )
    if rejects is not None and report.rejected:
        with rejects.open("w", encoding="utf-8") as out:
            out.write("line,field,message\n")
            for row in report.rejected:
                message = row.message.replace('"', '""')
                out.write(f'{row.line},{row.field or ""},"{message}"\n')
        _print(f"Rejected rows written to {rejects}.")


async def _recompute(settings: Settings, account_id: int | None) -> None:
    """Run the nightly work now, here, for one account or all of them; a run of an account
    whose lock another run holds is skipped. Fails (exit 1) if any run failed."""
    from app.enums import RunTrigger
    from app.services.maintenance import run

    async with database(settings):
        await _require_migrated(settings)
        if account_id is not None:
            if not await Account.exists(id=account_id):
                raise CommandError(f"No account with id {account_id}.")
            ids = [account_id]
        else:
            ids = [
                int(str(i)) for i in await Account.all().order_by("id").values_list("id", flat=True)
            ]
        failed = 0
        for current in ids:
            try:
                record = await run(current, RunTrigger.COMMAND)
            except Exception as exc:
                logging.getLogger(__name__).exception("account %s: the run failed", current)
                _print(f"account {current}: failed ({type(exc).__name__}); see the log")
                failed += 1
                continue
            if record is None:
                _print(f"account {current}: skipped, another run holds its lock")
            else:
                _print(
                    f"account {current}: {record.flags_changed} flags changed, "
                    f"{record.counts_refreshed} counts refreshed"
                )
    if failed:
        raise CommandError(f"{failed} of {len(ids)} runs failed.")


def account_ref(value: str) -> int:
    """An account as the CLI takes it: its number, or its ID as the API shows it."""
    if value.isascii() and value.isdigit():
        return int(value)
    pk = from_global_id(value, "Account")
    if pk is None:
        raise argparse.ArgumentTypeError(f"{value!r} is neither an account number nor its ID")
    return pk


async def _require_migrated(settings: Settings) -> None:
    pending = await pending_migrations()
    if pending:
        raise CommandError(migrate_hint(pending))


async def _prepare_serve(settings: Settings, demo: bool, demo_contacts: int) -> str | None:
    """Migrate the embedded database (PostgreSQL is migrated explicitly, by `segments migrate`),
    and with --demo make sure the demo account exists; returns a fresh demo token."""
    if not settings.is_postgres:
        await apply_migrations(settings)
    async with database(settings):
        await _require_migrated(settings)
        if not demo:
            return None
        from app.services.accounts import create_account, issue_token
        from app.services.counts import refresh_all_counts
        from app.services.demo import seed_demo

        account = await Account.filter(name=DEMO_ACCOUNT_NAME).order_by("id").first()
        if account is None:
            created = await create_account(DEMO_ACCOUNT_NAME)
            bar = ProgressBar()
            await seed_demo(created.account, demo_contacts, progress=bar)
            bar.close()
            await refresh_all_counts(created.account.id)
            return created.token
        return await issue_token(account, "demo")


def _serve(settings: Settings, demo: bool, demo_contacts: int, workers: int) -> None:
    import uvicorn

    from app.main import create_app

    token = asyncio.run(_prepare_serve(settings, demo, demo_contacts))
    url = f"http://{settings.host}:{settings.port}/graphql"
    if token:
        _print(
            "",
            f"Demo account {DEMO_ACCOUNT_NAME!r} is ready. Its API token (new for this run):",
            f"    {token}",
            "",
            f'GraphiQL: open {url} and add the header {{"Authorization": "Bearer {token}"}}',
            "Or from a shell:",
            f"    curl -s {url} -H 'Authorization: Bearer {token}' \\",
            "         -H 'Content-Type: application/json' \\",
            '         -d \'{"query": "{ viewer { name } }"}\'',
            "",
        )
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        "lifespan": "on",
    }
    if workers > 1:
        # Each process builds its own app (and database pool) from the same environment.
        uvicorn.run("app.main:create_app", factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)


def _worker(settings: Settings, concurrency: int, queues: str) -> None:
    if not settings.redis_url:
        raise CommandError("The worker takes its tasks from Redis: set REDIS_URL.")
    from app.services.tasks import QUEUES
    from worker.celery_app import app

    unknown = set(queues.split(",")) - set(QUEUES)
    if unknown:
        raise CommandError(
            f"Unknown queue(s) {', '.join(sorted(unknown))}; known: {', '.join(QUEUES)}."
        )
    app.worker_main(
        [
            "worker",
            "--loglevel",
            settings.log_level,
            "--concurrency",
            str(concurrency),
            "--queues",
            queues,
        ]
    )


def _beat(settings: Settings, schedule_file: Path) -> None:
    if not settings.redis_url:
        raise CommandError(
            "Beat sends the schedule's tasks through Redis: set REDIS_URL. Without Redis, "
            "`segments serve` runs the schedule itself."
        )
    from worker.celery_app import app

    app.start(["beat", "--loglevel", settings.log_level, "--schedule", str(schedule_file)])


def _export_schema(path: Path) -> None:
    from app.graphql.schema import sdl

    path.write_text(sdl(), encoding="utf-8")
    _print(f"Wrote the GraphQL schema to {path}.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segments", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API (uvicorn)")
    serve.add_argument("--host", help="interface to listen on (SEGMENTS_HOST)")
    serve.add_argument("--port", type=int, help="port (SEGMENTS_PORT)")
    serve.add_argument("--demo", action="store_true", help="create and seed a demo account first")
    serve.add_argument("--demo-contacts", type=int, default=5000, metavar="N")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="API processes, each with its own database pool of SEGMENTS_DB_POOL_SIZE "
        "(default: %(default)s; one per core is a good start)",
    )

    commands.add_parser("migrate", help="apply the pending database migrations")

    create = commands.add_parser("create-account", help="create an account; prints its token")
    create.add_argument("name")

    seed = commands.add_parser("seed-demo", help="create a demo account filled with data")
    seed.add_argument("--contacts", type=int, default=5000, metavar="N")
    seed.add_argument("--name", default=DEMO_ACCOUNT_NAME)
    seed.add_argument("--seed", type=int, default=0, help="random seed (same seed, same data)")

    worker = commands.add_parser("worker", help="run a Celery worker (needs REDIS_URL)")
    worker.add_argument(
        "--concurrency", type=int, default=2, help="worker processes (default: %(default)s)"
    )
    worker.add_argument(
        "--queues",
        default="nightly,counts,bulk",
        help="comma-separated queues to take tasks from (default: %(default)s)",
    )

    beat = commands.add_parser(
        "beat", help="run Celery beat, which sends the nightly work and the sweep (one only)"
    )
    beat.add_argument(
        "--schedule-file",
        type=Path,
        default=Path("celerybeat-schedule"),
        help="where beat keeps the time of each task's last firing (default: %(default)s)",
    )

    recompute = commands.add_parser(
        "recompute", help="run the nightly work now, in this process (cron-friendly)"
    )
    recompute.add_argument(
        "--account", type=account_ref, metavar="ID", help="only this account (default: all)"
    )

    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("path", type=Path, nargs="?", default=SCHEMA_FILE)

    imp = commands.add_parser("import-csv", help="import contacts from a CSV file")
    imp.add_argument("path", type=Path)
    imp.add_argument("--account", type=account_ref, required=True, metavar="ID")
    imp.add_argument("--rejects", type=Path, help="write the rejected rows' errors to this CSV")
    return parser


def _command(args: argparse.Namespace, settings: Settings) -> Coroutine[Any, Any, None]:
    match args.command:
        case "migrate":
            return _migrate(settings)
        case "create-account":
            return _create_account(settings, args.name)
        case "seed-demo":
            if args.contacts < 1:
                raise CommandError("--contacts must be at least 1.")
            return _seed_demo(settings, args.contacts, args.name, args.seed)
        case "recompute":
            return _recompute(settings, args.account)
        case "import-csv":
            if not args.path.is_file():
                raise CommandError(f"No such file: {args.path}")
            return _import_csv(settings, args.path, args.account, args.rejects)
    raise CommandError(f"Unknown command {args.command!r}.")


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"segments: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    if args.command == "serve":
        settings = replace(
            settings, host=args.host or settings.host, port=args.port or settings.port
        )
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("tortoise").setLevel(max(logging.WARNING, logging.getLogger().level))
    configure(settings)
    try:
        if args.command == "serve":
            if args.workers < 1:
                raise CommandError("--workers must be at least 1.")
            _serve(settings, args.demo, args.demo_contacts, args.workers)
        elif args.command == "worker":
            _worker(settings, args.concurrency, args.queues)
        elif args.command == "beat":
            _beat(settings, args.schedule_file)
        elif args.command == "export-schema":
            _export_schema(args.path)
        else:
            asyncio.run(_command(args, settings))
    except CommandError as exc:
        print(f"segments: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
