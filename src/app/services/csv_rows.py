"""One row of a contacts CSV as a contact for the upsert.

The row's own faults (an email already on an earlier row, bytes that are not UTF-8, a date or
status it can't read) are found here; the values' checks (text, lengths, ranges) are the
upsert's. The subscription is read in this order: a status column; else Mailchimp's
unsubscribe or clean time; else, in a file that lists opt-in times but no status (a subscriber
export) or imported with `subscribed`, the row is a subscriber, which never re-subscribes a
contact who unsubscribed here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.enums import SubscriptionStatus, UnsubscribeReason
from app.services import csv_columns as col
from app.services.checks import normalize_email
from app.services.contacts import ContactData
from app.services.errors import ItemInvalid
from app.text import fold

# What surrogateescape makes of a byte that isn't part of valid UTF-8 (0x80-0xFF).
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class Header:
    targets: list[str]  # per column: a contact field, or a target of csv_columns
    subscribed: bool  # rows that don't say their status are subscribers

    @classmethod
    def of(cls, names: list[str], subscribed: bool) -> Header:
        targets = [col.column_target(name) for name in names]
        # Opt-in times and no status column: a list of subscribers (Mailchimp's export).
        listed = col.SUBSCRIBED_AT in targets and col.STATUS not in targets
        return cls(targets, subscribed or listed)


def bad_byte(text: str) -> str | None:
    """Where `text` holds a byte that isn't UTF-8 (read with surrogateescape), or None."""
    found = _ESCAPED_BYTE.search(text)
    if found is None:
        return None
    return f"byte 0x{ord(found.group()) - 0xDC00:02X} at character {found.start() + 1}"


def _field(target: str) -> str:
    return "custom_fields" if target.startswith(col.CUSTOM) else target


def _subject(target: str) -> str:
    """How a message names a column's value, as app.services.checks does."""
    if target.startswith(col.CUSTOM):
        return f"The text in {target.removeprefix(col.CUSTOM)!r}"
    if target == col.TAGS:
        return "The tag list"
    return f"The {target.replace('_', ' ')}"


def _claim_email(email: str, line: int, seen: dict[str, int]) -> None:
    """Record the row's email (as the upsert matches it); a repeat of an earlier row's is
    rejected. An invalid email claims nothing: the upsert reports it."""
    try:
        address = normalize_email(email)
    except ItemInvalid:
        return
    first = seen.setdefault(fold(address), line)
    if first != line:
        raise ItemInvalid(
            "email",
            f"The email {address!r} is already on line {first}; "
            "each email may appear only once in a file.",
        )


def row_contact(cells: list[str], header: Header, line: int, seen: dict[str, int]) -> ContactData:
    """The row as a contact for the upsert, or ItemInvalid naming what is wrong with the row
    as a row of this file."""
    if len(cells) > len(header.targets):
        raise ItemInvalid(None, "The row has more cells than the header.")
    # A row shorter than the header leaves its last columns empty.
    pairs = zip(header.targets, cells, strict=False)
    given = [(t, cell.strip()) for t, cell in pairs if cell.strip() and t != col.IGNORED]
    values: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    tags: list[str] = []
    times: dict[str, list[str]] = {name: [] for name in col.TIMES}
    for target, value in given:
        if target.startswith(col.CUSTOM):
            custom[target.removeprefix(col.CUSTOM)] = col.custom_value(value)
        elif target == col.TAGS:
            tags = col.split_tags(value)
        elif target in times:
            times[target].append(value)
        else:
            values[target] = value
    _claim_email(values.get(col.EMAIL, ""), line, seen)
    for target, value in given:
        where = bad_byte(value)
        if where:
            raise ItemInvalid(_field(target), f"{_subject(target)} is not valid UTF-8 ({where}).")
    opted_in = [col.parse_time(raw, col.SUBSCRIBED_AT) for raw in times[col.SUBSCRIBED_AT]]
    created = [col.parse_time(raw, col.CREATED_AT) for raw in times[col.CREATED_AT]]
    contact = _subscription(values, header)
    contact.email = values.pop(col.EMAIL, "")
    contact.tags = tags
    for name in ("first_name", "last_name", "country", "email_risk", "unsubscribe_reason"):
        if name in values:
            setattr(contact, name, values[name])
    if "birth_date" in values:
        contact.birth_date = _parse_date(values["birth_date"])
    if custom:
        contact.custom_fields = custom
    if contact.subscription_status is SubscriptionStatus.SUBSCRIBED and (opted_in or created):
        # The latest opt-in (a confirmation follows the sign-up); else when it was created.
        contact.subscribed_at = max(opted_in) if opted_in else min(created)
    if opted_in or created:
        # A contact exists at least since it opted in.
        contact.created_at = min(created + opted_in)
    return contact


def _subscription(values: dict[str, Any], header: Header) -> ContactData:
    """A contact with the row's subscription status set, and nothing else yet."""
    contact = ContactData(email="")
    if col.STATUS in values:
        status = col.parse_status(values[col.STATUS])
        if status.status is not None:
            contact.subscription_status = status.status
        if status.reason is not None:
            contact.unsubscribe_reason = status.reason
    elif col.CLEANED_AT in values or col.UNSUBSCRIBED_AT in values:
        contact.subscription_status = SubscriptionStatus.UNSUBSCRIBED
        bounced = col.CLEANED_AT in values
        contact.unsubscribe_reason = (
            UnsubscribeReason.BOUNCED if bounced else UnsubscribeReason.OPTED_OUT
        )
    elif header.subscribed:
        contact.subscription_status = SubscriptionStatus.SUBSCRIBED
        contact.keep_unsubscribed = True
    return contact


def _parse_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ItemInvalid("birth_date", "The birth date must be YYYY-MM-DD.") from None
