"""Counting a filter made only of related-row conditions without reading the contacts: set
algebra over the sets of contact ids (app.filters.rowsets). AND is an INTERSECT (less an EXCEPT of
its negative parts), OR a UNION, and a filter that holds for the contacts *not* in a set counts as
the account's contacts less that set.

This rests on what every write path keeps: a tag link, an owned product, a purchase or an event
of an account belongs to a contact of that account. A filter that tests a contact's own columns
has no set form: the count reads the contacts. Where a tag or product narrows an AND that also
counts rows, the narrowing part's contacts are probed for the rest (probing a few contacts
beats reading every row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from app.filters import ast
from app.filters.compile import Compiler
from app.filters.errors import FilterError
from app.filters.rowsets import RowSet
from app.filters.sql import Dialect, Sql, all_of, sql


@dataclass(frozen=True)
class Ids:
    select: Sql  # SELECT of contact ids, column `contact_id`
    distinct: bool  # no id twice


Side = Callable[[Compiler, ast.Filter], "Ids | None"]


def set_count(compiler: Compiler, tree: ast.Filter) -> Sql | None:
    """`SELECT ... AS n`: the number of contacts matching `tree`, or None without a set form."""
    found = _positive(compiler, tree)
    if found is not None:
        return Sql("SELECT ") + _count(found)
    missing = _negative(compiler, tree)
    if missing is None:
        return None
    everyone = sql(
        "SELECT (SELECT COUNT(*) FROM contacts c WHERE c.account_id = ?)", compiler.account_id
    )
    return everyone + Sql(" - (SELECT ") + _count(missing) + Sql(") AS n")


def set_ids(compiler: Compiler, tree: ast.Filter, *, distinct: bool = True) -> Sql | None:
    """`SELECT contact_id ...`: the matching contacts' ids (each once when `distinct`), read
    from the sets alone, or None without a set form."""
    found = _positive(compiler, tree)
    if found is None:
        return None
    if found.distinct or not distinct:
        return found.select
    return Sql("SELECT DISTINCT ids.contact_id FROM (") + found.select + Sql(") ids")


def _positive(compiler: Compiler, node: ast.Filter) -> Ids | None:
    """The ids of the contacts the node holds for."""
    match node:
        case ast.And(children):
            return _both(compiler, children)
        case ast.Or(children):
            parts = [_positive(compiler, child) for child in children]
            return None if None in parts else _combine("UNION", parts)
        case ast.Not(child):
            return _negative(compiler, child)
        case ast.SegmentIn(segment):
            return _inlined(compiler, segment, _positive)
    sets = compiler.rowsets(node)
    if not isinstance(sets, list):
        return None
    return _both_sets(sets, compiler.dialect)


def _negative(compiler: Compiler, node: ast.Filter) -> Ids | None:
    """The ids of the contacts the node does *not* hold for."""
    match node:
        case ast.And(children):  # not (a and b) = not a or not b
            parts = [_negative(compiler, child) for child in children]
            return None if None in parts else _combine("UNION", parts)
        case ast.Or(children):  # not (a or b) = not a and not b
            parts = [_negative(compiler, child) for child in children]
            return None if None in parts else _combine("INTERSECT", parts)
        case ast.Not(child):
            return _positive(compiler, child)
        case ast.SegmentIn(segment):
            return _inlined(compiler, segment, _negative)
    sets = compiler.rowsets(node)
    if not isinstance(sets, list) or len(sets) != 1 or not sets[0].negated:
        return None
    return Ids(sets[0].select(), distinct=sets[0].distinct)


def _both(compiler: Compiler, children: tuple[ast.Filter, ...]) -> Ids | None:
    if _narrowed_counting(compiler, children):
        return _probed_within(compiler, children)
    positive: list[Ids] = []
    negative: list[Ids] = []
    for child in children:
        found = _positive(compiler, child)
        if found is not None:
            positive.append(found)
            continue
        missing = _negative(compiler, child)
        if missing is None:
            return None
        negative.append(missing)
    return _less(positive, negative, compiler.dialect)


def _probed_within(compiler: Compiler, children: tuple[ast.Filter, ...]) -> Ids | None:
    """The contacts of the narrowing part (a tag, a product), each probed for the rest: the
    few contacts' rows are read, not every row of the account, and not the contacts table.
    The narrowing ids are named `c.id`, which is all the probes read of a contact."""
    if any(_positive(compiler, c) is None and _negative(compiler, c) is None for c in children):
        return None  # a condition on the contact's own columns: the predicate's work
    first = next(child for child in children if compiler.narrows(child))
    narrowing = _positive(compiler, first)
    if narrowing is None:
        return None
    probe = replace(compiler, probe=True)
    rest = all_of(probe.predicate(child) for child in children if child is not first)
    return Ids(
        Sql("SELECT c.id AS contact_id FROM (SELECT DISTINCT y.contact_id AS id FROM (")
        + narrowing.select
        + Sql(") y) c WHERE ")
        + rest,
        distinct=True,
    )


def _both_sets(sets: list[RowSet], dialect: Dialect) -> Ids | None:
    positive = [Ids(s.select(), s.distinct) for s in sets if not s.negated]
    negative = [Ids(s.select(), s.distinct) for s in sets if s.negated]
    return _less(positive, negative, dialect)


def _less(positive: list[Ids], negative: list[Ids], dialect: Dialect) -> Ids | None:
    """In every positive set and in no negative one; None without a positive set. PostgreSQL
    drops the negative ones with an anti-join, which probes a hash of them (an EXCEPT sorts
    both sides); SQLite's EXCEPT is as quick."""
    if not positive:
        return None
    kept = _combine("INTERSECT", positive)
    if not negative:
        return kept
    dropped = _combine("UNION", negative)
    if dialect == "sqlite":
        return _combine("EXCEPT", [kept, dropped])
    return Ids(
        Sql("SELECT k.contact_id FROM (")
        + kept.select
        + Sql(") k WHERE NOT EXISTS (SELECT 1 FROM (")
        + dropped.select
        + Sql(") d WHERE d.contact_id = k.contact_id)"),
        kept.distinct,
    )


