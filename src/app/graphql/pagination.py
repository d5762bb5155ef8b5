"""Relay connections with keyset cursors: a cursor is the position (sort value, id) of its row,
so every page costs what the first one does."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import strawberry
from strawberry import relay

from app.filters.query import Keyset
from app.graphql.errors import PublicError

DEFAULT_PAGE = 50
MAX_PAGE = 500

T = TypeVar("T")


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


def decode_cursor(cursor: str, order_key: str) -> Keyset:
    try:
        key, value, pk = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, TypeError):
        raise PublicError("That cursor is not one this API gave out.") from None
    if key != order_key or not isinstance(pk, int):
        raise PublicError("That cursor belongs to another ordering; start again without it.")
    if isinstance(value, str) and is_time_order(order_key):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise PublicError("That cursor is not one this API gave out.") from None
    return Keyset(value, pk)


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
