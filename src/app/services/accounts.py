"""Accounts: creation with their six default segments, API tokens, engagement settings."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from app import limits
from app.auth import new_token
from app.enums import DefaultSegment, RunTrigger, SegmentKind
from app.models import Account, ApiToken, Segment
from app.services.checks import clean_text, single_value
from app.services.errors import DomainError, ErrorCode
from app.services.jobs import start_recompute_job
from app.text import fold

DEFAULT_SEGMENT_NAMES: dict[DefaultSegment, str] = {
    DefaultSegment.ALL_CONTACTS: "All Contacts",
    DefaultSegment.CUSTOMERS: "Customers",
    DefaultSegment.SUBSCRIBED: "Subscribed",
    DefaultSegment.INACTIVE: "Inactive",
    DefaultSegment.HARD_BOUNCED: "Hard Bounced",
    DefaultSegment.EXCLUDED: "Excluded",
}


@dataclass(frozen=True)
class CreatedAccount:
    account: Account
    token: str


async def create_account(name: str, label: str = "default") -> CreatedAccount:
    """A new account with its default segments and one API token (returned once)."""
    with single_value("name"):
        name = clean_text(name, "name", limits.MAX_NAME, required=True) or ""
    async with in_transaction():
        account = await Account.create(name=name)
        await Segment.bulk_create(
            [
                Segment(
                    account=account,
                    name=label,
                    name_lower=fold(label),
                    kind=SegmentKind.DEFAULT,
                    default_key=key,
                )
                for key, label in DEFAULT_SEGMENT_NAMES.items()
            ]
        )
        token = await issue_token(account, label)
    return CreatedAccount(account=account, token=token)


async def issue_token(account: Account, name: str = "default") -> str:
    fresh = new_token()
    await ApiToken.create(account=account, key=fresh.key, secret_hash=fresh.secret_hash, name=name)
    return fresh.token


async def update_settings(
    account: Account,
    *,
    inactivity_days: int | None = None,
    soft_bounce_threshold: int | None = None,
    unengaged_send_threshold: int | None = None,
) -> Account:
    bounds = {
        "inactivity_days": (inactivity_days, 1, 3650),
        "soft_bounce_threshold": (soft_bounce_threshold, 1, 1000),
        "unengaged_send_threshold": (unengaged_send_threshold, 1, 10000),
    }
    given = {name: value for name, (value, _, _) in bounds.items() if value is not None}
    # Check everything before changing anything: a refused call leaves the account as it was.
    for field_name, value in given.items():
        _, low, high = bounds[field_name]
        if not low <= value <= high:
            raise DomainError(
                ErrorCode.OUT_OF_RANGE,
                f"{field_name} must be between {low} and {high}.",
                ("input", field_name),
            )
    for field_name, value in given.items():
        setattr(account, field_name, value)
    if given:
        await account.save(update_fields=list(given))
        # The rules read these settings: run them on every contact now, after any run
        # already under way (which read the old values).
        await start_recompute_job(account, RunTrigger.SETTINGS)
    return account
