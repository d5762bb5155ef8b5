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
    [
        (b"{nope", "not valid JSON"),
        (b"{}", "No GraphQL query found"),
        # NaN is not JSON: stored, it would make every response holding it unreadable.
        (
            b'{"query": "mutation { contactsUpsert(input: [{email: \\"a@x.io\\", customFields: {}}]) '
            b'{ userErrors { code } } }", "variables": {"x": NaN}}',
            "not valid JSON",
        ),
        (b'{"query": "{ viewer { name } }", "variables": {"x": -Infinity}}', "not valid JSON"),
        (
            b'{"query": "{ viewer { name } }", "variables": {"x": '
            + b"[" * 1000
            + b"]" * 1000
            + b"}}",
            "nests deeper",
        ),
        (
            b'{"query": "{ viewer { name } }", "variables": {"x": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}}",
            "nests deeper",
        ),
        (b"\xff\xfe{}", "not valid JSON"),
    ],
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


async def test_a_body_over_the_limit_is_413_before_it_is_read(client: httpx.AsyncClient) -> None:
    from app.limits import MAX_BODY_BYTES

    huge = b'{"query": "' + b" " * (MAX_BODY_BYTES + 1) + b'{ viewer { name } }"}'
    response = await client.post(
        "/graphql", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["errors"][0]["message"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(MAX_BODY_BYTES // 65_536 + 2):
            yield b" " * 65_536

    streamed = await client.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    "token",
    [
        "sgt_" + "a" * 5_000 + "_secret",  # a key far longer than its column
        "sgt_abc\u0000def_secret",
        "sgt_\u00e9\u00e9\u00e9_secret",
        "x" * 100_000,
    ],
)
async def test_malformed_tokens_are_401(
    client: httpx.AsyncClient, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { name } }"},
        headers={"Authorization": f"Bearer {token}".encode("utf-8", "surrogateescape")},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert token[:40] not in caplog.text  # a token never goes to the log


async def test_a_fault_before_graphql_is_a_json_error_with_the_request_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import app.graphql.view as view

    async def broken(token: str) -> None:
        raise RuntimeError("the database went away: secret detail")

    monkeypatch.setattr(view, "authenticate", broken)
    response = await client.post(
        "/graphql", json={"query": "{ viewer { name } }"}, headers={"X-Request-ID": "req-1"}
    )
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-1"}
    assert "secret detail" not in response.text
    assert "req-1" in caplog.text and "secret detail" in caplog.text  # logged, not answered
