"""GraphQL over HTTP as its specification says: methods, media types, status codes, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.services.accounts import create_account
from app.settings import Settings

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture
async def client(db: str) -> AsyncIterator[httpx.AsyncClient]:
    token = (await create_account("Transport")).token
    transport = httpx.ASGITransport(app=create_app(Settings(database_url=db)))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {token}"}
    ) as c:
        yield c


async def test_get_serves_queries_and_refuses_mutations(client: httpx.AsyncClient) -> None:
    ok = await client.get("/graphql", params={"query": "{ viewer { name } }"})
    assert ok.status_code == 200 and ok.json()["data"]["viewer"]["name"] == "Transport"
    mutation = 'mutation { segmentRefreshCount(id: "x") { userErrors { code } } }'
    refused = await client.get("/graphql", params={"query": mutation})
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"
    assert refused.json()["errors"][0]["message"] == "Mutations must be sent with POST."


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"{nope", "Unable to parse request body as JSON"), (b"{}", "No GraphQL query found")],
)
async def test_malformed_requests_are_400_with_a_json_body(
    client: httpx.AsyncClient, content: bytes, message: str
) -> None:
    response = await client.post(
        "/graphql", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]


async def test_media_types_are_negotiated(client: httpx.AsyncClient) -> None:
    query = {"query": "{ viewer { name } }"}
    plain = await client.post("/graphql", json=query)
    assert plain.headers["content-type"].startswith("application/json")
    preferred = await client.post(
        "/graphql", json=query, headers={"Accept": f"application/json;q=0.5, {GRAPHQL_RESPONSE}"}
    )
    assert preferred.status_code == 200
    assert preferred.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    invalid = {"query": "{ nope }"}
    legacy = await client.post("/graphql", json=invalid)
    assert legacy.status_code == 200 and legacy.json()["errors"]
    modern = await client.post("/graphql", json=invalid, headers={"Accept": GRAPHQL_RESPONSE})
    assert modern.status_code == 400 and "data" not in modern.json()


async def test_depth_aliases_and_tokens_are_limited(client: httpx.AsyncClient) -> None:
    deep = "{ segments { edges { node { members { edges { node { segments { members { edges { node { segments { members { edges { node { id } } } } } } } } } } } } } } }"
    assert "maximum operation depth" in (await client.post("/graphql", json={"query": deep})).text
    aliases = "{ " + " ".join(f"a{i}: viewer {{ name }}" for i in range(31)) + " }"
    assert "aliases" in (await client.post("/graphql", json={"query": aliases})).text
    tokens = "{ viewer { " + "name " * 5001 + "} }"
    assert "token" in (await client.post("/graphql", json={"query": tokens})).text.lower()


async def test_responses_carry_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ viewer { name } }"})
    assert len(response.headers["x-request-id"]) == 32
    echoed = await client.post(
        "/graphql", json={"query": "{ viewer { name } }"}, headers={"X-Request-ID": "abc-123"}
    )
    assert echoed.headers["x-request-id"] == "abc-123"
    hostile = await client.post(
        "/graphql", json={"query": "{ viewer { name } }"}, headers={"X-Request-ID": "x" * 500}
    )
    assert len(hostile.headers["x-request-id"]) == 32
