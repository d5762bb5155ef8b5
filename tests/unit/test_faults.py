"""Which failures a background task retries, and how long it waits."""

from __future__ import annotations

import sqlite3

import asyncpg
import redis.exceptions
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from app.faults import is_transient
from app.locks import LockLost
from worker.tasks import BACKOFF_MAX_S, retry_delay


def _caused_by(cause: BaseException, outer: BaseException) -> BaseException:
    try:
        raise outer from cause
    except BaseException as exc:
        return exc


def test_transient_failures_are_retried() -> None:
    for exc in (
        ConnectionRefusedError(),
        TimeoutError(),
        DBConnectionError("gone"),
        asyncpg.DeadlockDetectedError("deadlock"),
        asyncpg.SerializationError("serialize"),
        redis.exceptions.ConnectionError("down"),
        LockLost("lost"),
        _caused_by(sqlite3.OperationalError("database is locked"), OperationalError("x")),
        _caused_by(asyncpg.ConnectionDoesNotExistError("closed"), OperationalError("x")),
    ):
        assert is_transient(exc), exc


def test_bugs_and_bad_data_are_not() -> None:
    for exc in (
        ValueError("bad"),
        KeyError("k"),
        IntegrityError("duplicate"),
        _caused_by(sqlite3.OperationalError("no such table: x"), OperationalError("x")),
    ):
        assert not is_transient(exc), exc


def test_backoff_grows_with_full_jitter_and_a_ceiling() -> None:
    for retries in range(12):
        ceiling = min(BACKOFF_MAX_S, 2 * 2**retries)
        delays = {retry_delay(retries) for _ in range(50)}
        assert all(0 <= d <= ceiling for d in delays)
    assert len({retry_delay(6) for _ in range(50)}) > 1  # jittered
