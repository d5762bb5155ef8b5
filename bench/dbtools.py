"""Statements through the application's own connection (Tortoise), so the compiled queries and
the hand-written ones go through the same driver, pool and statement cache; what the compiler
sent, captured; and EXPLAIN plans."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from common import HarnessError, literal

from app.db import connection
from app.filters.query import dialect
from app.filters.sql import Sql, render


async def rows(statement: Sql) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await connection().execute_query_dict(
        render(statement, dialect()), list(statement.params)
    )
    return result


async def scalar(statement: Sql) -> Any:
    found = await rows(statement)
    if not found:
        raise HarnessError(f"no row from {statement.text}")
    return next(iter(found[0].values()))


async def count(statement: Sql) -> int:
    return int(await scalar(statement))


@asynccontextmanager
async def captured() -> AsyncIterator[list[tuple[str, list[Any]]]]:
    """Every statement the application sends through `execute_query_dict` in the block, as
    (text, parameters): what the compiler emitted, whatever it is today."""
    client = connection()
    original = client.execute_query_dict
    seen: list[tuple[str, list[Any]]] = []

    async def recording(query: str, values: list[Any] | None = None) -> Any:
        seen.append((query, list(values or [])))
        return await original(query, values)

    client.execute_query_dict = recording  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        client.__dict__.pop("execute_query_dict", None)


async def statement_of(action: Callable[[], Awaitable[Any]], marker: str) -> tuple[str, list[Any]]:
    """The last statement `action` sent that contains `marker`."""
    async with captured() as seen:
        await action()
    matching = [entry for entry in seen if marker in entry[0]]
    if not matching:
        raise HarnessError(
            f"captured no statement containing {marker!r} ({len(seen)} statements seen)"
        )
    return matching[-1]


async def explain(text: str, params: list[Any]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite."""
    if dialect() == "postgres":
        found = await connection().execute_query_dict("EXPLAIN (ANALYZE, BUFFERS) " + text, params)
        return [str(next(iter(row.values()))) for row in found]
    found = await connection().execute_query_dict("EXPLAIN QUERY PLAN " + text, params)
    depth: dict[int, int] = {0: -1}
    lines = []
    for row in found:
        level = depth.get(int(row["parent"]), -1) + 1
        depth[int(row["id"])] = level
        lines.append("  " * level + str(row["detail"]))
    return lines


class Plans:
    """EXPLAIN output, one file per scenario and database, written beside the results."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: dict[str, list[str]] = {}

    async def add(self, file: str, title: str, text: str, params: list[Any]) -> None:
        lines = await explain(text, params)
        shown = ", ".join(literal(p, dialect()) for p in params)
        entry = f"== {title}\n{text}\n-- parameters: {shown}\n" + "\n".join(lines) + "\n"
        self.files.setdefault(file, []).append(entry)

    def write(self) -> list[Path]:
        self.directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, entries in self.files.items():
            path = self.directory / name
            path.write_text("\n".join(entries), encoding="utf-8")
            written.append(path)
        return written
