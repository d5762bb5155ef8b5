"""API tokens: listed without their secrets, revoked for good and at once, demo tokens replaced."""

from __future__ import annotations

import httpx
import pytest

from app.auth import authenticate
from app.main import create_app
from app.models import Account
from app.services import tokens
from app.services.errors import DomainError, ErrorCode
from app.settings import Settings

VIEWER = {"query": "{ viewer { name } }"}


async def test_create_list_and_revoke(account: Account, other_account: Account) -> None:
    row, secret = await tokens.create_token(account, "  zapier  ")
    assert row.name == "zapier" and secret.startswith(tokens.prefix(row) + "_")
    assert (await authenticate(secret)) == account
    listed = await tokens.list_tokens(account)
    assert [t.name for t in listed] == ["default", "zapier"]
    assert all(t.secret_hash not in secret for t in listed)  # only a hash is stored

    revoked, was_live = await tokens.revoke_token(account, row.id)
    assert was_live and revoked.revoked_at is not None
    assert await authenticate(secret) is None
    again, was_live = await tokens.revoke_token(account, row.id)
    assert not was_live and again.revoked_at == revoked.revoked_at

    with pytest.raises(DomainError) as refused:
        await tokens.revoke_token(other_account, row.id)  # another account's token
    assert refused.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(DomainError):
        await tokens.create_token(account, "  ")


async def test_replacing_demo_tokens_revokes_only_those(account: Account) -> None:
    _, first = await tokens.create_token(account, "demo")
    _, other = await tokens.create_token(account, "cli")
    second = await tokens.replace_tokens(account, "demo")
    third = await tokens.replace_tokens(account, "demo")
    assert [await authenticate(t) for t in (first, second, third, other)] == [
        None,
        None,
        account,
        account,
    ]
    live = [t.name for t in await tokens.list_tokens(account) if t.revoked_at is None]
    assert sorted(live) == ["cli", "default", "demo"]


async def test_a_revoked_token_answers_401_from_the_next_request(db: str, account: Account) -> None:
    row, secret = await tokens.create_token(account, "api")
    transport = httpx.ASGITransport(app=create_app(Settings(database_url=db)))
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.post("/graphql", json=VIEWER, headers=headers)).status_code == 200
        await tokens.revoke_token(account, row.id)
        refused = await client.post("/graphql", json=VIEWER, headers=headers)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["message"] == "The token is invalid or revoked."
