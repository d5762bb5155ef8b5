"""What every batch call shares: the size bound, per-item validation and the result shape."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Generic, TypeVar

from app.services.errors import DomainError, ErrorCode, ItemError, ItemInvalid

MAX_BATCH = 1000
# Provider clocks drift: a timestamp this far ahead of ours is still accepted.
CLOCK_SKEW = timedelta(minutes=5)

# Deliberately simple: one @, no spaces, a dotted domain. Deliverability is the provider's job.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")

T = TypeVar("T")
R = TypeVar("R")
E = TypeVar("E", bound=Enum)


@dataclass
class BatchResult(Generic[R]):
    items: list[R] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    duplicates: int = 0


def check_size(items: Sequence[object]) -> None:
    if len(items) > MAX_BATCH:
        raise DomainError(
            ErrorCode.BATCH_TOO_LARGE,
            f"At most {MAX_BATCH} items per call; got {len(items)}.",
            ("input",),
        )


def validate_all(
    items: Sequence[T], check: Callable[[T], R], errors: list[ItemError]
) -> list[tuple[int, R]]:
    """Run `check` on every item; keep what passes, record an error for what doesn't."""
    valid: list[tuple[int, R]] = []
    for index, item in enumerate(items):
        try:
            valid.append((index, check(item)))
        except ItemInvalid as exc:
            errors.append(ItemError(index, exc.field, exc.message, exc.code))
    return valid


def normalize_email(raw: str, field_name: str = "email") -> str:
    email = raw.strip()
    if not email:
        raise ItemInvalid(field_name, "Email is required.", ErrorCode.REQUIRED)
    if len(email) > 320 or not _EMAIL.match(email):
        raise ItemInvalid(
            field_name, f"{raw!r} is not a valid email address.", ErrorCode.INVALID_EMAIL
        )
    return email


def check_text(
    value: str | None, field_name: str, max_length: int, *, required: bool = False
) -> str | None:
    if value is None:
        if required:
            raise ItemInvalid(field_name, f"{field_name} is required.", ErrorCode.REQUIRED)
        return None
    text = value.strip()
    if required and not text:
        raise ItemInvalid(field_name, f"{field_name} may not be empty.", ErrorCode.REQUIRED)
    if len(text) > max_length:
        raise ItemInvalid(
            field_name, f"{field_name} is longer than {max_length} characters.", ErrorCode.TOO_LONG
        )
    return text


def as_utc(moment: datetime) -> datetime:
    """Naive times are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_time(moment: datetime, field_name: str, now: datetime) -> datetime:
    moment = as_utc(moment)
    if moment > now + CLOCK_SKEW:
        raise ItemInvalid(
            field_name,
            f"{moment.isoformat()} is in the future (now is {now.isoformat()}).",
            ErrorCode.TIME_IN_FUTURE,
        )
    return moment


def parse_enum(
    enum: type[E], value: E | str, field_name: str, code: ErrorCode = ErrorCode.INVALID
) -> E:
    if isinstance(value, enum):
        return value
    try:
        return enum(str(value).upper())
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ItemInvalid(field_name, f"{value!r} is not one of {allowed}.", code) from None
