"""The checked-in migrations and the models agree: migrating an empty PostgreSQL database builds
exactly the tables, columns and indexes the models describe, and Tortoise's autodetector (what
`makemigrations` runs) finds nothing left to write.

Tortoise keeps its state in a context variable, with the run's open test database as a global
fallback. Everything here runs inside a TortoiseContext of its own, and initialises apps
without connection clients (as the migration API does), so the models' query builders stay
bound to the run's database."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise.cli.utils import get_tortoise_config
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.writer import MigrationWriter
from tortoise.models import Model

import app.migrations
import app.models
from app.db import apply_migrations, pending_migrations, tortoise_config
from app.models.automation import RAW_TABLES
from app.settings import Settings

MODELS: list[type[Model]] = [getattr(app.models, name) for name in app.models.__all__]
MIGRATIONS_DIR = Path(app.migrations.__file__).parent
RECORDER_TABLE = "tortoise_migrations"
# The sweep looks for due webhook deliveries of every account at once.
CROSS_ACCOUNT_INDEXES = {("webhook_deliveries", ("status", "next_attempt_at"))}

Index = tuple[str, tuple[str, ...], bool]  # table, columns in order, unique

_INDEXES_SQL = """
SELECT t.relname AS table_name, ix.indisunique AS is_unique,
       array_agg(a.attname::text ORDER BY k.ord) AS columns
FROM pg_index ix
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE n.nspname = 'public'
GROUP BY ix.indexrelid, t.relname, ix.indisunique
"""


def _checked_in_migrations() -> list[str]:
    return sorted(
        f"models.{path.stem}"
        for path in MIGRATIONS_DIR.glob("*.py")
        if re.fullmatch(r"\d{4}_\w+", path.stem)
    )


def _declared(entries: Any) -> list[tuple[str, ...]]:
    """Meta.indexes / unique_together entries as column tuples (plain tuples or Index objects)."""
    return [tuple(getattr(entry, "fields", entry)) for entry in entries]


def _expected_indexes(model: type[Model]) -> set[Index]:
    meta = model._meta
    table = meta.db_table
    expected: set[Index] = {(table, (meta.db_pk_column,), True)}
    for name, column in meta.fields_db_projection.items():
        field = meta.fields_map[name]
        if field.unique and not field.pk:
            expected.add((table, (column,), True))
    expected |= {(table, cols, True) for cols in _declared(meta.unique_together)}
    expected |= {(table, cols, False) for cols in _declared(meta.indexes)}
    return expected


@pytest.fixture
async def migrated_postgres(empty_postgres: str) -> AsyncIterator[tuple[str, list[str]]]:
    """A new PostgreSQL database migrated from empty; its URL and the migrations applied."""
    async with TortoiseContext():
        applied = await apply_migrations(Settings(database_url=empty_postgres))
    yield empty_postgres, applied


async def test_every_checked_in_migration_applies_to_an_empty_database(
    migrated_postgres: tuple[str, list[str]],
) -> None:
    url, applied = migrated_postgres

    assert applied == _checked_in_migrations()
    assert applied, "no migrations found"

    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(Settings(database_url=url)), init_connections=False)
        assert await pending_migrations() == []


async def test_the_migrated_tables_and_columns_are_the_models(
    migrated_postgres: tuple[str, list[str]],
) -> None:
    url, _ = migrated_postgres
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    columns: dict[str, dict[str, bool]] = {}
    for row in rows:
        columns.setdefault(row["table_name"], {})[row["column_name"]] = row["is_nullable"] == "YES"

    assert set(columns) == {m._meta.db_table for m in MODELS} | {RECORDER_TABLE, *RAW_TABLES}
    assert columns["segment_members"] == {"segment_id": False, "contact_id": False}
    assert columns["segment_snapshot_members"] == {"snapshot_id": False, "contact_id": False}
    for model in MODELS:
        meta = model._meta
        expected = {
            column: meta.fields_map[name].null for name, column in meta.fields_db_projection.items()
        }
        assert columns[meta.db_table] == expected, model.__name__


async def test_the_migrated_indexes_are_the_declared_ones(
    migrated_postgres: tuple[str, list[str]],
) -> None:
    url, _ = migrated_postgres
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(_INDEXES_SQL)
    finally:
        await conn.close()
    found = {
        (row["table_name"], tuple(row["columns"]), row["is_unique"])
        for row in rows
        if row["table_name"] not in {RECORDER_TABLE, *RAW_TABLES}
    }

    expected: set[Index] = set().union(*(_expected_indexes(model) for model in MODELS))
    assert found == expected
    # Every index a model declares serves one account's queries, but for the one-column indexes
    # on a foreign key that ON DELETE CASCADE looks rows up by (it knows no account).
    for model in MODELS:
        foreign_keys = {
            (field.source_field,) for field in model._meta.fields_map.values() if field.reference
        }
        for cols in _declared(model._meta.unique_together) + _declared(model._meta.indexes):
            allowed = cols in foreign_keys or (model._meta.db_table, cols) in CROSS_ACCOUNT_INDEXES
            assert cols[0] == "account_id" or allowed, (model.__name__, cols)


# --- models and migrations agree ---------------------------------------------------------------


async def _detected_changes(migrations_module: str | None = None) -> list[MigrationWriter]:
    """What `python -m tortoise -c app.tortoise_conf.TORTOISE_ORM makemigrations` would write
    (tortoise/cli/cli.py), without writing it."""
    config = get_tortoise_config("app.tortoise_conf.TORTOISE_ORM")
    apps_dict = {label: app_config.to_dict() for label, app_config in config.apps.items()}
    if migrations_module is not None:
        for app_config in apps_dict.values():
            app_config["migrations"] = migrations_module
    config_dict = config.to_dict()
    config_dict["apps"] = apps_dict
    async with TortoiseContext() as ctx:
        await ctx.init(config=config_dict, init_connections=False)
        assert ctx.apps is not None
        return await MigrationAutodetector(ctx.apps, apps_dict).changes()


def _describe(writers: list[MigrationWriter]) -> list[str]:
    return [
        f"{w.app_label}.{w.name}: {type(op).__name__} {getattr(op, 'name', '')}".rstrip()
        for w in writers
        for op in w.operations
    ]


async def test_the_models_need_no_new_migration() -> None:
    writers = await _detected_changes()

    assert writers == [], "models changed without a migration:\n" + "\n".join(_describe(writers))


async def test_the_autodetector_sees_models_missing_from_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check above can fail: against no migrations, every model is a change.
    package = tmp_path / "no_migrations_yet"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    writers = await _detected_changes("no_migrations_yet")

    [writer] = writers
    created = {getattr(op, "name", None) for op in writer.operations}
    assert {model.__name__ for model in MODELS} <= created
    assert [p.name for p in package.glob("*.py")] == ["__init__.py"]  # nothing written
