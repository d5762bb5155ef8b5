"""A small account built through the API itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api.support import Api

UPSERT = """
mutation($input: [ContactInput!]!) {
  contactsUpsert(input: $input) {
    contacts { id email }
    userErrors { field code message }
  }
}"""
PRODUCTS = """
mutation($input: [ProductInput!]!) {
  productsUpsert(input: $input) { products { id externalId title } userErrors { field code } }
}"""
GRANT = """
mutation($input: [OfferGrantInput!]!) { offersGrant(input: $input) { count userErrors { field code } } }"""
EVENTS = """
mutation($input: [EmailEventInput!]!) {
  emailEventsRecord(input: $input) { recorded duplicates userErrors { field code message } }
}"""


def iso(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


async def build(api: Api) -> dict[str, Any]:
    """Ada (vip, customer, opened lately), Bob (vip, old opener), Cy (no tags), Dee (unsubscribed)."""
    contacts = await api.run(
        UPSERT,
        {
            "input": [
                {
                    "email": "Ada@Example.com",
                    "firstName": "Ada",
                    "tags": ["VIP"],
                    "subscriptionStatus": "SUBSCRIBED",
                    "customFields": {"plan": "pro", "score": 12},
                },
                {
                    "email": "bob@example.com",
                    "firstName": "Bob",
                    "tags": ["vip", "webinar"],
                    "subscriptionStatus": "SUBSCRIBED",
                },
                {"email": "cy@example.com", "firstName": "Cy", "subscriptionStatus": "SUBSCRIBED"},
                {
                    "email": "dee@example.com",
                    "firstName": "Dee",
                    "subscriptionStatus": "UNSUBSCRIBED",
                },
            ]
        },
    )
    assert contacts["contactsUpsert"]["userErrors"] == []
    ids = {c["email"].lower(): c["id"] for c in contacts["contactsUpsert"]["contacts"]}
    products = await api.run(
        PRODUCTS,
        {
            "input": [
                {"externalId": "course-1", "title": "Course"},
                {"externalId": "offer-1", "title": "Offer"},
            ]
        },
    )
    product_ids = {p["externalId"]: p["id"] for p in products["productsUpsert"]["products"]}
    grants = await api.run(
        GRANT,
        {
            "input": [
                {
                    "email": "ada@example.com",
                    "product": product_ids["course-1"],
                    "source": "PURCHASE",
                    "amountCents": 4900,
                    "currency": "USD",
                    "occurredAt": iso(10),
                    "progress": 40,
                },
            ]
        },
    )
    assert grants["offersGrant"] == {"count": 1, "userErrors": []}
    events = await api.run(
        EVENTS,
        {
            "input": [
                {
                    "email": "ada@example.com",
                    "kind": "OPENED",
                    "occurredAt": iso(2),
                    "externalId": "e1",
                },
                {
                    "email": "bob@example.com",
                    "kind": "OPENED",
                    "occurredAt": iso(100),
                    "externalId": "e2",
                },
                {
                    "email": "bob@example.com",
                    "kind": "SENT",
                    "occurredAt": iso(3),
                    "campaign": "launch",
                },
            ]
        },
    )
    assert events["emailEventsRecord"] == {"recorded": 3, "duplicates": 0, "userErrors": []}
    return {"contacts": ids, "products": product_ids}
