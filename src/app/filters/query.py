"""Run compiled filters: count, member ids, keyset pages, "does contact X match", and the
truth of every node for one contact. Each is one SQL statement for the account (loading the
definitions of referenced segments aside)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from app.db import connection, is_postgres
from app.enums import DefaultSegment
from app.filters import ast, codec
from app.filters.compile import Compiler, SegmentFilters
from app.filters.defaults import default_filter
from app.filters.describe import describe
from app.filters.setcount import set_count, set_ids
from app.filters.sql import TRUE, Dialect, Sql, render, sql
from app.models import Segment, Tag
from app.text import fold

OrderField = Literal["created_at", "email", "last_opened_at", "total_spent_cents"]
_ORDER_COLUMNS: dict[OrderField, str] = {
    "created_at": "c.created_at",
    "email": "c.email_lower",
    "last_opened_at": "c.last_opened_at",
    "total_spent_cents": "c.total_spent_cents",
}
_NULLABLE = {"last_opened_at"}


@dataclass(frozen=True)
class NodeTruth:
    path: tuple[str, ...]
    description: str
    matches: bool


@dataclass(frozen=True)
class SegmentDefinitions:
    filters: SegmentFilters
    names: dict[int, str]


def dialect() -> Dialect:
    return "postgres" if is_postgres() else "sqlite"


def references(tree: ast.Filter | None) -> bool:
    return any(isinstance(node, ast.SegmentIn) for _, node in walk(tree)) if tree else False


def walk(
    tree: ast.Filter, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], ast.Filter]]:
    """Every node with its path in the input shape, in pre-order (root first)."""
    yield path, tree
    if isinstance(tree, ast.And | ast.Or):
        key = "and" if isinstance(tree, ast.And) else "or"
        for index, child in enumerate(tree.children):
            yield from walk(child, path + (key, str(index)))
    elif isinstance(tree, ast.Not):
        yield from walk(tree.child, path + ("not",))


async def segment_definitions(account_id: int) -> SegmentDefinitions:
    """Every segment of the account as a filter (None: every contact), for inlining."""
    rows = await Segment.filter(account_id=account_id).values_list(
        "id", "name", "default_key", "filter_json"
    )
    filters: dict[int, ast.Filter | None] = {}
    names: dict[int, str] = {}
    for pk, name, default_key, filter_json in rows:
        names[pk] = name
        if default_key is not None:
            filters[pk] = default_filter(DefaultSegment(default_key))
        else:
            filters[pk] = codec.decode(filter_json) if filter_json else None
    return SegmentDefinitions(filters, names)


def _tag_names(trees: Iterable[ast.Filter | None]) -> set[str]:
    names: set[str] = set()
    for tree in trees:
        for _, node in walk(tree) if tree is not None else ():
            if isinstance(node, ast.TagMatch):
                for group in (node.has_any, node.has_all, node.has_none):
                    names.update(fold(name) for name in group or ())
    return names


async def tag_ids(account_id: int, trees: Iterable[ast.Filter | None]) -> dict[str, int]:
    """The account's ids of the tags these filters name, by folded name (see Compiler.tags)."""
    names = _tag_names(trees)
    if not names:
        return {}
    found = await Tag.filter(account_id=account_id, name_lower__in=sorted(names)).values_list(
        "name_lower", "id"
    )
    return {str(name): int(pk) for name, pk in found}


async def compiler_for(
    account_id: int,
    now: datetime,
    segments: SegmentFilters,
    trees: Iterable[ast.Filter | None],
    *,
    probe: bool,
) -> Compiler:
    """A compiler for these filters and the segments they may reference."""
    tags = await tag_ids(account_id, [*trees, *segments.values()])
    return Compiler(account_id, now, dialect(), segments, probe=probe, tags=tags)


