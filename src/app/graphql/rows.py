"""Rows for display, read without building ORM objects: one SELECT of the columns a type needs,
each value converted to Python exactly as Tortoise converts it when it builds a model (the
driver's own value, the field's type, or the field's `to_python_value`), so what a resolver
sees is what it would read from the model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tortoise.models import Model

from app.db import connection, dialect
from app.filters.sql import Sql, render


def _typed(kind: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return value if value is None else kind(value)

    return convert


def converters(
    model: type[Model], columns: Sequence[str]
) -> list[tuple[str, Callable[[Any], Any]]]:
    """The columns the driver doesn't already return as the model holds them, each with the
    function `Model._init_from_db` applies to it. Read from the model's metadata on each call:
    it depends on the database Tortoise was opened on."""
    meta = model._meta
    by_column: dict[str, Callable[[Any], Any]] = {}
    for key, _, field in meta.db_default_fields:
        by_column[key] = _typed(field.field_type)
    for key, _, field in meta.db_complex_fields:
        by_column[key] = field.to_python_value
    return [(column, by_column[column]) for column in columns if column in by_column]


async def select_columns(
    model: type[Model], columns: Sequence[str], where: Sql
) -> list[dict[str, Any]]:
    """`SELECT columns FROM <model's table> WHERE where`, as dicts of converted values."""
    statement = Sql(f"SELECT {', '.join(columns)} FROM {model._meta.db_table} WHERE ") + where
    rows: list[dict[str, Any]] = await connection().execute_query_dict(
        render(statement, dialect()), list(statement.params)
    )
    for column, to_python in converters(model, columns):
        for row in rows:
            row[column] = to_python(row[column])
    return rows
