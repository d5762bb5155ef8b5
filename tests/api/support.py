"""A GraphQL client on the ASGI app, acting for one account."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import httpx

from app.models import Account
from app.services.tasks import finish_pending


@dataclass
class Api:
    client: httpx.AsyncClient
    account: Account
    token: str

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
        )

    async def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a request that must succeed without top-level errors."""
        response = await self.raw(query, variables)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return cast(dict[str, Any], body["data"])

    async def errors(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        body = (await self.raw(query, variables)).json()
        assert body.get("errors"), body
        return cast(list[dict[str, Any]], body["errors"])


async def settle() -> None:
    """Let the in-process background tasks (counts, jobs) finish."""
    await finish_pending()


class QueryLog(logging.Handler):
    """Every SQL statement Tortoise sends, as its db_client logger reports it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        statement = record.args[0] if isinstance(record.args, tuple) and record.args else record.msg
        self.statements.append(str(statement))


@contextmanager
def queries() -> Iterator[QueryLog]:
    logger = logging.getLogger("tortoise.db_client")
    handler, level = QueryLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
