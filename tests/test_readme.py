"""The README's GraphQL examples run as written against a demo account."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from app.main import create_app
from app.models import Account
from app.services.accounts import issue_token
from app.services.demo import seed_demo
from app.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def examples() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_examples() -> None:
    assert len(examples()) >= 5


async def test_every_example_runs_against_the_demo_account(db: str, account: Account) -> None:
    await seed_demo(account, 300)
    token = await issue_token(account)
    transport = httpx.ASGITransport(app=create_app(Settings(database_url=db)))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for example in examples():
            response = await client.post(
                "/graphql", json={"query": example}, headers={"Authorization": f"Bearer {token}"}
            )
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, (example, body)
            for payload in body["data"].values():
                errors = payload.get("userErrors", []) if isinstance(payload, dict) else []
                # The import example shows one invalid item on purpose.
                assert all(e["field"] == ["input", "1", "email"] for e in errors), (example, errors)
