"""Test databases: one SQLite file and one PostgreSQL database per run, created, migrated and
dropped here. Tests isolate themselves by working in an account of their own."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE

from app.db import apply_migrations, close_db, init_db
from app.models import Account
from app.services.accounts import create_account
from app.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "SEGMENTS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SEGMENTS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# CI sets this: a missing PostgreSQL or Redis is then a failure, not a skip.
REQUIRE_SERVICES = os.environ.get("SEGMENTS_REQUIRE_SERVICES") == "1"


def service_missing(what: str, why: object) -> None:
    message = f"{what} is not reachable ({why})"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and SEGMENTS_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The admin URL of a reachable PostgreSQL server (or skip/fail)."""
    probe(POSTGRES_ADMIN_URL, 5432, "PostgreSQL")
    yield POSTGRES_ADMIN_URL


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    probe(REDIS_URL, 6379, "Redis")
    yield REDIS_URL


def probe(url: str, default_port: int, what: str) -> None:
    parsed = urlsplit(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 3
        ):
            pass
    except OSError as exc:
        service_missing(what, exc)


async def create_postgres_database(admin_url: str, prefix: str = "segments_test") -> str:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(admin_url, name)


async def drop_postgres_database(admin_url: str, url: str) -> None:
    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated database of each kind, used for the whole run."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        url = f"sqlite://{path}"
        await apply_migrations(Settings(database_url=url))
        yield url
        return
    admin_url = request.getfixturevalue("postgres_server")
    url = await create_postgres_database(admin_url)
    try:
        await apply_migrations(Settings(database_url=url))
        yield url
    finally:
        await close_db()
        await drop_postgres_database(admin_url, url)


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[str]:
    """Tortoise opened on the run's database (SQLite and PostgreSQL in turn)."""
    # Tortoise caches generated INSERTs per connection name; both databases use "default".
    EXECUTOR_CACHE.clear()
    await init_db(Settings(database_url=database_url))
    try:
        yield database_url
    finally:
        await close_db()


@pytest.fixture
async def account(db: str) -> Account:
    """A fresh account per test: tests never see each other's data."""
    created = await create_account(f"Test account {secrets.token_hex(3)}")
    return created.account


@pytest.fixture
def is_postgres(db: str) -> bool:
    return db.startswith("postgres")


@pytest.fixture
async def empty_postgres(postgres_server: str) -> AsyncIterator[str]:
    """The URL of a new, empty (unmigrated) PostgreSQL database, dropped after the test."""
    url = await create_postgres_database(postgres_server, "segments_empty")
    try:
        yield url
    finally:
        await drop_postgres_database(postgres_server, url)
