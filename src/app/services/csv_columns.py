"""What the columns of a contacts CSV mean, and how their cells read: this project's own names
and the shapes of the exports of Mailchimp, Kajabi, ConvertKit (Kit) and Klaviyo (the README's
"CSV imports from other tools" lists them and where they come from).

Each column is recognised by its own name, never by guessing which tool wrote the file, so a
file that mixes shapes, or an export whose columns were picked by hand, still reads."""

from __future__ import annotations

import csv
import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.enums import SubscriptionStatus, UnsubscribeReason
from app.services.checks import as_utc
from app.services.errors import ItemInvalid

CUSTOM = "custom:"  # a target `custom:<header>` is that custom field
IGNORED = "ignored"  # a rejects file's own columns: written by the import, never imported
EMAIL = "email"
TAGS = "tags"
STATUS = "subscription_status"
SUBSCRIBED_AT = "subscribed_at"  # an opt-in or confirmation time
CREATED_AT = "created_at"
UNSUBSCRIBED_AT = "unsubscribed_at"  # a time the row left the list: it is unsubscribed
CLEANED_AT = "cleaned_at"  # a time the address was cleaned (bounced): it is unsubscribed
# Columns that hold a date and time, each read by parse_time.
TIMES = (SUBSCRIBED_AT, CREATED_AT)

REJECT_COLUMNS = ("rejected_line", "rejected_field", "rejected_reason")

_ALIASES = {
    # this project's names, and the usual spellings
    "email": EMAIL,
    "email_address": EMAIL,  # Mailchimp "Email Address", Kit "email_address"
    "e_mail": EMAIL,
    "first_name": "first_name",
    "firstname": "first_name",
    "fname": "first_name",  # Mailchimp's merge tag
    "last_name": "last_name",
    "lastname": "last_name",
    "lname": "last_name",
    "surname": "last_name",
    "country": "country",
    "address_country": "country",  # Kajabi "Country (address_country)"
    "birth_date": "birth_date",
    "birthdate": "birth_date",
    "date_of_birth": "birth_date",
    "email_risk": "email_risk",
    "unsubscribe_reason": "unsubscribe_reason",
    "tags": TAGS,  # Mailchimp "TAGS", Kajabi and Kit "Tags"
    "tag": TAGS,
    # subscription status
    "subscription_status": STATUS,
    "status": STATUS,  # Kit, and most tools
    "state": STATUS,  # Kit's API name
    "email_marketing_consent": STATUS,  # Klaviyo
    "subscribed": STATUS,
    "email_subscribed": STATUS,
    "accepts_marketing": STATUS,
    "unsub_time": UNSUBSCRIBED_AT,  # Mailchimp's unsubscribed export
    "unsubscribed_at": UNSUBSCRIBED_AT,
    "clean_time": CLEANED_AT,  # Mailchimp's cleaned export
    "cleaned_at": CLEANED_AT,
    # times
    "subscribed_at": SUBSCRIBED_AT,
    "optin_time": SUBSCRIBED_AT,  # Mailchimp OPTIN_TIME
    "confirm_time": SUBSCRIBED_AT,  # Mailchimp CONFIRM_TIME (double opt-in)
    "opt_in_time": SUBSCRIBED_AT,
    "opt_in_date": SUBSCRIBED_AT,
    "confirmed_at": SUBSCRIBED_AT,
    "subscribed_on": SUBSCRIBED_AT,
    "subscription_date": SUBSCRIBED_AT,
    "email_marketing_consent_timestamp": SUBSCRIBED_AT,  # Klaviyo
    "created_at": CREATED_AT,  # Kajabi "Created At", Kit "created_at"
    "created": CREATED_AT,
    "created_on": CREATED_AT,
    "date_created": CREATED_AT,
    "profile_created_on": CREATED_AT,  # Klaviyo
    "date_added": CREATED_AT,  # Klaviyo
    **dict.fromkeys(REJECT_COLUMNS, IGNORED),
}
# Kajabi writes "Label (field_key)": the key in brackets names the field.
_BRACKETED_KEY = re.compile(r"\(([a-z0-9_]+)\)$")


