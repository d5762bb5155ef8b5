"""A GraphQL client on the ASGI app, acting for one account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import httpx

from app.models import Account
from app.services.tasks import InProcessQueue, queue


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
    await cast(InProcessQueue, queue()).drain()
