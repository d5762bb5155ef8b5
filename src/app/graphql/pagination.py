"""Relay connections with keyset cursors: a cursor is the position (sort value, id) of its row,
so every page costs what the first one does."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import strawberry
from strawberry import relay

from app.filters.ids import MAX_PK
from app.filters.query import Keyset
from app.graphql.errors import PublicError
from app.limits import DEFAULT_PAGE, MAX_DATE, MAX_EMAIL, MAX_PAGE, MIN_DATE
from app.text import text_problem

T = TypeVar("T")


class HasId(Protocol):
    id: int


R = TypeVar("R", bound=HasId)


@dataclass(frozen=True)
class PageRequest:
    """first/after or last/before, checked."""

    size: int
    cursor: Keyset | None
    backward: bool


def page_request(
    first: int | None, after: str | None, last: int | None, before: str | None, order_key: str
) -> PageRequest:
    if first is not None and last is not None:
        raise PublicError("Give `first` or `last`, not both.")
    size = last if last is not None else first if first is not None else DEFAULT_PAGE
    if not 0 <= size <= MAX_PAGE:
        raise PublicError(f"Page size must be between 0 and {MAX_PAGE}; got {size}.")
    backward = last is not None or (before is not None and first is None)
    raw = before if backward else after
    return PageRequest(size, decode_cursor(raw, order_key) if raw else None, backward)


def encode_cursor(order_key: str, value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    payload = json.dumps([order_key, value, pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode()


_FOREIGN = "That cursor is not one this API gave out."
# What each ordering's cursor carries as its sort value: None (ordered by id alone), text, a
# whole number, or a time (`time?`: a time or null, for a column that may be empty).
_CURSOR_VALUES = {
    "segments": "none",
    "products": "none",
    "tags": "text",
    "created_at": "time",
    "last_opened_at": "time?",
    "email": "text",
    "total_spent_cents": "int",
}


def decode_cursor(cursor: str, order_key: str) -> Keyset:
    """The keyset position in a cursor, with its value checked against the ordering: a cursor
    of the wrong shape is refused here, never compared with a column of another type."""
    try:
        key, value, pk = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (binascii.Error, ValueError, TypeError, UnicodeError, RecursionError):
        raise PublicError(_FOREIGN) from None
    if key != order_key:
        raise PublicError("That cursor belongs to another ordering; start again without it.")
    if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk <= MAX_PK:
        raise PublicError(_FOREIGN)
    return Keyset(_cursor_value(value, _CURSOR_VALUES.get(order_key.split(":")[0], "none")), pk)


def _cursor_value(value: Any, kind: str) -> Any:
    if value is None and kind in ("none", "time?"):
        return None
    text = isinstance(value, str) and len(value) <= MAX_EMAIL and text_problem(value) is None
    if kind == "text" and text:
        return value
    if kind == "int" and type(value) is int and abs(value) <= MAX_PK:
        return value
    if kind in ("time", "time?") and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:  # every time this API writes carries its offset
                moment = moment.astimezone(UTC)
        except (ValueError, OverflowError):
            raise PublicError(_FOREIGN) from None
        if moment.tzinfo is not None and MIN_DATE <= moment.date() <= MAX_DATE:
            return moment
    raise PublicError(_FOREIGN)


def is_time_order(order_key: str) -> bool:
    return order_key.split(":")[0].endswith("_at")


def sort_value(value: Any, order_key: str) -> Any:
    """SQLite returns stored datetimes as text; cursors carry them as datetimes."""
    if isinstance(value, str) and is_time_order(order_key):
        return datetime.fromisoformat(value)
    return value


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@dataclass
class Window:
    """A fetched page: `rows` in display order, and whether more lay beyond either end."""

    rows: list[dict[str, Any]]
    has_next: bool
    has_previous: bool


def window(rows: list[dict[str, Any]], request: PageRequest) -> Window:
    extra = len(rows) > request.size
    rows = rows[: request.size]
    if request.backward:
        rows.reverse()
        return Window(rows, has_next=request.cursor is not None, has_previous=extra)
    return Window(rows, has_next=extra, has_previous=request.cursor is not None)


def page_info(edges: list[Any], win: Window) -> relay.PageInfo:
    return relay.PageInfo(
        has_next_page=win.has_next,
        has_previous_page=win.has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


async def id_page(
    request: PageRequest,
    order_key: str,
    fetch: Callable[[int | None, int], Awaitable[Sequence[R]]],
) -> tuple[list[tuple[str, R]], Window]:
    """A forward page of rows keyed by id, in the order `fetch(after_id, limit)` reads them
    (up to `limit` rows past the cursor's row); each row with its cursor."""
    found = (
        await fetch(request.cursor.id if request.cursor else None, request.size + 1)
        if request.size
        else []
    )
    win = window([{"row": row} for row in found], request)
    return [(encode_cursor(order_key, None, row["row"].id), row["row"]) for row in win.rows], win
