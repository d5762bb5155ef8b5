"""The `segments` command: serve, worker, beat, migrate, create-account, seed-demo, import-csv,
recompute, export-schema, delete-contacts, export, accounts, tokens."""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from collections.abc import Coroutine, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from app import cli_accounts
from app.boot import configure
from app.cli_support import (
    ACCOUNT_HELP,
    CommandError,
    account_ref,
    find_account,
    require_migrated,
    say,
)
from app.db import apply_migrations, database
from app.filters.ids import from_global_id, parse_pk, to_global_id
from app.models import Account, Segment
from app.progress import ProgressBar
from app.services.tasks import QUEUES
from app.settings import Settings, SettingsError
from app.text import fold

DEMO_ACCOUNT_NAME = "Demo Academy"
DEMO_LABEL = "demo"
SCHEMA_FILE = Path("schema.graphql")
EXIT_USAGE = 2


_print = say


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
    settings: Settings, path: Path, account_id: int, rejects: Path | None, subscribed: bool
) -> None:
    from app.services.csv_import import CsvFormatError, count_rows, import_csv
    from app.services.csv_rejects import RejectsWriter

    async with database(settings):
        await _require_migrated(settings)
        account = await find_account(account_id)
        try:
            total = count_rows(path)
        except OSError as exc:  # there, but not readable (its permissions, say)
            raise CommandError(f"{path}: {exc.strerror or exc}") from None
        bar = ProgressBar()
        writer = RejectsWriter(rejects) if rejects is not None else None
        try:
            with writer or nullcontext():
                report = await import_csv(
                    account,
                    path,
                    lambda done: bar("import", done, total),
                    subscribed=subscribed,
                    rejects=writer,
                )
        except CsvFormatError as exc:
            raise CommandError(f"{path}: {exc}") from None
        except OSError as exc:  # the rejects file can't be written
            raise CommandError(f"{exc.filename}: {exc.strerror or exc}") from None
        finally:
            bar.close()
    _print(f"{report.rows} rows read, {report.imported} imported, {len(report.rejected)} rejected.")
    if report.kept_unsubscribed:
        _print(
            f"{report.kept_unsubscribed} of them unsubscribed here before: left unsubscribed"
            " (only a status column can subscribe them again)."
        )
    for row in report.rejected[:20]:
        _print(f"  line {row.line}: {row.field or 'row'}: {row.message}")
    if len(report.rejected) > 20:
        _print(
            f"  … and {len(report.rejected) - 20} more" + ("" if rejects else " (see --rejects).")
        )
    if writer is not None and writer.count:
        _print(
            f"Rejected rows written to {rejects}, whole, after their line, field and reason:"
            " fix them there and import that file again."
        )


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


async def _delete_contacts(settings: Settings, account_id: int, path: Path) -> None:
    """Erase the account's contacts with the emails of the file (one a line), in batches."""
    from app.limits import MAX_DELETE_IDS
    from app.services.erasure import contact_ids_by_email, delete_contacts

    async with database(settings):
        await _require_migrated(settings)
        account = await find_account(account_id)
        deleted, missing = 0, []
        try:
            with path.open(encoding="utf-8") as lines:
                distinct = _distinct_lines(lines)
                while emails := list(islice(distinct, MAX_DELETE_IDS)):
                    found = await contact_ids_by_email(account, emails)
                    result = await delete_contacts(account, list(found.values()), confirm=True)
                    gone = set(result.items)
                    deleted += len(gone)
                    missing += [email for email in emails if found.get(email) not in gone]
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not UTF-8 text.") from None
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}") from None
    _print(f"{deleted} deleted, {len(missing)} not found.")
    for email in missing:
        _print(f"  not found: {email}")


def _distinct_lines(lines: Iterable[str]) -> Iterator[str]:
    """The non-blank lines, stripped, each email once (in any case)."""
    seen: set[str] = set()
    for line in lines:
        email = line.strip()
        if email and fold(email) not in seen:
            seen.add(fold(email))
            yield email


