"""`segments accounts` and `segments tokens list | create | revoke`."""

from __future__ import annotations

import argparse
from typing import Any

from tortoise.functions import Count

from app.cli_support import (
    ACCOUNT_HELP,
    CommandError,
    account_ref,
    find_account,
    require_migrated,
    say,
    table,
    when,
)
from app.db import database
from app.filters.ids import to_global_id
from app.models import Account, ApiToken
from app.services import tokens
from app.services.errors import DomainError
from app.settings import Settings

COMMANDS = ("accounts", "tokens")


def add_commands(commands: Any) -> None:
    """Add `accounts` and `tokens` to the `segments` parser's subcommands."""
    commands.add_parser("accounts", help="list the accounts with their IDs")
    parser = commands.add_parser("tokens", help="list, create or revoke an account's API tokens")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the account's tokens (never their secrets)")
    create = actions.add_parser("create", help="a new token; prints its secret once")
    create.add_argument(
        "--label",
        default="cli",
        help="what the token is for, shown by `tokens list` (default: %(default)s)",
    )
    revoke = actions.add_parser("revoke", help="revoke a token: refused from the next request on")
    revoke.add_argument("token_id", type=int, metavar="TOKEN_ID", help="as `tokens list` shows it")
    for action in (listing, create, revoke):
        action.add_argument(
            "--account", type=account_ref, required=True, metavar="ID", help=ACCOUNT_HELP
        )


async def run(args: argparse.Namespace, settings: Settings) -> None:
    async with database(settings):
        await require_migrated()
        if args.command == "accounts":
            await _accounts()
            return
        account = await find_account(args.account)
        try:
            match args.action:
                case "list":
                    await _list(account)
                case "create":
                    await _create(account, args.label)
                case "revoke":
                    await _revoke(account, args.token_id)
        except DomainError as exc:
            raise CommandError(exc.message) from None


def _label(account: Account) -> str:
    return f"{account.name!r} ({to_global_id('Account', account.id)})"


async def _accounts() -> None:
    live = dict(
        await ApiToken.filter(revoked_at=None)
        .annotate(n=Count("id"))
        .group_by("account_id")
        .values_list("account_id", "n")
    )
    rows = [
        [
            to_global_id("Account", a.id),
            str(a.id),
            a.name,
            when(a.created_at),
            str(live.get(a.id, 0)),
        ]
        for a in await Account.all().order_by("id")
    ]
    if not rows:
        say("No accounts yet: `segments create-account NAME` makes one.")
        return
    say(*table(["ID", "NUMBER", "NAME", "CREATED", "LIVE TOKENS"], rows))


async def _list(account: Account) -> None:
    rows = [
        [
            str(t.id),
            t.name,
            tokens.prefix(t),
            when(t.created_at),
            when(t.last_used_at),
            when(t.revoked_at),
        ]
        for t in await tokens.list_tokens(account)
    ]
    say(f"Tokens of {_label(account)}:")
    say(*table(["ID", "LABEL", "PREFIX", "CREATED", "LAST USED", "REVOKED"], rows))


async def _create(account: Account, label: str) -> None:
    row, secret = await tokens.create_token(account, label)
    say(
        f"Created token {row.id} ({row.name}) for {_label(account)}.",
        "Its secret, shown this once (only a hash is stored):",
        "",
        f"    {secret}",
    )


async def _revoke(account: Account, token_id: int) -> None:
    row, revoked = await tokens.revoke_token(account, token_id)
    if revoked:
        say(f"Revoked token {row.id} ({row.name}) of {_label(account)}: it is refused from now on.")
    else:
        say(f"Token {row.id} ({row.name}) was already revoked ({when(row.revoked_at)}).")
