"""Every orderBy, both directions, walked page by page (forward and backward): each contact
exactly once, in order, ties broken by id, missing values last ascending and first descending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.support import Api
from app.models import Contact

QUERY = """
query($order: ContactOrder, $first: Int, $after: String, $last: Int, $before: String) {
  contacts(orderBy: $order, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { email } }
  }
}"""
FIELDS = {
    "CREATED_AT": "created_at",
    "EMAIL": "email_lower",
    "LAST_OPENED_AT": "last_opened_at",
    "TOTAL_SPENT": "total_spent_cents",
}


async def _contacts(api: Api) -> list[Contact]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    made = []
    for i in range(9):
        made.append(
            await Contact.create(
                account=api.account,
                email=f"C{i % 4}{i}@x.com",
                email_lower=f"c{i % 4}{i}@x.com",
                created_at=base + timedelta(hours=i % 3),  # ties
                last_opened_at=None
                if i % 3 == 0
                else base + timedelta(days=i % 2),  # ties and nulls
                total_spent_cents=(i % 4) * 100,
            )
        )
    return made


def _expected(contacts: list[Contact], column: str, descending: bool) -> list[str]:
    present = [c for c in contacts if getattr(c, column) is not None]
    missing = [c for c in contacts if getattr(c, column) is None]
    present.sort(key=lambda c: (getattr(c, column), c.id), reverse=descending)
    missing.sort(key=lambda c: c.id, reverse=descending)
    ordered = missing + present if descending else present + missing
    return [c.email for c in ordered]


async def _walk(api: Api, order: dict[str, str], backward: bool) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        variables: dict[str, Any] = {"order": order}
        variables.update(
            {"last": 2, "before": cursor} if backward else {"first": 2, "after": cursor}
        )
        page = (await api.run(QUERY, variables))["contacts"]
        emails = [e["node"]["email"] for e in page["edges"]]
        seen = emails + seen if backward else seen + emails
        info = page["pageInfo"]
        if not (info["hasPreviousPage"] if backward else info["hasNextPage"]):
            return seen
        cursor = info["startCursor"] if backward else info["endCursor"]


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_every_order_walks_every_contact_once(api: Api, field: str, direction: str) -> None:
    contacts = await _contacts(api)
    expected = _expected(contacts, FIELDS[field], direction == "DESC")
    order = {"field": field, "direction": direction}
    assert await _walk(api, order, backward=False) == expected
    assert await _walk(api, order, backward=True) == expected
