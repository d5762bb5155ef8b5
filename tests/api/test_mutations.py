"""Every mutation through the ASGI app, and each user error code it can answer."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from api.data import EVENTS, GRANT, PRODUCTS, UPSERT, build, iso
from api.support import Api, settle

CREATE = """
mutation($input: SegmentInput!) {
  segmentCreate(input: $input) {
    segment { id name description kind filter count { value isStale } }
    userErrors { field code message }
  }
}"""
UPDATE = """
mutation($id: ID!, $input: SegmentInput!) {
  segmentUpdate(id: $id, input: $input) { segment { id name filter } userErrors { field code message } }
}"""
DELETE = """
mutation($id: ID!, $confirm: Boolean!) {
  segmentDelete(id: $id, confirm: $confirm) { deletedSegmentId userErrors { field code message } }
}"""
TAG = """
mutation($id: ID!, $add: [String!], $remove: [String!]) {
  segmentTag(id: $id, add: $add, remove: $remove) { job { id kind status } userErrors { field code } }
}"""
REFRESH = """
mutation($id: ID!) { segmentRefreshCount(id: $id) { segment { id } userErrors { field code } } }"""
JOB = "query($id: ID!) { bulkJob(id: $id) { status processed total error finishedAt } }"
COUNT = (
    "query($id: ID!) { node(id: $id) { ... on Segment { count { value computedAt isStale } } } }"
)
DEFAULT_IDS = "{ segments { edges { node { id defaultKey } } } }"


def vip_segment(name: str = "VIPs") -> dict[str, Any]:
    return {"input": {"name": name, "filter": {"tags": {"hasAny": ["vip"]}}}}


def codes(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def _default_id(api: Api, key: str) -> str:
    edges = (await api.run(DEFAULT_IDS))["segments"]["edges"]
    return str(next(e["node"]["id"] for e in edges if e["node"]["defaultKey"] == key))


async def test_create_read_update_refresh(api: Api) -> None:
    await build(api)
    created = (await api.run(CREATE, vip_segment()))["segmentCreate"]
    assert created["userErrors"] == []
    segment = created["segment"]
    assert segment["kind"] == "CUSTOM" and segment["count"]["isStale"]
    assert segment["filter"] == {"tags": {"hasAny": ["vip"]}}
    await settle()
    count = (await api.run(COUNT, {"id": segment["id"]}))["node"]["count"]
    assert count["value"] == 2 and count["computedAt"] and not count["isStale"]
    # Saving then reading gives back the same filter.
    new_filter = {"and": [{"tags": {"hasAny": ["vip"]}}, {"not": {"isCustomer": True}}]}
    updated = await api.run(
        UPDATE, {"id": segment["id"], "input": {"name": "Warm VIPs", "filter": new_filter}}
    )
    assert updated["segmentUpdate"]["segment"]["filter"] == new_filter
    refreshed = (await api.run(REFRESH, {"id": segment["id"]}))["segmentRefreshCount"]
    assert refreshed["userErrors"] == []
    await settle()
    assert (await api.run(COUNT, {"id": segment["id"]}))["node"]["count"]["value"] == 1


async def test_segment_user_errors(api: Api) -> None:
    data = await build(api)
    first = (await api.run(CREATE, vip_segment()))["segmentCreate"]["segment"]
    duplicate = (await api.run(CREATE, vip_segment("vips")))["segmentCreate"]
    assert codes(duplicate) == [("DUPLICATE_NAME", ["input", "name"])]
    bad_filter = {
        "input": {
            "name": "x",
            "filter": {"and": [{"isCustomer": True}, {"purchases": {"count": {"gt": 3, "lt": 2}}}]},
        }
    }
    invalid = (await api.run(CREATE, bad_filter))["segmentCreate"]
    assert codes(invalid) == [
        ("INVALID_FILTER", ["input", "filter", "and", "1", "purchases", "count"])
    ]
    unknown_product = base64.b64encode(b"Product:999999").decode()
    invalid = (
        await api.run(
            CREATE,
            {
                "input": {
                    "name": "x",
                    "filter": {
                        "products": {"ownsAll": [data["products"]["course-1"], unknown_product]}
                    },
                }
            },
        )
    )["segmentCreate"]
    assert codes(invalid) == [("INVALID_FILTER", ["input", "filter", "products", "ownsAll", "1"])]
    missing = base64.b64encode(b"Segment:999999").decode()
    assert codes((await api.run(UPDATE, {"id": missing, **vip_segment()}))["segmentUpdate"]) == [
        ("NOT_FOUND", ["id"])
    ]
    assert codes((await api.run(DELETE, {"id": "junk", "confirm": True}))["segmentDelete"]) == [
        ("NOT_FOUND", ["id"])
    ]
    customers = await _default_id(api, "CUSTOMERS")
    assert codes(
        (await api.run(UPDATE, {"id": customers, **vip_segment("c")}))["segmentUpdate"]
    ) == [("DEFAULT_SEGMENT_READ_ONLY", ["id"])]
    assert codes((await api.run(DELETE, {"id": customers, "confirm": True}))["segmentDelete"]) == [
        ("DEFAULT_SEGMENT_READ_ONLY", ["id"])
    ]
    user = (
        await api.run(
            CREATE, {"input": {"name": "Uses VIPs", "filter": {"segment": {"in": first["id"]}}}}
        )
    )["segmentCreate"]
    in_use = (await api.run(DELETE, {"id": first["id"], "confirm": True}))["segmentDelete"]
    assert (
        codes(in_use) == [("SEGMENT_IN_USE", ["id"])]
        and "Uses VIPs" in in_use["userErrors"][0]["message"]
    )
    cycle = await api.run(
        UPDATE,
        {
            "id": first["id"],
            "input": {"name": "VIPs", "filter": {"segment": {"in": user["segment"]["id"]}}},
        },
    )
    assert codes(cycle["segmentUpdate"]) == [
        ("INVALID_FILTER", ["input", "filter", "segment", "in"])
    ]
    unconfirmed = (await api.run(DELETE, {"id": user["segment"]["id"], "confirm": False}))[
        "segmentDelete"
    ]
    assert (
        codes(unconfirmed) == [("CONFIRMATION_REQUIRED", ["confirm"])]
        and unconfirmed["deletedSegmentId"] is None
    )
    assert (
        await api.run("query($id: ID!) { node(id: $id) { id } }", {"id": user["segment"]["id"]})
    )["node"]
    deleted = (await api.run(DELETE, {"id": user["segment"]["id"], "confirm": True}))[
        "segmentDelete"
    ]
    assert deleted == {"deletedSegmentId": user["segment"]["id"], "userErrors": []}
    assert (
        await api.run("query($id: ID!) { node(id: $id) { id } }", {"id": user["segment"]["id"]})
    )["node"] is None


async def test_segment_tag_runs_a_job(api: Api) -> None:
    await build(api)
    segment = (await api.run(CREATE, vip_segment()))["segmentCreate"]["segment"]
    started = (
        await api.run(TAG, {"id": segment["id"], "add": ["launch-2026"], "remove": ["webinar"]})
    )["segmentTag"]
    assert started["userErrors"] == [] and started["job"]["status"] == "QUEUED"
    await settle()
    job = (await api.run(JOB, {"id": started["job"]["id"]}))["bulkJob"]
    assert (
        job["status"] == "SUCCEEDED" and job["processed"] == job["total"] == 2 and job["finishedAt"]
    )
    tags = (await api.run("{ tags { edges { node { name contactCount } } } }"))["tags"]["edges"]
    assert {e["node"]["name"]: e["node"]["contactCount"] for e in tags} == {
        "launch-2026": 2,
        "VIP": 2,
        "webinar": 0,  # removed from every member; the tag itself stays
    }
    nothing = (await api.run(TAG, {"id": segment["id"]}))["segmentTag"]
    assert codes(nothing) == [("REQUIRED", ["add"])]
    missing = (await api.run(TAG, {"id": "x", "add": ["a"]}))["segmentTag"]
    assert codes(missing) == [("NOT_FOUND", ["id"])]


async def test_contacts_upsert_and_tag(api: Api) -> None:
    data = await build(api)
    result = (
        await api.run(
            UPSERT,
            {
                "input": [
                    {
                        "email": "ADA@example.com",
                        "lastName": "Lovelace",
                        "customFields": {"score": None},
                    },
                    {"email": "not an email"},
                    {"email": "eve@example.com", "unsubscribeReason": "MANUAL"},
                ]
            },
        )
    )["contactsUpsert"]
    assert [c["email"] for c in result["contacts"]] == ["Ada@Example.com"]
    assert codes(result) == [
        ("INVALID_EMAIL", ["input", "1", "email"]),
        ("INVALID", ["input", "2", "unsubscribeReason"]),
    ]
    too_many = (
        await api.run(UPSERT, {"input": [{"email": f"x{i}@example.com"} for i in range(1001)]})
    )["contactsUpsert"]
    assert codes(too_many) == [("BATCH_TOO_LARGE", ["input"])]
    ada = data["contacts"]["ada@example.com"]
    tagged = (
        await api.run(
            'mutation($ids: [ID!]!) { contactsTag(ids: $ids, add: ["gold"], remove: ["vip"]) { contacts { email tags { name } } userErrors { code field } } }',
            {"ids": [ada]},
        )
    )["contactsTag"]
    assert tagged["contacts"] == [{"email": "Ada@Example.com", "tags": [{"name": "gold"}]}]
    missing = (
        await api.run(
            'mutation($ids: [ID!]!) { contactsTag(ids: $ids, add: ["x"]) { contacts { email } userErrors { code field } } }',
            {"ids": [ada, "bogus"]},
        )
    )["contactsTag"]
    assert codes(missing) == [("NOT_FOUND", ["ids"])]


async def test_products_grants_and_events_report_per_item(api: Api) -> None:
    data = await build(api)
    products = await api.run(
        PRODUCTS,
        {
            "input": [
                {"externalId": "course-1", "title": "Renamed"},
                {"externalId": " ", "title": "t"},
            ]
        },
    )
    assert codes(products["productsUpsert"]) == [("REQUIRED", ["input", "1", "externalId"])]
    assert products["productsUpsert"]["products"][0]["title"] == "Renamed"
    course = data["products"]["course-1"]
    grants = (
        await api.run(
            GRANT,
            {
                "input": [
                    {
                        "email": "bob@example.com",
                        "product": course,
                        "source": "GRANT",
                        "progress": 10,
                    },
                    {"email": "nobody@example.com", "product": course, "source": "GRANT"},
                    {"email": "bob@example.com", "product": "bogus", "source": "GRANT"},
                    {
                        "email": "bob@example.com",
                        "product": course,
                        "source": "PURCHASE",
                        "amountCents": -5,
                    },
                    {"email": "bob@example.com", "product": course, "source": "PURCHASE"},
                    {
                        "email": "bob@example.com",
                        "product": course,
                        "source": "GRANT",
                        "progress": 101,
                    },
                    {
                        "email": "bob@example.com",
                        "product": course,
                        "source": "GRANT",
                        "occurredAt": iso(-1),
                    },
                ]
            },
        )
    )["offersGrant"]
    assert grants["count"] == 1
    assert codes(grants) == [
        ("CONTACT_NOT_FOUND", ["input", "1", "email"]),
        ("PRODUCT_NOT_FOUND", ["input", "2", "product"]),
        ("NEGATIVE_AMOUNT", ["input", "3", "amountCents"]),
        ("REQUIRED", ["input", "4", "amountCents"]),
        ("OUT_OF_RANGE", ["input", "5", "progress"]),
        ("TIME_IN_FUTURE", ["input", "6", "occurredAt"]),
    ]
    events = (
        await api.run(
            EVENTS,
            {
                "input": [
                    {
                        "email": "ada@example.com",
                        "kind": "OPENED",
                        "occurredAt": iso(1),
                        "externalId": "e1",
                    },
                    {
                        "email": "cy@example.com",
                        "kind": "CLICKED",
                        "occurredAt": iso(1),
                        "externalId": "new",
                    },
                    {
                        "email": "cy@example.com",
                        "kind": "CLICKED",
                        "occurredAt": iso(1),
                        "externalId": "new",
                    },
                    {"email": "ghost@example.com", "kind": "SENT", "occurredAt": iso(1)},
                ]
            },
        )
    )["emailEventsRecord"]
    assert (events["recorded"], events["duplicates"]) == (1, 2)
    assert codes(events) == [("CONTACT_NOT_FOUND", ["input", "3", "email"])]


async def test_account_settings_update(api: Api) -> None:
    query = """mutation($input: AccountSettingsInput!) { accountSettingsUpdate(input: $input) {
        account { settings { inactivityDays softBounceThreshold unengagedSendThreshold } } userErrors { code field } } }"""
    done = (await api.run(query, {"input": {"inactivityDays": 30}}))["accountSettingsUpdate"]
    assert done["account"]["settings"] == {
        "inactivityDays": 30,
        "softBounceThreshold": 3,
        "unengagedSendThreshold": 10,
    }
    refused = (await api.run(query, {"input": {"inactivityDays": 0, "softBounceThreshold": 5}}))[
        "accountSettingsUpdate"
    ]
    assert refused["account"] is None
    assert codes(refused) == [("OUT_OF_RANGE", ["input", "inactivityDays"])]
    await settle()
    viewer = (await api.run("{ viewer { settings { softBounceThreshold } } }"))["viewer"]
    assert viewer["settings"]["softBounceThreshold"] == 3  # nothing changed


async def test_members_and_explain(api: Api) -> None:
    data = await build(api)
    segment = (await api.run(CREATE, vip_segment()))["segmentCreate"]["segment"]
    query = """query($id: ID!, $c: ID!) { node(id: $id) { ... on Segment {
        members(first: 1, orderBy: {field: TOTAL_SPENT, direction: DESC}) { totalCount edges { node { email } } pageInfo { hasNextPage } }
        explain(contactId: $c) { matches conditions { path description matches } }
        history { date count } } } }"""
    await settle()
    node = (await api.run(query, {"id": segment["id"], "c": data["contacts"]["cy@example.com"]}))[
        "node"
    ]
    assert node["members"]["totalCount"] == 2
    assert node["members"]["edges"] == [{"node": {"email": "Ada@Example.com"}}]
    assert node["members"]["pageInfo"]["hasNextPage"]
    assert node["explain"]["matches"] is False
    assert (
        node["explain"]["conditions"][0]["path"] == []
        and "vip" in node["explain"]["conditions"][0]["description"]
    )
    assert [p["count"] for p in node["history"]] == [2]
    errors = await api.errors(query, {"id": segment["id"], "c": "bogus"})
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_account_recompute_runs_the_night_now_and_viewer_shows_it(api: Api) -> None:
    query = "{ viewer { maintenance { lastRun { status flagsChanged countsRefreshed finishedAt error } nextRunAt } } }"
    before = (await api.run(query))["viewer"]["maintenance"]
    assert before["lastRun"] is None
    assert datetime.fromisoformat(before["nextRunAt"]) > datetime.now(UTC)
    await build(api)
    job = (
        await api.run(
            "mutation { accountRecompute { job { id kind status } userErrors { code } } }"
        )
    )["accountRecompute"]
    assert job["userErrors"] == [] and job["job"]["kind"] == "account_recompute"
    await settle()
    done = (await api.run(JOB, {"id": job["job"]["id"]}))["bulkJob"]
    assert done["status"] == "SUCCEEDED" and done["processed"] == done["total"] == 6
    last = (await api.run(query))["viewer"]["maintenance"]["lastRun"]
    assert last["status"] == "SUCCEEDED" and last["countsRefreshed"] == 6 and last["finishedAt"]
    assert last["error"] is None and last["flagsChanged"] >= 0
    counts = (await api.run("{ segments { edges { node { count { value isStale } } } } }"))[
        "segments"
    ]["edges"]
    assert all(e["node"]["count"]["value"] is not None for e in counts)
    assert not any(e["node"]["count"]["isStale"] for e in counts)
