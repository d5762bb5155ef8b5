"""What the scenarios of bench/run.py share: the harness error, timing, tables and targets."""

from __future__ import annotations

import os
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from app.filters.sql import Dialect, Sql

ADMIN_URL = os.environ.get(
    "SEGMENTS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


@asynccontextmanager
async def bench_database(keep: str | None) -> AsyncIterator[str]:
    """The URL to generate into: `keep` (created by the caller, reused across runs), or a
    scratch database created now and dropped afterwards."""
    if keep is not None:
        yield keep
        return
    name = f"segments_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        yield f"{ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class HarnessError(RuntimeError):
    """The benchmark itself went wrong (a count disagrees, a server answers wrongly): the run
    fails, unlike a missed target."""


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])

    def markdown(self) -> str:
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        numeric = [
            all(_numeric(row[i]) for row in self.rows) and bool(self.rows)
            for i in range(len(self.columns))
        ]

        def line(cells: list[str]) -> str:
            shown = [
                cell.rjust(w) if num else cell.ljust(w)
                for cell, w, num in zip(cells, widths, numeric, strict=True)
            ]
            return "| " + " | ".join(shown) + " |"

        rule = "| " + " | ".join("-" * w for w in widths) + " |"
        out = [f"### {self.title}", "", line(self.columns), rule]
        out += [line(row) for row in self.rows]
        if self.notes:
            out += [""] + self.notes
        return "\n".join(out)


def _numeric(cell: str) -> bool:
    text = cell.replace(",", "").replace("x", "").strip()
    try:
        float(text)
    except ValueError:
        return cell in ("", "-")
    return True


@dataclass
class Target:
    scenario: int
    label: str
    met: bool | None  # None: not measured (skipped)
    value: str

    def line(self) -> str:
        state = "skipped" if self.met is None else ("met" if self.met else "MISSED")
        return f"- **{state}**: {self.label}: {self.value}"


@dataclass
class Report:
    """Everything a run measured, in the order measured."""

    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Shown in full in RESULTS.md: the filter and the hand-written forms of each shape.
    sql: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)

    def table(self, title: str, *columns: str) -> Table:
        table = Table(title, list(columns))
        self.tables.append(table)
        return table

    def target(self, scenario: int, label: str, met: bool | None, value: str) -> None:
        self.targets.append(Target(scenario, label, met, value))

    def ordered(self) -> tuple[list[Table], list[Target]]:
        """Tables and targets by scenario number (stable: as measured within one)."""
        tables = sorted(self.tables, key=lambda t: int(t.title.split(".")[0]))
        return tables, sorted(self.targets, key=lambda t: t.scenario)


Action = Callable[[], Awaitable[Any]]


@dataclass
class Timing:
    seconds: list[float]
    result: Any  # what the warm-up run returned

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


async def round_robin(actions: dict[str, Action], runs: int) -> dict[str, Timing]:
    """One warm-up of each action, then `runs` rounds in which each action runs once (the
    order rotating every round), so a noisy neighbour slows every action alike."""
    results: dict[str, Any] = {}
    for name, action in actions.items():
        results[name] = await action()
    seconds: dict[str, list[float]] = {name: [] for name in actions}
    names = list(actions)
    for round_no in range(runs):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            await actions[name]()
            seconds[name].append(time.perf_counter() - started)
    return {name: Timing(seconds[name], results[name]) for name in actions}


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def ratio(value: float) -> str:
    return f"{value:.2f}"


def literal(value: Any, dialect: Dialect) -> str:
    """A parameter written into the SQL text, for showing a statement (they run bound)."""
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if dialect == "postgres" else str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        if dialect == "postgres":
            return f"'{value.astimezone(UTC):%Y-%m-%d %H:%M:%S}+00'::timestamptz"
        return f"'{value.isoformat(' ')}'"
    return "'" + str(value).replace("'", "''") + "'"


def inline(statement: Sql, dialect: Dialect) -> str:
    """The statement with its parameters written in, for reading."""
    pieces = statement.text.split("?")
    if len(pieces) != len(statement.params) + 1:
        raise HarnessError(f"{statement.text!r} does not match its parameters")
    out = [pieces[0]]
    for value, piece in zip(statement.params, pieces[1:], strict=True):
        out.append(literal(value, dialect) + piece)
    return "".join(out)


def shown_sql(text: str) -> str:
    """A statement broken before its main clauses, so a Markdown block stays readable."""
    for word in (" FROM ", " WHERE ", " GROUP BY ", " HAVING ", " UNION ", " INTERSECT ",
                 " EXCEPT ", " AND EXISTS", " AND NOT EXISTS", " OR EXISTS", " JOIN ",
                 " ORDER BY "):  # fmt: skip
        text = text.replace(word, "\n  " + word.lstrip())
    return text
