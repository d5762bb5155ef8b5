"""The Tortoise configuration and lifecycle, shared by the API, the worker and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.executor import MigrationExecutor
from tortoise.queryset import QuerySet

from app.filters.sql import Dialect, Sql, render
from app.settings import Settings

APP_LABEL = "models"
MODELS_MODULE = "app.models"
MIGRATIONS_MODULE = "app.migrations"


def _connection_config(
    url: str, statement_timeout_ms: int | None, pool_size: int = 10
) -> dict[str, Any]:
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    config: dict[str, Any] = expand_db_url(url)
    if config["engine"] == "tortoise.backends.sqlite":
        config["engine"] = "app.sqlite_backend"  # lower() that agrees with PostgreSQL
    else:
        config["credentials"]["minsize"] = 1
        config["credentials"]["maxsize"] = pool_size
        if statement_timeout_ms:
            settings = config["credentials"].setdefault("server_settings", {})
            settings["statement_timeout"] = str(statement_timeout_ms)
            # A request's statements are short: compiling them (JIT) costs more than it saves
            # (20 of 80 ms for a batch of events).
            settings["jit"] = "off"
    return config


def tortoise_config(settings: Settings, *, serving: bool = False) -> dict[str, Any]:
    """`serving`: the API's connections, where every statement has the request time limit
    (PostgreSQL); migrations, the CLI and the workers run without it."""
    timeout = settings.statement_timeout_ms if serving else None
    return {
        "connections": {
            "default": _connection_config(settings.database_url, timeout, settings.db_pool_size)
        },
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(settings: Settings, *, serving: bool = False) -> None:
    # Global fallback: the ASGI lifespan and the request tasks run in different contexts, and
    # Tortoise 1.x keeps its state in a context variable.
    await Tortoise.init(
        config=tortoise_config(settings, serving=serving), _enable_global_fallback=True
    )


async def close_db() -> None:
    await Tortoise.close_connections()


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[None]:
    """Open Tortoise for the block and always close it (an open aiosqlite thread keeps a
    process alive)."""
    await init_db(settings)
    try:
        yield
    finally:
        await close_db()


def connection() -> BaseDBAsyncClient:
    client: BaseDBAsyncClient = connections.get("default")
    return client


def is_postgres(conn: BaseDBAsyncClient | None = None) -> bool:
    return (conn or connection()).capabilities.dialect == "postgres"


def dialect() -> Dialect:
    return "postgres" if is_postgres() else "sqlite"


async def fetch(statement: Sql, conn: BaseDBAsyncClient | None = None) -> list[dict[str, Any]]:
    conn = conn or connection()
    kind: Dialect = "postgres" if is_postgres(conn) else "sqlite"
    rows: list[dict[str, Any]] = await conn.execute_query_dict(
        render(statement, kind), list(statement.params)
    )
    return rows


async def execute_counted(statement: Sql, conn: BaseDBAsyncClient | None = None) -> int:
    """Run an INSERT, UPDATE or DELETE; the rows it wrote itself (never those of the cascades
    it set off; Tortoise reads PostgreSQL's INSERT tag wrongly, and SQLite's total counts
    cascades)."""
    conn = conn or connection()
    if is_postgres(conn):
        counted = (
            Sql("WITH written AS (")
            + statement
            + Sql(" RETURNING 1) SELECT COUNT(*) AS n FROM written")
        )
        return int((await fetch(counted, conn))[0]["n"])
    await fetch(statement, conn)
    return int((await fetch(Sql("SELECT changes() AS n"), conn))[0]["n"])


async def pending_migrations() -> list[str]:
    """Names of the migrations not yet applied to the open database."""
    executor = MigrationExecutor(connection(), {APP_LABEL: tortoise_config_app()})
    plan = await executor.plan(None)
    return [
        f"{step.migration.app_label}.{step.migration.name}" for step in plan if not step.backward
    ]


def tortoise_config_app() -> dict[str, Any]:
    return {
        "models": [MODELS_MODULE],
        "default_connection": "default",
        "migrations": MIGRATIONS_MODULE,
    }


async def apply_migrations(settings: Settings) -> list[str]:
    """Apply every pending migration; returns what was applied."""
    from tortoise.migrations.api import migrate

    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    try:
        await migrate(config=tortoise_config(settings), progress=progress)
    finally:
        await close_db()
    return applied


async def bulk_insert(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert many rows in one round trip: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    conn = connection()
    if is_postgres(conn):
        async with conn.acquire_connection() as raw:
            await raw.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    placeholders = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({placeholders})'
    await conn.execute_many(sql, [list(r) for r in rows])


# The tables bulk work fills: seeding, imports.
CONTACT_TABLES = (
    "contacts",
    "contact_tags",
    "tags",
    "owned_products",
    "purchases",
    "email_events",
    "products",
)


async def analyze(tables: Sequence[str] = CONTACT_TABLES) -> None:
    """Refresh the planner's statistics after bulk work: until then (autovacuum may be off or
    late) PostgreSQL plans over tables it believes empty, and a first page can take 40 times
    longer."""
    conn = connection()
    if is_postgres(conn):
        await conn.execute_script(f"ANALYZE {', '.join(tables)}")
    else:
        await conn.execute_script("ANALYZE")


async def id_set(query: QuerySet[Any]) -> set[int]:
    """The primary keys a query selects (values_list's typing can't say they are ints)."""
    return {int(cast(int, pk)) for pk in await query.values_list("id", flat=True)}