def _narrowed_counting(compiler: Compiler, children: tuple[ast.Filter, ...]) -> bool:
    """A tag or product narrows this AND, and another part counts or sums rows: probing the
    few contacts (the predicate) beats grouping all the rows."""
    grouped = any(
        isinstance(sets, list) and any(s.having is not None for s in sets)
        for sets in (compiler.rowsets(child) for child in children)
    )
    return grouped and any(compiler.narrows(child) for child in children)


def _inlined(compiler: Compiler, segment: int, side: Side) -> Ids | None:
    try:
        inner, tree = compiler.inline(segment)
    except FilterError:
        return None  # the predicate reports unknown and cyclic references
    return None if tree is None else side(inner, tree)


def _combine(operator: str, parts: Sequence[Ids | None]) -> Ids:
    items = [part for part in parts if part is not None]
    if len(items) == 1:
        return items[0]
    # Each operand its own subquery: SQLite allows no parentheses in a compound SELECT and
    # reads its operators left to right.
    operands = [_operand(part, index) for index, part in enumerate(items)]
    text = f" {operator} ".join(o.text for o in operands)
    return Ids(Sql(text, tuple(p for o in operands for p in o.params)), distinct=True)


def _operand(part: Ids, index: int) -> Sql:
    return Sql(f"SELECT u{index}.contact_id FROM (") + part.select + Sql(f") u{index}")


def _count(ids: Ids) -> Sql:
    """`COUNT(...) AS n FROM (ids) x`: distinct ids counted once. COUNT(DISTINCT) sorts, which
    spills gracefully; a hashed DISTINCT of a large set outgrows work_mem and spills badly."""
    counted = "COUNT(*)" if ids.distinct else "COUNT(DISTINCT x.contact_id)"
    return Sql(f"{counted} AS n FROM (") + ids.select + Sql(") x")