async def _compiler(
    account_id: int, tree: ast.Filter | None, now: datetime, *, probe: bool
) -> Compiler:
    segments: SegmentFilters = {}
    if references(tree):
        segments = (await segment_definitions(account_id)).filters
    return await compiler_for(account_id, now, segments, [tree], probe=probe)


async def _predicate(
    account_id: int, tree: ast.Filter | None, now: datetime, *, probe: bool
) -> tuple[Sql, Compiler]:
    compiler = await _compiler(account_id, tree, now, probe=probe)
    return (compiler.predicate(tree) if tree is not None else TRUE), compiler


async def _rows(statement: Sql, compiler: Compiler) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await connection().execute_query_dict(
        render(statement, compiler.dialect), list(statement.params)
    )
    return rows


def _scope(account_id: int) -> Sql:
    return sql(" FROM contacts c WHERE c.account_id = ? AND ", account_id)


async def count_matching(account_id: int, tree: ast.Filter | None, *, now: datetime) -> int:
    compiler = await _compiler(account_id, tree, now, probe=False)
    statement = set_count(compiler, tree) if tree is not None else None
    if statement is None:
        predicate = compiler.predicate(tree) if tree is not None else TRUE
        statement = Sql("SELECT COUNT(*) AS n") + _scope(account_id) + predicate
    rows = await _rows(statement, compiler)
    return int(rows[0]["n"])


async def members_select(
    account_id: int, tree: ast.Filter | None, *, now: datetime, distinct: bool = True
) -> Sql:
    """`SELECT ... AS id`: the ids of the contacts matching `tree` (each once when `distinct`;
    a diff does without, and saves hashing them), for statements that keep them in the
    database (membership diffs, snapshots). From the related rows alone where the filter has
    a set form (a tag's links, not every contact)."""
    compiler = await _compiler(account_id, tree, now, probe=False)
    ids = set_ids(compiler, tree, distinct=distinct) if tree is not None else None
    if ids is not None:
        return Sql("SELECT s.contact_id AS id FROM (") + ids + Sql(") s")
    predicate = compiler.predicate(tree) if tree is not None else TRUE
    return Sql("SELECT c.id AS id") + _scope(account_id) + predicate


async def matching_ids(account_id: int, tree: ast.Filter | None, *, now: datetime) -> list[int]:
    predicate, compiler = await _predicate(account_id, tree, now, probe=False)
    statement = Sql("SELECT c.id") + _scope(account_id) + predicate + Sql(" ORDER BY c.id")
    return [int(row["id"]) for row in await _rows(statement, compiler)]


async def contact_matches(
    account_id: int, tree: ast.Filter | None, contact_id: int, *, now: datetime
) -> bool:
    predicate, compiler = await _predicate(account_id, tree, now, probe=True)
    statement = (
        Sql("SELECT COUNT(*) AS n")
        + _scope(account_id)
        + sql("c.id = ? AND ", contact_id)
        + predicate
    )
    return int((await _rows(statement, compiler))[0]["n"]) > 0


async def explain(
    account_id: int, tree: ast.Filter, contact_id: int, *, now: datetime
) -> list[NodeTruth] | None:
    """The truth of every node for one contact, in one query; None if the account has no such
    contact."""
    definitions = (
        await segment_definitions(account_id) if references(tree) else SegmentDefinitions({}, {})
    )
    # One contact: tag names are looked up in the statement (the planner's estimates matter
    # little for one row, and it saves a query).
    compiler = Compiler(account_id, now, dialect(), definitions.filters, probe=True)
    nodes = list(walk(tree))
    columns = [
        Sql("CASE WHEN ") + compiler.predicate(node) + Sql(f" THEN 1 ELSE 0 END AS n{index}")
        for index, (_, node) in enumerate(nodes)
    ]
    statement = Sql("SELECT ")
    for index, column in enumerate(columns):
        statement = statement + (Sql(", ") if index else Sql("")) + column
    statement = statement + _scope(account_id) + sql("c.id = ?", contact_id)
    rows = await _rows(statement, compiler)
    if not rows:
        return None
    return [
        NodeTruth(path, describe(node, definitions.names), bool(rows[0][f"n{index}"]))
        for index, (path, node) in enumerate(nodes)
    ]


