"""Which failures are worth trying again: a database or Redis that went away for a moment, a
deadlock or serialization failure (PostgreSQL cancels one side; the retry goes through), a
busy SQLite file. A background task that fails this way is retried with backoff; any other
failure is a bug or bad data, and retrying it would only repeat it."""

from __future__ import annotations

import sqlite3

import asyncpg
import redis.exceptions

from app.locks import LockLost

_TRANSIENT: tuple[type[BaseException], ...] = (
    ConnectionError,  # includes Tortoise's DBConnectionError and refused connections
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # the connection closed under us
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    LockLost,
)


def is_transient(exc: BaseException) -> bool:
    """True when `exc`, or what caused it, is a failure that a later try may not meet."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _TRANSIENT):
            return True
        if isinstance(current, sqlite3.OperationalError) and "locked" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False
