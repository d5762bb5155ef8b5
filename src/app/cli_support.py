"""What the `segments` commands share: one-line failures, printing, tables, and the one way an
account is named on the command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime

from app.filters.ids import from_global_id, parse_pk
from app.models import Account


class CommandError(Exception):
    """A failure to report in one line, without a traceback."""


def say(*lines: str) -> None:
    for line in lines:
        print(line, flush=True)


def account_ref(value: str) -> int:
    """An account as the CLI takes it: its number, or its ID as the API shows it
    (`viewer { id }`, as `segments accounts` lists it)."""
    pk = parse_pk(value) if value.isascii() and value.isdigit() else None
    pk = pk or from_global_id(value, "Account")
    if pk is None:
        raise argparse.ArgumentTypeError(f"{value!r} is neither an account number nor its ID")
    return pk


async def find_account(pk: int) -> Account:
    account = await Account.get_or_none(id=pk)
    if account is None:
        raise CommandError(f"No account with id {pk}.")
    return account


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns aligned on their widest cell, two spaces apart."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (headers, *rows)
    ]


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


ACCOUNT_HELP = "the account: its number, or its ID as the API and `segments accounts` show it"


async def require_migrated() -> None:
    from app.db import pending_migrations
    from app.main import migrate_hint

    pending = await pending_migrations()
    if pending:
        raise CommandError(migrate_hint(pending))
