"""The one validation boundary for values: text, emails, enums, numbers, times and dates, and
custom fields. The services call these on every item (the API and the CSV import go through
the services), and each raises `ItemInvalid` naming the field, so a bad value becomes a clear
per-item error and never reaches the database as a fault. The bounds are app.limits'."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from app import limits
from app.services.errors import DomainError, ErrorCode, ItemInvalid
from app.text import invisible, normalize, text_problem

# Provider clocks drift: a timestamp this far ahead of ours is still accepted.
CLOCK_SKEW = timedelta(minutes=5)

# Deliberately simple: one @, a dotted domain. Deliverability is the provider's job.
_EMAIL = re.compile(r"^[^@]{1,64}@[^@.]+(\.[^@.]+)+$")

E = TypeVar("E", bound=Enum)


def _label(field_name: str) -> str:
    return field_name.replace("_", " ")


def clean_text(
    value: str | None,
    field_name: str,
    max_length: int,
    *,
    required: bool = False,
    multiline: bool = False,
) -> str | None:
    """Trimmed, NFC text of at most `max_length` characters; None stays None."""
    if value is None:
        if required:
            raise ItemInvalid(field_name, f"{_label(field_name)} is required.", ErrorCode.REQUIRED)
        return None
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise ItemInvalid(field_name, f"The {_label(field_name)} {problem}.")
    text = normalize(value).strip()
    if required and not text:
        raise ItemInvalid(field_name, f"{_label(field_name)} may not be empty.", ErrorCode.REQUIRED)
    if len(text) > max_length:
        raise ItemInvalid(
            field_name,
            f"The {_label(field_name)} is longer than {max_length} characters.",
            ErrorCode.TOO_LONG,
        )
    return text


def normalize_email(raw: str, field_name: str = "email") -> str:
    """An email address as stored: NFC, trimmed; no spaces, controls or invisible
    characters (two spellings of one address must not make two contacts)."""
    email = clean_text(raw, field_name, len(raw), required=True) or ""
    too_long = len(email) > limits.MAX_EMAIL
    if too_long or any(invisible(char) for char in email) or not _EMAIL.match(email):
        raise ItemInvalid(
            field_name, f"{email[:80]!r} is not a valid email address.", ErrorCode.INVALID_EMAIL
        )
    return email


def parse_enum(
    enum: type[E], value: E | str, field_name: str, code: ErrorCode = ErrorCode.INVALID
) -> E:
    if isinstance(value, enum):
        return value
    try:
        return enum(str(value).upper())
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ItemInvalid(
            field_name, f"{str(value)[:40]!r} is not one of {allowed}.", code
        ) from None


def check_int(value: int, field_name: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ItemInvalid(
            field_name,
            f"The {_label(field_name)} must be between {low} and {high}.",
            ErrorCode.OUT_OF_RANGE,
        )
    return value


def as_utc(moment: datetime) -> datetime:
    """Naive times are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_date(day: date, field_name: str) -> date:
    if not limits.MIN_DATE <= day <= limits.MAX_DATE:
        raise ItemInvalid(
            field_name,
            f"The {_label(field_name)} must be between {limits.MIN_DATE} and {limits.MAX_DATE}.",
            ErrorCode.OUT_OF_RANGE,
        )
    return day


def check_time(moment: datetime, field_name: str, now: datetime) -> datetime:
    """A time in UTC, within the dates we store and not in the future (beyond clock skew)."""
    try:
        moment = as_utc(moment)
        in_range = limits.MIN_DATE <= moment.date() <= limits.MAX_DATE
    except OverflowError:  # a time zone pushed it outside the years a datetime holds
        in_range = False
    if not in_range:
        raise ItemInvalid(
            field_name,
            f"The {_label(field_name)} must be between {limits.MIN_DATE} and {limits.MAX_DATE}.",
            ErrorCode.OUT_OF_RANGE,
        )
    if moment > now + CLOCK_SKEW:
        raise ItemInvalid(
            field_name,
            f"{moment.isoformat()} is in the future (now is {now.isoformat()}).",
            ErrorCode.TIME_IN_FUTURE,
        )
    return moment


def clean_custom_fields(value: object, field_name: str = "custom_fields") -> dict[str, Any]:
    """A JSON object of custom fields: clean keys, finite numbers, clean strings, bounded in
    keys, depth and size. A value given as null stays null (it removes the key on merge)."""
    if not isinstance(value, dict):
        raise ItemInvalid(field_name, "Custom fields must be a JSON object.")
    if len(value) > limits.MAX_CUSTOM_KEYS:
        raise ItemInvalid(
            field_name,
            f"At most {limits.MAX_CUSTOM_KEYS} custom fields; got {len(value)}.",
            ErrorCode.TOO_LONG,
        )
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or text_problem(key) or not key.strip():
            raise ItemInvalid(field_name, f"{str(key)[:40]!r} is not a usable custom field name.")
        name = normalize(key).strip()
        if len(name) > limits.MAX_CUSTOM_KEY:
            raise ItemInvalid(
                field_name,
                f"Custom field names are at most {limits.MAX_CUSTOM_KEY} characters.",
                ErrorCode.TOO_LONG,
            )
        cleaned[name] = _clean_json(item, field_name, f"{name!r}", 0)
    size = len(json.dumps(cleaned, ensure_ascii=False).encode())
    if size > limits.MAX_CUSTOM_BYTES:
        raise ItemInvalid(
            field_name,
            f"Custom fields are at most {limits.MAX_CUSTOM_BYTES} bytes as JSON; got {size}.",
            ErrorCode.TOO_LONG,
        )
    return cleaned


def _clean_json(value: object, field_name: str, where: str, depth: int) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        # Beyond 2^53 a number no longer round-trips through JSON clients exactly.
        if abs(value) > 2**53:
            raise ItemInvalid(
                field_name, f"The number in {where} is too large.", ErrorCode.OUT_OF_RANGE
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ItemInvalid(field_name, f"{where} holds {value}, which JSON can't carry.")
        return value
    if isinstance(value, str):
        problem = text_problem(value, multiline=True)
        if problem:
            raise ItemInvalid(field_name, f"The text in {where} {problem}.")
        return normalize(value)
    if depth >= limits.MAX_CUSTOM_DEPTH:
        raise ItemInvalid(
            field_name,
            f"{where} nests deeper than {limits.MAX_CUSTOM_DEPTH} levels.",
            ErrorCode.TOO_LONG,
        )
    if isinstance(value, list):
        return [_clean_json(item, field_name, where, depth + 1) for item in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or text_problem(key):
                raise ItemInvalid(field_name, f"A key inside {where} is not usable text.")
            out[normalize(key)] = _clean_json(item, field_name, where, depth + 1)
        return out
    raise ItemInvalid(field_name, f"{where} is not a JSON value.")


@contextmanager
def single_value(*path: str) -> Iterator[None]:
    """For a call that takes one value rather than a batch: a check failing inside becomes
    the call's DomainError at `path` (the argument's path in the API)."""
    try:
        yield
    except ItemInvalid as exc:
        raise DomainError(exc.code, exc.message, path) from None
