"""Fixtures: a GraphQL client on the ASGI app for a fresh account, and a second account."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from api.support import Api, settle
from app.main import create_app
from app.services.accounts import create_account
from app.settings import Settings


@pytest.fixture
async def api(db: str) -> AsyncIterator[Api]:
    created = await create_account(f"GraphQL {secrets.token_hex(3)}")
    transport = httpx.ASGITransport(app=create_app(Settings(database_url=db)))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client, created.account, created.token)
    await settle()


@pytest.fixture
async def other(db: str) -> AsyncIterator[Api]:
    """A second account on the same app: for tenant isolation."""
    created = await create_account(f"Other {secrets.token_hex(3)}")
    transport = httpx.ASGITransport(app=create_app(Settings(database_url=db)))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client, created.account, created.token)
    await settle()
