"""Faults: a statement past the time limit is a clear error; anything unexpected is logged
with the request id and masked."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from api.support import Api
from app.db import close_db, connection, init_db
from app.filters import query
from app.settings import Settings

COUNT = "{ contacts { totalCount } }"


@pytest.fixture
async def limited_db(db: str, postgres_server: str) -> AsyncIterator[str]:
    """The run's PostgreSQL database, opened as the API opens it, with a 200 ms limit."""
    await close_db()
    await init_db(Settings(database_url=db, statement_timeout_ms=200), serving=True)
    try:
        yield db
    finally:
        await close_db()
        await init_db(Settings(database_url=db))


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # PostgreSQL's limit
async def test_a_slow_statement_is_a_clear_error(
    limited_db: str, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = await connection().execute_query_dict("SHOW statement_timeout")
    assert rows[0]["statement_timeout"] == "200ms"

    async def slow(*args: Any, **kwargs: Any) -> int:
        await connection().execute_query("SELECT pg_sleep(1)")
        return 0

    monkeypatch.setattr(query, "count_matching", slow)
    errors = await api.errors(COUNT)
    assert errors[0]["extensions"]["code"] == "STATEMENT_TIMEOUT"
    assert "statement timeout" in errors[0]["message"]


async def test_unexpected_errors_are_masked_and_logged(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(account_id: int, tree: object, *, now: datetime) -> int:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(query, "count_matching", broken)
    with caplog.at_level(logging.ERROR, logger="app.graphql"):
        response = await api.raw(COUNT)
    body = response.json()
    assert response.status_code == 200
    error = body["errors"][0]
    request_id = response.headers["x-request-id"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert request_id in error["message"]
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None
