"""The HTTP surface through the ASGI app: authentication, viewer, health and readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from app.main import create_app
from app.services.accounts import create_account
from app.settings import Settings

VIEWER = {"query": "{ viewer { id name settings { inactivityDays softBounceThreshold } } }"}


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # The `db` fixture has opened Tortoise; the app's lifespan is not run here.
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def client(db: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(Settings(database_url=db)):
        yield c


async def test_viewer_answers_with_the_tokens_account(client: httpx.AsyncClient) -> None:
    created = await create_account("Viewer Academy")
    response = await client.post(
        "/graphql", json=VIEWER, headers={"Authorization": f"Bearer {created.token}"}
    )
    assert response.status_code == 200
    viewer = response.json()["data"]["viewer"]
    assert viewer["name"] == "Viewer Academy"
    assert viewer["settings"] == {"inactivityDays": 90, "softBounceThreshold": 3}
    assert viewer["id"] != str(created.account.id)  # a global id, not the primary key


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic abc", "Bearer sgt_nokey", "Bearer sgt_0000_wrongsecret"],
)
async def test_missing_or_bad_token_is_401_with_a_graphql_error(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.post("/graphql", json=VIEWER, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body


async def test_a_token_of_another_account_sees_only_its_own(client: httpx.AsyncClient) -> None:
    first = await create_account("First")
    second = await create_account("Second")
    for created in (first, second):
        response = await client.post(
            "/graphql", json=VIEWER, headers={"Authorization": f"Bearer {created.token}"}
        )
        assert response.json()["data"]["viewer"]["name"] == created.account.name


async def test_graphiql_page_is_served_in_development_only(db: str) -> None:
    html = {"Accept": "text/html"}
    async for dev in _client(Settings(database_url=db, graphiql=True)):
        response = await dev.get("/graphql", headers=html)
        assert response.status_code == 200
        assert "graphiql" in response.text.lower()
    async for prod in _client(Settings(database_url=db, environment="production", graphiql=False)):
        response = await prod.get("/graphql", headers=html)
        assert response.status_code == 401


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok"}


@pytest.mark.redis
async def test_readyz_checks_redis_when_configured(db: str, redis_server: str) -> None:
    settings = Settings(database_url=db, redis_url=redis_server)
    async for client in _client(settings):
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
    # Nothing listens on port 1: readiness fails, and says which check did.
    async for client in _client(replace(settings, redis_url="redis://127.0.0.1:1/0")):
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["redis"].startswith("failed")
