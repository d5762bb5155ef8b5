"""Fixtures for the service tests (the databases and `account` come from tests/conftest.py)."""

from __future__ import annotations

import secrets

import pytest

from app.models import Account
from app.services.accounts import create_account


@pytest.fixture
async def other_account(db: str) -> Account:
    """A second fresh account, for tenant-separation checks."""
    return (await create_account(f"Other account {secrets.token_hex(3)}")).account