async def _export(settings: Settings, segment_id: int, output: Path | None) -> None:
    """Write a segment's members as CSV to `output`, or to stdout, with a progress bar."""
    from app import clock
    from app.services.export import member_count, members_csv

    async with database(settings):
        await _require_migrated(settings)
        segment = await Segment.get_or_none(id=segment_id)
        if segment is None:
            raise CommandError(f"No segment with id {segment_id}.")
        account_id: int = segment.account_id  # type: ignore[attr-defined]
        now = clock.now()
        total = await member_count(account_id, segment, now)
        bar = ProgressBar()
        try:
            with _output(output) as out:
                chunks = members_csv(
                    account_id, segment, now=now, progress=lambda done: bar("export", done, total)
                )
                async for chunk in chunks:
                    out.write(chunk)
        except OSError as exc:
            raise CommandError(f"{output or 'stdout'}: {exc.strerror or exc}") from None
        finally:
            bar.close()
    if output is not None:
        _print(f"Exported the {total} members of {segment.name!r} to {output}.")


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with path.open("w", encoding="utf-8", newline="") as out:
        yield out


def segment_ref(value: str) -> int:
    """A segment as the CLI takes it, in one spelling: its number, or its ID as the API shows
    it."""
    pk = parse_pk(value) or from_global_id(value, "Segment")
    if pk is None:
        raise argparse.ArgumentTypeError(f"{value!r} is neither a segment number nor its ID")
    return pk


async def _require_migrated(settings: Settings) -> None:
    await require_migrated()


async def _prepare_serve(
    settings: Settings, demo: bool, demo_contacts: int
) -> tuple[Account, str] | None:
    """Migrate the embedded database (PostgreSQL is migrated explicitly, by `segments migrate`),
    and with --demo make sure the demo account exists; returns it with a fresh demo token, the
    previous one revoked (demo tokens don't pile up)."""
    if not settings.is_postgres:
        await apply_migrations(settings)
    async with database(settings):
        await _require_migrated(settings)
        if not demo:
            return None
        from app.services.accounts import create_account
        from app.services.counts import refresh_all_counts
        from app.services.demo import seed_demo
        from app.services.tokens import replace_tokens

        account = await Account.filter(name=DEMO_ACCOUNT_NAME).order_by("id").first()
        if account is None:
            created = await create_account(DEMO_ACCOUNT_NAME, label=DEMO_LABEL)
            bar = ProgressBar()
            await seed_demo(created.account, demo_contacts, progress=bar)
            bar.close()
            await refresh_all_counts(created.account.id)
            return created.account, created.token
        return account, await replace_tokens(account, DEMO_LABEL)


