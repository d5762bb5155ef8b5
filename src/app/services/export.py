"""A segment's members as CSV, written a batch at a time: the header, then one chunk of text per
keyset page of members, so memory holds one page whatever the segment's size.

Columns: email, first name, last name, subscription status, tags (`;`-separated, by name),
created at (ISO 8601, UTC), then one column per custom field key the members hold (known up
front from one query). A text cell that a spreadsheet would read as a formula (starting with
`=`, `+`, `-`, `@`, a tab or a carriage return) is written with a `'` in front; numbers from
custom fields are written as they are."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from app import clock
from app.db import connection, dialect
from app.filters import ast, query
from app.filters.sql import TRUE, Sql, placeholders, render, sql
from app.models import Segment
from app.services.custom_fields import custom_field_keys
from app.services.segments import segment_filter

FIXED_COLUMNS = ("email", "first_name", "last_name", "subscription_status", "tags", "created_at")
BATCH = 1_000  # members read and written at a time
_ORDER = query.Order("created_at")  # served by the (account_id, created_at, id) index
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def member_count(account_id: int, segment: Segment, now: datetime) -> int:
    return await query.count_matching(account_id, segment_filter(segment), now=now)


async def members_csv(
    account_id: int,
    segment: Segment,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> AsyncIterator[str]:
    """The members of the account's segment as CSV text, in chunks; `progress` hears how
    many members are written so far."""
    now = now or clock.now()
    tree = segment_filter(segment)
    found = await custom_field_keys(account_id, await _members(account_id, tree, now))
    keys = [key.key for key in found]
    yield _csv([[*FIXED_COLUMNS, *(_text(key) for key in keys)]])
    written = 0
    after: query.Keyset | None = None
    while rows := await query.page(
        account_id, tree, now=now, order=_ORDER, limit=batch, after=after
    ):
        yield _csv(await _lines(account_id, [int(row["id"]) for row in rows], keys))
        written += len(rows)
        if progress is not None:
            progress(written)
        after = query.Keyset(rows[-1]["sort_value"], rows[-1]["id"])


async def _members(account_id: int, tree: ast.Filter | None, now: datetime) -> Sql:
    """The segment as a predicate on contacts `c`."""
    if tree is None:
        return TRUE
    references = await query.segment_definitions(account_id) if query.references(tree) else None
    segments = references.filters if references else {}
    compiler = await query.compiler_for(account_id, now, segments, [tree], probe=False)
    return compiler.predicate(tree)


async def _lines(account_id: int, ids: Sequence[int], keys: Sequence[str]) -> list[list[str]]:
    """The CSV lines of these contacts, in the order of `ids`; a contact deleted since its
    page was read is left out. Driver rows, not dicts or models: two statements a batch."""
    contacts = (
        sql(
            "SELECT id, email, first_name, last_name, subscription_status, created_at,"
            " custom_fields FROM contacts WHERE account_id = ? AND id IN (",
            account_id,
        )
        + placeholders(ids)
        + Sql(")")
    )
    links = (
        sql(
            "SELECT l.contact_id, t.name, t.name_lower FROM contact_tags l"
            " JOIN tags t ON t.id = l.tag_id WHERE l.account_id = ? AND l.contact_id IN (",
            account_id,
        )
        + placeholders(ids)
        + Sql(")")
    )
    tags: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for link in await _rows(links):
        tags[link["contact_id"]].append((link["name_lower"], link["name"]))
    found = {row["id"]: row for row in await _rows(contacts)}
    return [_line(found[pk], sorted(tags[pk]), keys) for pk in ids if pk in found]


async def _rows(statement: Sql) -> Sequence[Any]:
    _, rows = await connection().execute_query(render(statement, dialect()), list(statement.params))
    return rows


def _line(row: Any, tags: list[tuple[str, str]], keys: Sequence[str]) -> list[str]:
    custom = row["custom_fields"]
    if isinstance(custom, str):  # the drivers give JSON as text
        custom = json.loads(custom)
    created = row["created_at"]
    if isinstance(created, str):  # SQLite gives back the stored text
        created = datetime.fromisoformat(created)
    return [
        _text(row["email"]),
        _text(row["first_name"] or ""),
        _text(row["last_name"] or ""),
        row["subscription_status"],
        _text(";".join(name for _, name in tags)),
        created.astimezone(UTC).isoformat(),
        *[_custom(custom.get(key)) for key in keys],
    ]


def _text(value: str) -> str:
    """Text a spreadsheet could take for a formula, made plain text (OWASP's advice)."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _custom(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # a number, never a formula: -5 stays a number
    if isinstance(value, str):
        return _text(value)
    return _text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _csv(lines: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(lines)
    return out.getvalue()
