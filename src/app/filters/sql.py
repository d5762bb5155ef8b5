"""SQL fragments with bound parameters. Text never contains a value: every value travels as a
parameter, written `?` here and numbered `$n` for PostgreSQL when the statement is rendered."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

Dialect = Literal["sqlite", "postgres"]


@dataclass(frozen=True)
class Sql:
    text: str
    params: tuple[Any, ...] = ()

    def __add__(self, other: Sql) -> Sql:
        return Sql(self.text + other.text, self.params + other.params)

    def wrap(self) -> Sql:
        return Sql(f"({self.text})", self.params)


TRUE = Sql("(1 = 1)")
FALSE = Sql("(1 = 0)")


def sql(text: str, *params: Any) -> Sql:
    if text.count("?") != len(params):
        raise ValueError(f"{text!r} has {text.count('?')} placeholders for {len(params)} values")
    return Sql(text, params)


def join(separator: str, parts: Iterable[Sql]) -> Sql:
    items = list(parts)
    return Sql(separator.join(p.text for p in items), tuple(v for p in items for v in p.params))


def all_of(parts: Iterable[Sql]) -> Sql:
    items = [part for part in parts if part != TRUE]
    if not items:
        return TRUE
    return items[0] if len(items) == 1 else join(" AND ", items).wrap()


def any_of(parts: Iterable[Sql]) -> Sql:
    items = [part for part in parts if part != FALSE]
    if not items:
        return FALSE
    return items[0] if len(items) == 1 else join(" OR ", items).wrap()


def placeholders(values: Iterable[Any]) -> Sql:
    items = tuple(values)
    return Sql(", ".join("?" for _ in items), items)


def time_param(moment: datetime, dialect: Dialect) -> Any:
    moment = moment.astimezone(UTC)
    # Tortoise stores SQLite datetimes as this text, so text comparison orders correctly.
    return moment.isoformat(" ") if dialect == "sqlite" else moment


def day_param(day: date, dialect: Dialect) -> Any:
    return day.isoformat() if dialect == "sqlite" else day


def render(statement: Sql, dialect: Dialect) -> str:
    if dialect == "sqlite":
        return statement.text
    pieces = statement.text.split("?")
    out = [pieces[0]]
    for number, piece in enumerate(pieces[1:], start=1):
        out.append(f"${number}{piece}")
    return "".join(out)