def _check_port(host: str, port: int) -> None:
    """Refuse at once when the address is taken, before migrating or seeding anything."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind) as probe:
            # As uvicorn binds: a port whose closed connections linger in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise CommandError(
            f"Can't listen on {host}:{port}: {exc.strerror or exc}. "
            "Stop what uses it, or pick another port with --port."
        ) from None


def _serve(settings: Settings, demo: bool, demo_contacts: int, workers: int) -> None:
    import uvicorn

    from app.main import create_app

    _check_port(settings.host, settings.port)
    prepared = asyncio.run(_prepare_serve(settings, demo, demo_contacts))
    url = f"http://{settings.host}:{settings.port}/graphql"
    if prepared:
        account, token = prepared
        _print(
            "",
            f"Demo account {DEMO_ACCOUNT_NAME!r} is ready: ID {to_global_id('Account', account.id)}"
            f" (number {account.id}).",
            "Its API token, new for this run (the previous demo token is revoked):",
            f"    {token}",
            "",
            f"GraphiQL, the token filled in: {url}#token={token}",
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
    serve.add_argument(
        "--host", help="interface to listen on (default: $SEGMENTS_HOST, else 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, help="port (default: $SEGMENTS_PORT, else 8000)")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="first make sure the demo account exists (created and seeded once), and print its"
        " ID and a new token, revoking the previous demo token (default: off)",
    )
    serve.add_argument(
        "--demo-contacts",
        type=int,
        default=5000,
        metavar="N",
        help="contacts seeded into a new demo account (default: %(default)s)",
    )
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
    create.add_argument("name", help="the account's name")

    seed = commands.add_parser("seed-demo", help="create a demo account filled with data")
    seed.add_argument(
        "--contacts", type=int, default=5000, metavar="N", help="contacts (default: %(default)s)"
    )
    seed.add_argument(
        "--name", default=DEMO_ACCOUNT_NAME, help="the account's name (default: %(default)s)"
    )
    seed.add_argument(
        "--seed", type=int, default=0, help="random seed: same seed, same data (default: 0)"
    )

    worker = commands.add_parser("worker", help="run a Celery worker (needs REDIS_URL)")
    worker.add_argument(
        "--concurrency", type=int, default=2, help="worker processes (default: %(default)s)"
    )
    worker.add_argument(
        "--queues",
        default=",".join(QUEUES),
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
        "--account", type=account_ref, metavar="ID", help=f"{ACCOUNT_HELP} (default: all)"
    )

    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument(
        "path", type=Path, nargs="?", default=SCHEMA_FILE, help="(default: %(default)s)"
    )

    imp = commands.add_parser(
        "import-csv",
        aliases=["import"],
        help="import contacts from a CSV file (this project's columns, or an export of"
        " Mailchimp, Kajabi, ConvertKit or Klaviyo)",
    )
    imp.add_argument("path", type=Path, help="the CSV file (UTF-8)")
    imp.add_argument("--account", type=account_ref, required=True, metavar="ID", help=ACCOUNT_HELP)
    imp.add_argument(
        "--rejects",
        type=Path,
        metavar="OUT.csv",
        help="write each rejected row here, whole, after its line, field and reason, to fix"
        " and import again (default: none, the rejections are only listed)",
    )
    imp.add_argument(
        "--subscribed",
        action="store_true",
        help="rows that don't give a status are subscribers, for a list of subscribers"
        " exported without a status column; never re-subscribes a contact who unsubscribed"
        " here (default: off; a file with opt-in times and no status column, as Mailchimp's,"
        " is read so anyway)",
    )

    erase = commands.add_parser(
        "delete-contacts", help="delete contacts for good, by email, with all that is known of them"
    )
    erase.add_argument(
        "--account", type=account_ref, required=True, metavar="ID", help=ACCOUNT_HELP
    )
    erase.add_argument(
        "--emails", type=Path, required=True, metavar="FILE", help="one email a line"
    )

    cli_accounts.add_commands(commands)

    export_members = commands.add_parser("export", help="write a segment's members as CSV")
    export_members.add_argument(
        "segment",
        type=segment_ref,
        metavar="SEGMENT_ID",
        help="the segment: its number, or its ID as the API shows it",
    )
    export_members.add_argument(
        "--output", type=Path, metavar="FILE", help="write here (default: stdout)"
    )
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
        case "import-csv" | "import":
            if not args.path.is_file():
                raise CommandError(f"No such file: {args.path}")
            if args.rejects is not None and not args.rejects.resolve().parent.is_dir():
                raise CommandError(f"No such folder for --rejects: {args.rejects.parent}")
            return _import_csv(settings, args.path, args.account, args.rejects, args.subscribed)
        case command if command in cli_accounts.COMMANDS:
            return cli_accounts.run(args, settings)
        case "delete-contacts":
            if not args.emails.is_file():
                raise CommandError(f"No such file: {args.emails}")
            return _delete_contacts(settings, args.account, args.emails)
        case "export":
            return _export(settings, args.segment, args.output)
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