@dataclass(frozen=True)
class Order:
    field: OrderField = "created_at"
    descending: bool = False


@dataclass(frozen=True)
class Keyset:
    """A position in an order: the sort value (None for a missing one) and the contact id."""

    value: Any
    id: int


def _after(order: Order, position: Keyset, backward: bool) -> Sql:
    """Rows strictly after `position` in the order (before it when paging backward). Missing
    values sort last ascending and first descending, which is how the indexes are laid out."""
    column = _ORDER_COLUMNS[order.field]
    forward_is_up = order.descending == backward  # are we moving towards larger values?
    op = ">" if forward_is_up else "<"
    nullable = order.field in _NULLABLE
    if position.value is None:
        if forward_is_up:  # among the NULLs, which come last when going up
            return sql(f"({column} IS NULL AND c.id {op} ?)", position.id)
        return sql(f"(({column} IS NULL AND c.id {op} ?) OR {column} IS NOT NULL)", position.id)
    after = sql(f"({column}, c.id) {op} (?, ?)", position.value, position.id)
    if nullable and forward_is_up:
        return Sql("(") + after + Sql(f" OR {column} IS NULL)")
    return after


async def page(
    account_id: int,
    tree: ast.Filter | None,
    *,
    now: datetime,
    order: Order,
    limit: int,
    after: Keyset | None = None,
    backward: bool = False,
) -> list[dict[str, Any]]:
    """Up to `limit` contact rows (`id` and `sort_value`) following `after` in `order`
    (preceding it, nearest first, when `backward`). Same cost on page 1 and page 10 000."""
    # Probed: a page stops at `limit` contacts, so it tests few of them.
    predicate, compiler = await _predicate(account_id, tree, now, probe=True)
    column = _ORDER_COLUMNS[order.field]
    statement = Sql(f"SELECT c.id, {column} AS sort_value") + _scope(account_id) + predicate
    if after is not None:
        if isinstance(after.value, datetime):
            after = Keyset(compiler.time_param(after.value), after.id)
        statement = statement + Sql(" AND ") + _after(order, after, backward)
    descending = order.descending != backward
    direction = "DESC" if descending else "ASC"
    nulls = "NULLS FIRST" if descending else "NULLS LAST"
    statement = statement + sql(
        f" ORDER BY {column} {direction} {nulls}, c.id {direction} LIMIT ?", limit
    )
    return await _rows(statement, compiler)


async def memberships(
    account_id: int,
    definitions: SegmentFilters,
    contact_ids: list[int],
    *,
    now: datetime,
) -> dict[int, list[int]]:
    """For each contact, the segments (of `definitions`) that hold it: one query for a page."""
    if not contact_ids or not definitions:
        return {cid: [] for cid in contact_ids}
    compiler = Compiler(account_id, now, dialect(), definitions, probe=True)  # as in explain
    segment_ids = sorted(definitions)
    statement = Sql("SELECT c.id")
    for index, pk in enumerate(segment_ids):
        tree = definitions[pk]
        predicate = compiler.predicate(tree) if tree is not None else TRUE
        statement = (
            statement + Sql(", CASE WHEN ") + predicate + Sql(f" THEN 1 ELSE 0 END AS s{index}")
        )
    statement = (
        statement
        + _scope(account_id)
        + Sql("c.id IN (")
        + Sql(", ".join("?" for _ in contact_ids), tuple(contact_ids))
        + Sql(")")
    )
    found: dict[int, list[int]] = {cid: [] for cid in contact_ids}
    for row in await _rows(statement, compiler):
        found[int(row["id"])] = [pk for i, pk in enumerate(segment_ids) if row[f"s{i}"]]
    return found
