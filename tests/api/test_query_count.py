"""N+1 guards, as Saleor's benchmark tests do it: the SQL a page of contacts costs does not grow
with the page, and a page deep in a long list is the same statements as the first page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from api.support import Api, queries
from app.db import bulk_insert, is_postgres
from app.services.tasks import finish_pending

PAGE = """
query($first: Int!, $after: String) {
  contacts(first: $first, after: $after, orderBy: {field: CREATED_AT, direction: DESC}) {
    pageInfo { hasNextPage endCursor }
    edges { node { id email tags { name } products { product { title } progress } segments { name } } }
  }
}"""


async def _bare_contacts(api: Api, count: int, tagged: bool = True) -> None:
    """Many contacts fast, straight into the tables (the API's own upsert is tested elsewhere)."""
    now = datetime.now(UTC)
    account = api.account.id

    def moment(i: int) -> object:
        value = now - timedelta(minutes=i)
        return value if is_postgres() else value.isoformat(" ")

    rows = [
        (
            account,
            f"user{i}@example.com",
            f"user{i}@example.com",
            moment(i),
            moment(i),
            "SUBSCRIBED",
            "VALID",
            i % 3 == 0,
            False,
            False,
            False,
            0,
            0,
            0,
            "{}",
        )
        for i in range(count)
    ]
    columns = [
        "account_id",
        "email",
        "email_lower",
        "created_at",
        "updated_at",
        "subscription_status",
        "email_risk",
        "is_customer",
        "is_inactive",
        "is_hard_bounced",
        "is_excluded",
        "sends_since_engagement",
        "soft_bounces",
        "total_spent_cents",
        "custom_fields",
    ]
    await bulk_insert("contacts", columns, rows)
    if tagged:
        await api.run(
            'mutation { segmentCreate(input: {name: "Customers who are vip", filter: {and: [{isCustomer: true}, {tags: {hasAny: ["vip"]}}]}}) { segment { id } } }'
        )
        ids = await api.run(
            "{ contacts(first: 500, orderBy: {field: CREATED_AT, direction: DESC}) { edges { node { id } } } }"
        )
        await api.run(
            'mutation($ids: [ID!]!) { contactsTag(ids: $ids, add: ["vip", "new"]) { userErrors { code } } }',
            {"ids": [e["node"]["id"] for e in ids["contacts"]["edges"]]},
        )


async def test_a_page_costs_the_same_queries_at_10_and_at_500(api: Api) -> None:
    await _bare_contacts(api, 600)
    # The mutations queued count refreshes: done now, they can't run into the counted block.
    await finish_pending()
    counts = {}
    for size in (10, 500):
        with queries() as log:
            page = await api.run(PAGE, {"first": size})
        assert len(page["contacts"]["edges"]) == size
        assert page["contacts"]["edges"][0]["node"]["tags"]
        counts[size] = len(log.statements)
    assert counts[10] == counts[500]
    # token lookup, page ids, page rows, tags, products, segments, memberships
    assert counts[500] <= 7, counts


def _shape(statement: str) -> str:
    return re.sub(r"\$\d+", "?", statement)


async def test_a_deep_page_is_the_same_statements_as_the_first(api: Api) -> None:
    await _bare_contacts(api, 100_000, tagged=False)
    await api.run("{ viewer { name } }")  # the token's hourly use stamp, out of the way
    with queries() as first_log:
        first = await api.run(PAGE, {"first": 50})
    # Walk far into the list: 99 000 rows in, then one more page.
    deep = await api.run(
        "{ contacts(first: 500, orderBy: {field: CREATED_AT, direction: DESC}) { pageInfo { endCursor } } }"
    )
    cursor = deep["contacts"]["pageInfo"]["endCursor"]
    for _ in range(197):
        step = await api.run(
            "query($a: String) { contacts(first: 500, after: $a, orderBy: {field: CREATED_AT, direction: DESC}) { pageInfo { endCursor } } }",
            {"a": cursor},
        )
        cursor = step["contacts"]["pageInfo"]["endCursor"]
    with queries() as deep_log:
        page = await api.run(PAGE, {"first": 50, "after": cursor})
    assert page["contacts"]["edges"][0]["node"]["email"] == "user99000@example.com"
    assert first["contacts"]["edges"][0]["node"]["email"] == "user0@example.com"
    first_shapes = [_shape(s) for s in first_log.statements]
    deep_shapes = [_shape(s) for s in deep_log.statements]
    # The same statements, but for the keyset condition the cursor adds: never an OFFSET.
    assert len(first_shapes) == len(deep_shapes)
    assert all("OFFSET" not in s.upper() for s in deep_shapes)
    differing = [(a, b) for a, b in zip(first_shapes, deep_shapes, strict=True) if a != b]
    assert len(differing) == 1 and "c.created_at, c.id) <" in differing[0][1]