def column_key(header: str) -> str:
    """`First Name`, `first-name` and `firstName` all become `first_name`."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header.strip())
    return re.sub(r"[\s\-]+", "_", snake).lower()


def column_target(header: str) -> str:
    """What a column holds: a contact field, one of this module's targets, or
    `custom:<header>` for any other column."""
    key = column_key(header)
    bracketed = _BRACKETED_KEY.search(key)
    if bracketed and bracketed.group(1) in _ALIASES:
        return _ALIASES[bracketed.group(1)]
    return _ALIASES.get(key, f"{CUSTOM}{header.strip()}")


_PLAIN_INTEGER = re.compile(r"^-?(0|[1-9][0-9]{0,17})$")
# Beyond 2^53 a number no longer round-trips through JSON clients exactly: it stays text.
_MAX_EXACT_INTEGER = 2**53


def custom_value(raw: str) -> Any:
    # Whole numbers become numbers so number conditions work; "007" stays text (codes, zips),
    # and so does a number too large to stay exact in JSON (long ids).
    if _PLAIN_INTEGER.match(raw) and abs(number := int(raw)) <= _MAX_EXACT_INTEGER:
        return number
    return raw


_TAG_SEPARATORS = re.compile(r"[;|,]")


def split_tags(cell: str) -> list[str]:
    """The tag names of a cell: `vip; webinar` or `vip|webinar` or `vip,webinar`, or Mailchimp's
    quoted list `"vip","webinar-2026"` (a tag may hold a comma there)."""
    text = cell.strip()
    names = _TAG_SEPARATORS.split(text)
    if text.startswith('"'):
        # Not a quoted list after all (a stray line break): split as any other.
        with suppress(csv.Error):
            names = next(csv.reader([text], skipinitialspace=True), [])
    return [name.strip() for name in names if name.strip()]


@dataclass(frozen=True)
class Status:
    """A status cell read: the status to store (None: "not subscribed", which leaves the stored
    status alone and makes a new contact NEVER_SUBSCRIBED), and the reason of an unsubscribe."""

    status: SubscriptionStatus | None
    reason: UnsubscribeReason | None = None


_SUBSCRIBED = Status(SubscriptionStatus.SUBSCRIBED)
_NOT_SUBSCRIBED = Status(None)
_STATUS_WORDS: dict[str, Status] = {
    **dict.fromkeys(
        ("subscribed", "active", "confirmed", "opted_in", "opt_in", "yes", "y", "true", "1"),
        _SUBSCRIBED,
    ),
    **dict.fromkeys(
        ("unsubscribed", "cancelled", "canceled", "opted_out", "unsubscribe"),
        Status(SubscriptionStatus.UNSUBSCRIBED, UnsubscribeReason.OPTED_OUT),
    ),
    **dict.fromkeys(
        ("bounced", "cleaned", "hard_bounced"),
        Status(SubscriptionStatus.UNSUBSCRIBED, UnsubscribeReason.BOUNCED),
    ),
    **dict.fromkeys(
        ("complained", "spam", "marked_spam"),
        Status(SubscriptionStatus.UNSUBSCRIBED, UnsubscribeReason.MARKED_SPAM),
    ),
    # Said in so many words, as this project and Klaviyo write it.
    "never_subscribed": Status(SubscriptionStatus.NEVER_SUBSCRIBED),
    # Not (yet) subscribed: Kit's "inactive" is an unconfirmed double opt-in.
    **dict.fromkeys(
        (
            "not_subscribed",
            "non_subscribed",
            "unconfirmed",
            "pending",
            "inactive",
            "no",
            "n",
            "false",
            "0",
        ),
        _NOT_SUBSCRIBED,
    ),
}


def parse_status(raw: str) -> Status:
    word = re.sub(r"[\s\-]+", "_", raw.strip()).lower()
    found = _STATUS_WORDS.get(word)
    if found is None:
        raise ItemInvalid(
            STATUS,
            f"{raw[:40]!r} is not a subscription status: use subscribed, unsubscribed, bounced,"
            " complained, never subscribed or not subscribed (or yes / no).",
        )
    return found


# "2020-11-05 11:10:44 -0700" (Kajabi) and "... UTC" become ISO 8601.
_SPACED_OFFSET = re.compile(r"(?<=\d)\s+([+-]\d{2}:?\d{2})$")
_UTC_SUFFIX = re.compile(r"\s*(?:UTC|GMT)$", re.IGNORECASE)


def parse_time(raw: str, field_name: str) -> datetime:
    """A date and time as the exports write them, in UTC (a time without an offset is UTC, as
    Mailchimp's are); a date alone is its midnight. The range is the service's to check."""
    text = _SPACED_OFFSET.sub(r"\1", _UTC_SUFFIX.sub("+00:00", raw.strip()))
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        return as_utc(datetime.strptime(text, "%b %d, %Y"))  # Kajabi's "Dec 19, 2021"
    except ValueError:
        raise ItemInvalid(
            field_name,
            f"{raw[:40]!r} is not a date and time: use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS,"
            " with an offset (+02:00) or in UTC.",
        ) from None
