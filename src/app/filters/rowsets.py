"""Conditions on a contact's related rows (tags, products, purchases, events) as sets of contact
ids, and the SQL forms that test a contact against them.

A set is `SELECT <alias>.contact_id FROM ... WHERE ...`, grouped per contact when the condition
counts or sums the rows. It is tested in one of two ways, and which one wins depends on how many
contacts are being tested:

- read once, as a set (`c.id IN (set)`, or on PostgreSQL an EXISTS over the set that the planner
  turns into a hash semi- or anti-join): the cost of one pass over the qualifying rows, whatever
  the number of contacts. This is how a segment is counted.
- probed per contact (a correlated EXISTS; "at least N" as `EXISTS (... LIMIT 1 OFFSET N-1)`,
  which stops at the Nth row): the cost of one index probe per contact tested. This is how a
  page, an explanation or a handful of contacts are tested, and how a count is tested once a
  tag or product condition in the same AND has narrowed the contacts to a few.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.filters.sql import Dialect, Sql


@dataclass(frozen=True)
class RowSet:
    alias: str
    source: Sql  # " FROM ... WHERE ..." over the rows, without a GROUP BY
    having: Sql | None = None  # when grouped: the condition on the contact's rows
    negated: bool = False  # the condition holds for the contacts *not* in the set
    narrows: bool = False  # usually a small part of a list (a tag, a product)
    probe: Sql | None = None  # the whole condition probed per contact, when not plain EXISTS
    unique: bool = False  # ungrouped, yet a contact at most once (one tag, one product)

    @property
    def distinct(self) -> bool:
        """No contact id twice in `select()`."""
        return self.having is not None or self.unique

    def select(self) -> Sql:
        """The set's contact ids (each once when `distinct`)."""
        ids = Sql(f"SELECT {self.alias}.contact_id") + self.source
        if self.having is None:
            return ids
        return ids + Sql(f" GROUP BY {self.alias}.contact_id HAVING ") + self.having

    def correlated(self) -> Sql:
        """`SELECT 1 FROM ... WHERE ...` of the current contact's rows."""
        return Sql("SELECT 1") + self.source + Sql(f" AND {self.alias}.contact_id = c.id")


def exists(subquery: Sql) -> Sql:
    return Sql("EXISTS (") + subquery + Sql(")")


def negate(test: Sql) -> Sql:
    return Sql("NOT ") + test.wrap()


def nth_row_exists(rows: RowSet, n: int) -> Sql:
    """The contact has at least `n` (>= 1) rows: stops at the nth."""
    offset = Sql(f" LIMIT 1 OFFSET {n - 1}") if n > 1 else Sql("")
    return exists(rows.correlated() + offset)


def in_set(select: Sql, dialect: Dialect) -> Sql:
    """The contact is in the set, read once. PostgreSQL: an EXISTS over it, which becomes a
    semi-join (anti-join under NOT) where it can, and elsewhere lets the planner choose between
    hashing the set and probing it per contact; an IN would be hashed or rescanned per row.
    SQLite: IN, which it builds once into a temporary index."""
    if dialect == "postgres":
        return exists(Sql("SELECT 1 FROM (") + select + Sql(") s WHERE s.contact_id = c.id"))
    return Sql("c.id IN (") + select + Sql(")")


def test(rows: RowSet, dialect: Dialect, *, probe: bool) -> Sql:
    """The condition for `contacts c`, probed per contact or read as a set."""
    if probe and rows.probe is not None:
        return rows.probe
    if rows.having is None and (probe or dialect == "postgres"):
        found = exists(rows.correlated())  # PostgreSQL plans both ways from this one
    else:
        found = in_set(rows.select(), dialect)
    return negate(found) if rows.negated else found


def union_test(sets: list[RowSet], dialect: Dialect) -> Sql:
    """In any of these (positive) sets: one read of their union."""
    union = Sql(" UNION ALL ").text.join(s.select().text for s in sets)
    params = tuple(p for s in sets for p in s.select().params)
    return in_set(Sql(union, params), dialect)
