"""Every root query field through the ASGI app."""

from __future__ import annotations

import base64

from api.data import build
from api.support import Api, settle
from app.services.counts import refresh_stale

CONTACTS = """
query($filter: ContactFilter, $first: Int, $after: String, $last: Int, $before: String, $order: ContactOrder) {
  contacts(filter: $filter, first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id email firstName isCustomer totalSpentCents customFields
      tags { name } products { product { externalId } progress source } segments { name defaultKey } } }
  }
}"""


async def test_viewer_and_node(api: Api) -> None:
    data = await build(api)
    viewer = (await api.run("{ viewer { id name settings { inactivityDays } } }"))["viewer"]
    assert viewer["name"] == api.account.name
    for node_id in (
        viewer["id"],
        data["contacts"]["ada@example.com"],
        data["products"]["course-1"],
    ):
        node = (await api.run("query($id: ID!) { node(id: $id) { id } }", {"id": node_id}))["node"]
        assert node == {"id": node_id}
    for nothing in (
        "garbage",
        base64.b64encode(b"Contact:999999").decode(),
        base64.b64encode(b"Nope:1").decode(),
    ):
        assert (await api.run("query($id: ID!) { node(id: $id) { id } }", {"id": nothing}))[
            "node"
        ] is None


async def test_contacts_filter_order_and_pages(api: Api) -> None:
    await build(api)
    vip = {"tags": {"hasAny": ["vip"]}}
    data = (await api.run(CONTACTS, {"filter": vip}))["contacts"]
    assert data["totalCount"] == 2
    ada = next(e["node"] for e in data["edges"] if e["node"]["firstName"] == "Ada")
    assert ada["isCustomer"] and ada["totalSpentCents"] == 4900
    assert ada["customFields"] == {"plan": "pro", "score": 12}
    assert [t["name"] for t in ada["tags"]] == ["VIP"]
    assert ada["products"] == [
        {"product": {"externalId": "course-1"}, "progress": 40, "source": "PURCHASE"}
    ]
    assert {s["defaultKey"] for s in ada["segments"]} == {"ALL_CONTACTS", "CUSTOMERS", "SUBSCRIBED"}
    # Pages of one, forward then backward, by email.
    order = {"field": "EMAIL", "direction": "ASC"}
    seen, after = [], None
    while True:
        page = (await api.run(CONTACTS, {"first": 1, "after": after, "order": order}))["contacts"]
        seen += [e["node"]["email"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["Ada@Example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
    last_two = (await api.run(CONTACTS, {"last": 2, "order": order}))["contacts"]
    assert [e["node"]["email"] for e in last_two["edges"]] == seen[2:]
    assert last_two["pageInfo"]["hasPreviousPage"]
    before = await api.run(
        CONTACTS, {"last": 2, "before": last_two["pageInfo"]["startCursor"], "order": order}
    )
    assert [e["node"]["email"] for e in before["contacts"]["edges"]] == seen[:2]


async def test_contacts_arguments_are_checked(api: Api) -> None:
    assert "between 0 and 500" in (await api.errors(CONTACTS, {"first": 501}))[0]["message"]
    assert "cursor" in (await api.errors(CONTACTS, {"after": "bm9wZQ=="}))[0]["message"]
    errors = await api.errors(CONTACTS, {"filter": {"and": []}})
    assert errors[0]["extensions"]["code"] == "INVALID_FILTER"
    assert "filter.and" in errors[0]["message"]


async def test_segments_defaults_first_with_counts(api: Api) -> None:
    await build(api)
    query = "{ segments(first: 10) { totalCount edges { node { name kind defaultKey filter count { value computedAt isStale } } } } }"
    first = (await api.run(query))["segments"]
    assert first["totalCount"] == 6
    assert [e["node"]["defaultKey"] for e in first["edges"]] == [
        "ALL_CONTACTS",
        "CUSTOMERS",
        "SUBSCRIBED",
        "INACTIVE",
        "HARD_BOUNCED",
        "EXCLUDED",
    ]
    never = {"value": None, "computedAt": None, "isStale": True}
    assert first["edges"][0]["node"]["count"] == never
    await settle()
    # Reading a count reads: it never queues work. The sweep counts what was never counted.
    assert (await api.run(query))["segments"]["edges"][0]["node"]["count"] == never
    await refresh_stale(api.account.id)
    counted = (await api.run(query))["segments"]["edges"]
    values = {e["node"]["defaultKey"]: e["node"]["count"]["value"] for e in counted}
    assert values["ALL_CONTACTS"] == 4 and values["CUSTOMERS"] == 1 and values["SUBSCRIBED"] == 3
    assert counted[2]["node"]["filter"] == {"subscriptionStatus": {"in": ["SUBSCRIBED"]}}
    assert counted[0]["node"]["filter"] is None


async def test_segment_preview(api: Api) -> None:
    await build(api)
    query = "query($f: ContactFilter!, $n: Int) { segmentPreview(filter: $f, sample: $n) { count sample { email } } }"
    preview = await api.run(
        query,
        {"f": {"emailActivity": {"event": "OPENED", "window": {"withinLastDays": 30}}}, "n": 5},
    )
    assert preview["segmentPreview"] == {"count": 1, "sample": [{"email": "Ada@Example.com"}]}
    errors = await api.errors(query, {"f": {"tags": {"hasAll": ["a"], "hasNone": ["A"]}}})
    assert errors[0]["extensions"]["code"] == "INVALID_FILTER"
    assert "filter.tags.hasNone" in errors[0]["message"]


async def test_tags_products_and_bulk_job(api: Api) -> None:
    await build(api)
    tags = (
        await api.run(
            "{ tags(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { name contactCount } } } }"
        )
    )["tags"]
    assert tags["totalCount"] == 2
    assert tags["edges"] == [{"node": {"name": "VIP", "contactCount": 2}}]
    after = tags["pageInfo"]["endCursor"]
    rest = await api.run(
        "query($a: String) { tags(after: $a) { edges { node { name contactCount } } } }",
        {"a": after},
    )
    assert rest["tags"]["edges"] == [{"node": {"name": "webinar", "contactCount": 1}}]
    products = (await api.run("{ products { totalCount edges { node { externalId title } } } }"))[
        "products"
    ]
    assert [e["node"]["externalId"] for e in products["edges"]] == ["course-1", "offer-1"]
    missing = base64.b64encode(b"BulkJob:123456").decode()
    assert (await api.run("query($id: ID!) { bulkJob(id: $id) { id } }", {"id": missing}))[
        "bulkJob"
    ] is None
