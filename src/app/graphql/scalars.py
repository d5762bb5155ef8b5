"""Date and DateTime as the API reads them: ISO 8601, with an error message of our own when a
value isn't one (the default parsers pass Python's exception text on, and let some values
through to an OverflowError)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

_LONGEST = 64  # no ISO 8601 date-time is longer


def _shown(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _parse_datetime(value: object) -> datetime:
    if isinstance(value, str) and len(value) <= _LONGEST:
        try:
            return datetime.fromisoformat(value)
        except (ValueError, OverflowError):
            pass
    raise StrawberryInputCoercionError(
        f"{_shown(value)} is not an ISO 8601 date-time, such as 2026-01-15T10:00:00Z."
    )


def _parse_date(value: object) -> date:
    if isinstance(value, str) and len(value) <= _LONGEST:
        try:
            return date.fromisoformat(value)
        except (ValueError, OverflowError):
            pass
    raise StrawberryInputCoercionError(
        f"{_shown(value)} is not an ISO 8601 date, such as 2026-01-15."
    )


def _isoformat(value: Any) -> str:
    return str(value.isoformat())


SCALARS: dict[object, ScalarDefinition] = {
    datetime: strawberry.scalar(
        name="DateTime",
        description="Date with time (isoformat)",
        serialize=_isoformat,
        parse_value=_parse_datetime,
    ),
    date: strawberry.scalar(
        name="Date",
        description="Date (isoformat)",
        serialize=_isoformat,
        parse_value=_parse_date,
    ),
}
