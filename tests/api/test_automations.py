"""What automations read and write through the API, on both databases: a segment's membership
changes, snapshots of its members, webhooks and their deliveries."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import parse

from api.data import build
from api.support import Api, queries
from app import settings as app_settings
from app.enums import DeliveryStatus, MembershipChangeKind, WebhookEvent
from app.filters.ids import from_global_id, to_global_id
from app.graphql.cost import LIST_OF_OBJECTS, query_cost
from app.graphql.execution import _nested
from app.graphql.schema import schema, sdl
from app.graphql.types import membership as membership_types
from app.limits import DEFAULT_PAGE
from app.models import MembershipChange, WebhookDelivery

SEGMENTS = "{ segments(first: 20) { edges { node { id defaultKey name } } } }"
CHANGES = """
query($id: ID!, $first: Int, $after: String, $since: DateTime, $kind: MembershipChangeKind) {
  node(id: $id) { ... on Segment {
    changes(first: $first, after: $after, since: $since, kind: $kind) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { contactId kind at contact { id email tags { name } } } }
    }
  } }
}"""
SNAPSHOT_CREATE = """
mutation($id: ID!) {
  segmentSnapshotCreate(id: $id) {
    snapshot { id count createdAt expiresAt segment { id name } }
    userErrors { field code message }
  }
}"""
SNAPSHOT_MEMBERS = """
query($id: ID!, $first: Int, $after: String) {
  node(id: $id) { ... on SegmentSnapshot {
    id count segment { id }
    members(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor node { id email tags { name } } }
    }
  } }
}"""
WEBHOOK_CREATE = """
mutation($input: WebhookInput!) {
  webhookCreate(input: $input) {
    webhook { id url events allSegments segments { id name } createdAt }
    secret
    userErrors { field code message }
  }
}"""
WEBHOOK_DELETE = """
mutation($id: ID!, $confirm: Boolean!) {
  webhookDelete(id: $id, confirm: $confirm) { deletedWebhookId userErrors { field code message } }
}"""
WEBHOOKS = """
query($first: Int, $after: String) {
  webhooks(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id url events segments { name } } }
  }
}"""
DELIVERIES = """
query($id: ID!, $first: Int, $after: String) {
  node(id: $id) { ... on Webhook {
    deliveries(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor node {
        id event status attempts lastAttemptAt responseStatus error createdAt
      } }
    }
  } }
}"""
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
SEGMENT_CREATE = """
mutation($name: String!) {
  segmentCreate(input: {name: $name, filter: {isCustomer: true}}) { segment { id } userErrors { code } }
}"""
DELETE_CONTACTS = """
mutation($ids: [ID!]!) { contactsDelete(ids: $ids, confirm: true) { deletedContactIds userErrors { code } } }"""
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOOK_URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def allow_private() -> Iterator[None]:
    before = app_settings.current()
    app_settings.use(dataclasses.replace(before, webhooks_allow_private=True))
    try:
        yield
    finally:
        app_settings.use(before)


async def segment_ids(api: Api) -> dict[str, str]:
    edges = (await api.run(SEGMENTS))["segments"]["edges"]
    return {e["node"]["defaultKey"] or e["node"]["name"]: e["node"]["id"] for e in edges}


def pk(global_id: str, type_name: str) -> int:
    found = from_global_id(global_id, type_name)
    assert found is not None, global_id
    return found


async def log_change(
    api: Api, segment: str, contact_pk: int, kind: MembershipChangeKind, at: datetime
) -> None:
    await MembershipChange.create(
        account_id=api.account.id,
        segment_id=pk(segment, "Segment"),
        contact_id=contact_pk,
        kind=kind,
        at=at,
    )


async def changes(api: Api, segment: str, **arguments: Any) -> dict[str, Any]:
    found = (await api.run(CHANGES, {"id": segment, **arguments}))["node"]["changes"]
    assert isinstance(found, dict)
    return found


def rows(page: dict[str, Any]) -> list[tuple[str | None, str]]:
    found = []
    for edge in page["edges"]:
        contact = edge["node"]["contact"]
        found.append((contact["email"].lower() if contact else None, edge["node"]["kind"]))
    return found


# -- membership changes ---------------------------------------------------------------------------


async def test_changes_oldest_first_with_filters_and_cursors(api: Api, other: Api) -> None:
    data = await build(api)
    theirs = await build(other)
    ids = await segment_ids(api)
    everyone, customers = ids["ALL_CONTACTS"], ids["CUSTOMERS"]
    ada, bob, cy = (
        pk(data["contacts"][f"{n}@example.com"], "Contact") for n in ("ada", "bob", "cy")
    )
    entered, left = MembershipChangeKind.ENTERED, MembershipChangeKind.LEFT
    await log_change(api, everyone, ada, entered, T0)
    await log_change(api, everyone, bob, entered, T0 + timedelta(hours=1))
    await log_change(api, customers, ada, entered, T0 + timedelta(hours=1))  # another segment
    await log_change(api, everyone, cy, entered, T0 + timedelta(hours=2))
    await log_change(api, everyone, bob, left, T0 + timedelta(days=1))
    await log_change(api, everyone, ada, left, T0 + timedelta(days=2))
    their_segment = (await segment_ids(other))["ALL_CONTACTS"]
    their_ada = pk(theirs["contacts"]["ada@example.com"], "Contact")
    await log_change(other, their_segment, their_ada, entered, T0)

    whole = await changes(api, everyone)
    assert whole["totalCount"] == 5
    assert rows(whole) == [
        ("ada@example.com", "ENTERED"),
        ("bob@example.com", "ENTERED"),
        ("cy@example.com", "ENTERED"),
        ("bob@example.com", "LEFT"),
        ("ada@example.com", "LEFT"),
    ]
    first = whole["edges"][0]["node"]
    assert first["contactId"] == first["contact"]["id"] == data["contacts"]["ada@example.com"]
    assert datetime.fromisoformat(first["at"]) == T0
    assert first["contact"]["tags"] == [{"name": "VIP"}]
    assert whole["pageInfo"]["hasNextPage"] is False
    assert whole["pageInfo"]["hasPreviousPage"] is False

    # Page by page with the cursors: the same changes, in the same order.
    seen: list[tuple[str | None, str]] = []
    after = None
    while True:
        page = await changes(api, everyone, first=2, after=after)
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        assert len(page["edges"]) <= 2
        seen += rows(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert seen == rows(whole)

    # since (inclusive) and kind, alone and together, with their totals.
    recent = await changes(api, everyone, since=(T0 + timedelta(hours=1)).isoformat())
    assert rows(recent) == rows(whole)[1:] and recent["totalCount"] == 4
    gone = await changes(api, everyone, kind="LEFT")
    assert rows(gone) == [("bob@example.com", "LEFT"), ("ada@example.com", "LEFT")]
    assert gone["totalCount"] == 2
    both = await changes(api, everyone, kind="ENTERED", since="2026-03-01T13:00:00")  # naive: UTC
    assert rows(both) == [("bob@example.com", "ENTERED"), ("cy@example.com", "ENTERED")]
    page = await changes(api, everyone, kind="ENTERED", first=1)
    page = await changes(
        api, everyone, kind="ENTERED", first=1, after=page["pageInfo"]["endCursor"]
    )
    assert rows(page) == [("bob@example.com", "ENTERED")]
    assert page["pageInfo"]["hasNextPage"] is True
    assert (await changes(api, everyone, since="2030-01-01T00:00:00Z"))["edges"] == []
    assert (await changes(api, everyone, first=0))["edges"] == []

    assert rows(await changes(api, customers)) == [("ada@example.com", "ENTERED")]
    # The other account sees its own changes only, and not ours through our segment's ID.
    assert rows(await changes(other, their_segment)) == [("ada@example.com", "ENTERED")]
    assert (await other.run(CHANGES, {"id": everyone}))["node"] is None


async def test_a_deleted_contacts_changes_keep_its_id(api: Api) -> None:
    data = await build(api)
    everyone = (await segment_ids(api))["ALL_CONTACTS"]
    cy_id = data["contacts"]["cy@example.com"]
    await log_change(api, everyone, pk(cy_id, "Contact"), MembershipChangeKind.ENTERED, T0)
    await log_change(
        api,
        everyone,
        pk(data["contacts"]["ada@example.com"], "Contact"),
        MembershipChangeKind.ENTERED,
        T0,
    )
    deleted = (await api.run(DELETE_CONTACTS, {"ids": [cy_id]}))["contactsDelete"]
    assert deleted["deletedContactIds"] == [cy_id]

    page = await changes(api, everyone)

    [gone, kept] = [edge["node"] for edge in page["edges"]]
    assert gone["contact"] is None and gone["contactId"] == cy_id and gone["kind"] == "ENTERED"
    assert kept["contact"]["email"] == "Ada@Example.com"


async def test_changes_refuse_foreign_cursors_and_times_out_of_range(api: Api) -> None:
    everyone = (await segment_ids(api))["ALL_CONTACTS"]
    tags_cursor = base64.urlsafe_b64encode(json.dumps(["tags", "a", 1]).encode()).decode()
    for variables in (
        {"after": "junk"},
        {"after": tags_cursor},
        {"since": "1800-01-01T00:00:00Z"},
        {"first": 501},
        {"first": -1},
    ):
        errors = await api.errors(CHANGES, {"id": everyone, **variables})
        assert "Traceback" not in errors[0]["message"], errors
        assert errors[0]["extensions"]["code"] in ("BAD_REQUEST", "OUT_OF_RANGE"), errors


async def _one_by_one(info: object, pk: int) -> None:
    raise AssertionError(f"contact {pk} read on its own")


async def test_a_page_of_changes_reads_its_contacts_in_one_query(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = await build(api)
    everyone = (await segment_ids(api))["ALL_CONTACTS"]
    contacts = [pk(c, "Contact") for c in data["contacts"].values()]
    for i in range(12):
        await log_change(
            api, everyone, contacts[i % 4], MembershipChangeKind.ENTERED, T0 + timedelta(minutes=i)
        )

    # Each change's contact is read with the page, never one by one, and the executor reads
    # it where the page left it (app.graphql.execution's prefetched relations).
    monkeypatch.setattr(membership_types, "_load_contact", _one_by_one)
    change_type = schema._schema.type_map["MembershipChange"]
    assert _nested(change_type, "contact") is not None  # type: ignore[arg-type]
    counts = []
    for first in (2, 12):
        with queries() as log:
            page = await changes(api, everyone, first=first)
        assert len(page["edges"]) == first
        counts.append(len(log.statements))
    assert counts[0] == counts[1], counts


# -- snapshots ---------------------------------------------------------------------------------


async def test_a_snapshot_freezes_the_members_and_pages_them(api: Api, other: Api) -> None:
    data = await build(api)
    everyone = (await segment_ids(api))["ALL_CONTACTS"]

    payload = (await api.run(SNAPSHOT_CREATE, {"id": everyone}))["segmentSnapshotCreate"]

    assert payload["userErrors"] == []
    snapshot = payload["snapshot"]
    assert snapshot["count"] == 4
    assert snapshot["segment"]["id"] == everyone
    created, expires = (datetime.fromisoformat(snapshot[k]) for k in ("createdAt", "expiresAt"))
    assert expires - created == timedelta(days=app_settings.current().snapshot_retention_days)
    assert (await api.run(NODE, {"id": snapshot["id"]}))["node"] == {
        "__typename": "SegmentSnapshot",
        "id": snapshot["id"],
    }
    # A contact who joins later is not in it.
    await api.run(
        'mutation { contactsUpsert(input: [{email: "late@example.com"}]) { userErrors { code } } }'
    )

    by_id = sorted(data["contacts"].values(), key=lambda g: pk(g, "Contact"))
    emails: list[str] = []
    ids: list[str] = []
    after = None
    while True:
        node = (
            await api.run(SNAPSHOT_MEMBERS, {"id": snapshot["id"], "first": 3, "after": after})
        )["node"]
        members = node["members"]
        assert members["totalCount"] == 4
        assert members["pageInfo"]["hasPreviousPage"] == (after is not None)
        ids += [e["node"]["id"] for e in members["edges"]]
        emails += [e["node"]["email"] for e in members["edges"]]
        if not members["pageInfo"]["hasNextPage"]:
            break
        after = members["pageInfo"]["endCursor"]
    assert ids == by_id  # by contact id
    assert "late@example.com" not in emails
    whole = (await api.run(SNAPSHOT_MEMBERS, {"id": snapshot["id"]}))["node"]["members"]
    tags = {e["node"]["email"]: [t["name"] for t in e["node"]["tags"]] for e in whole["edges"]}
    assert tags["bob@example.com"] == ["VIP", "webinar"]

    # An erased contact drops out of the pages and the total; the frozen count stays.
    await api.run(DELETE_CONTACTS, {"ids": [data["contacts"]["bob@example.com"]]})
    node = (await api.run(SNAPSHOT_MEMBERS, {"id": snapshot["id"]}))["node"]
    assert node["count"] == 4 and node["members"]["totalCount"] == 3
    assert "bob@example.com" not in [e["node"]["email"] for e in node["members"]["edges"]]

    # Another account sees nothing of it.
    assert (await other.run(NODE, {"id": snapshot["id"]}))["node"] is None
    assert (await other.run(SNAPSHOT_MEMBERS, {"id": snapshot["id"]}))["node"] is None


async def test_a_snapshot_outlives_its_segment(api: Api) -> None:
    await build(api)
    created = (await api.run(SEGMENT_CREATE, {"name": "Buyers"}))["segmentCreate"]
    segment = created["segment"]["id"]
    snapshot = (await api.run(SNAPSHOT_CREATE, {"id": segment}))["segmentSnapshotCreate"][
        "snapshot"
    ]
    assert snapshot["count"] == 1 and snapshot["segment"]["name"] == "Buyers"

    deleted = await api.run(
        "mutation($id: ID!) { segmentDelete(id: $id, confirm: true) { userErrors { code } } }",
        {"id": segment},
    )
    assert deleted["segmentDelete"]["userErrors"] == []

    node = (await api.run(SNAPSHOT_MEMBERS, {"id": snapshot["id"]}))["node"]
    assert node["segment"] is None
    assert [e["node"]["email"] for e in node["members"]["edges"]] == ["Ada@Example.com"]


async def test_a_snapshot_of_no_segment_is_not_found(api: Api, other: Api) -> None:
    theirs = (await segment_ids(other))["ALL_CONTACTS"]
    contact = to_global_id("Contact", 1)
    for bad in (theirs, "junk", contact, to_global_id("Segment", 2**62)):
        payload = (await api.run(SNAPSHOT_CREATE, {"id": bad}))["segmentSnapshotCreate"]
        assert payload["snapshot"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["id"], "NOT_FOUND")]


async def test_snapshot_members_refuse_foreign_cursors(api: Api) -> None:
    await build(api)
    everyone = (await segment_ids(api))["ALL_CONTACTS"]
    snapshot = (await api.run(SNAPSHOT_CREATE, {"id": everyone}))["segmentSnapshotCreate"]
    changes_cursor = base64.urlsafe_b64encode(json.dumps(["changes", None, 1]).encode()).decode()
    for after in ("junk", changes_cursor):
        errors = await api.errors(
            SNAPSHOT_MEMBERS, {"id": snapshot["snapshot"]["id"], "after": after}
        )
        assert errors[0]["extensions"]["code"] == "BAD_REQUEST"


# -- webhooks -----------------------------------------------------------------------------------


async def create_webhook(api: Api, **fields: Any) -> dict[str, Any]:
    input = {"url": HOOK_URL, "events": ["SEGMENT_MEMBERSHIP_CHANGED"], **fields}
    payload = (await api.run(WEBHOOK_CREATE, {"input": input}))["webhookCreate"]
    assert isinstance(payload, dict)
    return payload


@pytest.mark.usefixtures("allow_private")
async def test_webhook_create_shows_the_secret_once(api: Api, other: Api) -> None:
    ids = await segment_ids(api)
    customers, everyone = ids["CUSTOMERS"], ids["ALL_CONTACTS"]

    payload = await create_webhook(
        api,
        events=["SEGMENT_MEMBERSHIP_CHANGED", "BULK_JOB_FINISHED"],
        segments=[customers, everyone],
    )

    assert payload["userErrors"] == []
    assert payload["secret"] and payload["secret"].startswith("whsec_")
    webhook = payload["webhook"]
    assert webhook["url"] == HOOK_URL
    assert webhook["events"] == ["SEGMENT_MEMBERSHIP_CHANGED", "BULK_JOB_FINISHED"]
    assert webhook["allSegments"] is False
    assert [s["id"] for s in webhook["segments"]] == [customers, everyone]
    # The secret is nowhere else: not a field of Webhook, not in a listing.
    assert "secret" not in schema._schema.type_map["Webhook"].fields  # type: ignore[attr-defined]
    errors = await api.errors("{ webhooks { edges { node { secret } } } }")
    assert "secret" in errors[0]["message"]
    listed = (await api.run(WEBHOOKS))["webhooks"]
    assert payload["secret"] not in json.dumps(listed)
    assert (await api.run(NODE, {"id": webhook["id"]}))["node"] == {
        "__typename": "Webhook",
        "id": webhook["id"],
    }

    # Without segments: every segment.
    every = await create_webhook(api, events=["MAINTENANCE_RUN_FINISHED"])
    assert every["webhook"]["allSegments"] is True and every["webhook"]["segments"] == []
    assert (await create_webhook(api, segments=[]))["webhook"]["allSegments"] is True
    assert every["secret"] != payload["secret"]

    # The other account sees none of them.
    assert (await other.run(WEBHOOKS))["webhooks"]["totalCount"] == 0
    assert (await other.run(NODE, {"id": webhook["id"]}))["node"] is None
    assert (await other.run(DELIVERIES, {"id": webhook["id"]}))["node"] is None


@pytest.mark.usefixtures("allow_private")
async def test_webhook_segments_that_name_nothing_are_not_found(api: Api, other: Api) -> None:
    everyone = (await segment_ids(api))["ALL_CONTACTS"]
    theirs = (await segment_ids(other))["ALL_CONTACTS"]
    contact = to_global_id("Contact", 1)

    for segments, index in (
        (["junk"], "0"),
        ([everyone, contact], "1"),
        ([everyone, everyone, theirs], "2"),
        ([everyone, to_global_id("Segment", 2**62)], "1"),
    ):
        payload = await create_webhook(api, segments=segments)
        assert payload["webhook"] is None and payload["secret"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            (["input", "segments", index], "NOT_FOUND")
        ], segments
    assert (await api.run(WEBHOOKS))["webhooks"]["totalCount"] == 0


async def test_webhooks_to_private_addresses_are_refused_by_default(api: Api) -> None:
    payload = await create_webhook(api)
    assert payload["webhook"] is None and payload["secret"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "url"], "URL_NOT_ALLOWED")
    ]
    payload = await create_webhook(api, events=[])
    assert [e["field"] for e in payload["userErrors"]] == [["input", "events"]]


@pytest.mark.usefixtures("allow_private")
async def test_webhook_list_newest_first_and_segments_that_still_exist(api: Api) -> None:
    await build(api)
    buyers = (await api.run(SEGMENT_CREATE, {"name": "Buyers"}))["segmentCreate"]["segment"]["id"]
    everyone = (await segment_ids(api))["ALL_CONTACTS"]
    made = [
        (await create_webhook(api, url=f"{HOOK_URL}/{i}", segments=[buyers, everyone]))["webhook"]
        for i in range(3)
    ]

    seen: list[str] = []
    after = None
    while True:
        page = (await api.run(WEBHOOKS, {"first": 2, "after": after}))["webhooks"]
        assert page["totalCount"] == 3
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [w["id"] for w in reversed(made)]

    await api.run(
        "mutation($id: ID!) { segmentDelete(id: $id, confirm: true) { userErrors { code } } }",
        {"id": buyers},
    )
    listed = (await api.run(WEBHOOKS))["webhooks"]["edges"]
    assert all(e["node"]["segments"] == [{"name": "All Contacts"}] for e in listed), listed


@pytest.mark.usefixtures("allow_private")
async def test_webhook_delete_needs_confirmation_and_the_callers_webhook(
    api: Api, other: Api
) -> None:
    webhook = (await create_webhook(api))["webhook"]["id"]
    theirs = (await create_webhook(other))["webhook"]["id"]

    def outcome(payload: dict[str, Any]) -> tuple[Any, list[tuple[Any, str]]]:
        body = payload["webhookDelete"]
        return body["deletedWebhookId"], [(e["field"], e["code"]) for e in body["userErrors"]]

    refused = await api.run(WEBHOOK_DELETE, {"id": webhook, "confirm": False})
    assert outcome(refused) == (None, [(["confirm"], "CONFIRMATION_REQUIRED")])
    assert (await api.run(NODE, {"id": webhook}))["node"] is not None
    for bad in (theirs, "junk", to_global_id("Segment", pk(webhook, "Webhook"))):
        answer = await api.run(WEBHOOK_DELETE, {"id": bad, "confirm": True})
        assert outcome(answer) == (None, [(["id"], "NOT_FOUND")])
    assert (await other.run(NODE, {"id": theirs}))["node"] is not None

    deleted = await api.run(WEBHOOK_DELETE, {"id": webhook, "confirm": True})
    assert outcome(deleted) == (webhook, [])
    assert (await api.run(NODE, {"id": webhook}))["node"] is None
    again = await api.run(WEBHOOK_DELETE, {"id": webhook, "confirm": True})
    assert outcome(again) == (None, [(["id"], "NOT_FOUND")])


@pytest.mark.usefixtures("allow_private")
async def test_webhook_deliveries_newest_first(api: Api) -> None:
    webhook = (await create_webhook(api))["webhook"]["id"]
    webhook_pk = pk(webhook, "Webhook")
    made = []
    for i in range(5):
        delivery = await WebhookDelivery.create(
            account_id=api.account.id,
            webhook_id=webhook_pk,
            event=WebhookEvent.SEGMENT_MEMBERSHIP_CHANGED,
            event_id=f"evt_{i}",
            body="{}",
            status=DeliveryStatus.FAILED if i == 0 else DeliveryStatus.PENDING,
            attempts=3 if i == 0 else 0,
            last_attempt_at=T0 if i == 0 else None,
            response_status=500 if i == 0 else None,
            error="HTTP 500" if i == 0 else None,
            created_at=T0 + timedelta(minutes=i),
        )
        made.append(delivery.id)

    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await api.run(DELIVERIES, {"id": webhook, "first": 2, "after": after}))["node"][
            "deliveries"
        ]
        assert page["totalCount"] == 5
        seen += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [pk(d["id"], "WebhookDelivery") for d in seen] == list(reversed(made))
    oldest = seen[-1]
    assert oldest == {
        "id": oldest["id"],
        "event": "SEGMENT_MEMBERSHIP_CHANGED",
        "status": "FAILED",
        "attempts": 3,
        "lastAttemptAt": oldest["lastAttemptAt"],
        "responseStatus": 500,
        "error": "HTTP 500",
        "createdAt": oldest["createdAt"],
    }
    assert datetime.fromisoformat(oldest["lastAttemptAt"]) == T0
    assert seen[0]["status"] == "PENDING" and seen[0]["lastAttemptAt"] is None


# -- the schema and the cost limit ---------------------------------------------------------------


def test_the_contract_shapes() -> None:
    text = sdl()
    for line in (
        "changes(first: Int = null, after: String = null, since: DateTime = null, kind: MembershipChangeKind = null): MembershipChangeConnection!",
        "type SegmentSnapshot implements Node",
        "type Webhook implements Node",
        "webhooks(first: Int = null, after: String = null): WebhookConnection!",
        "segmentSnapshotCreate(id: ID!): SegmentSnapshotPayload!",
        "webhookCreate(input: WebhookInput!): WebhookPayload!",
        "webhookDelete(id: ID!, confirm: Boolean!): WebhookDeletePayload!",
        "deliveries(first: Int = null, after: String = null): WebhookDeliveryConnection!",
    ):
        assert line in text, line
    types = schema._schema.type_map

    def fields(name: str) -> set[str]:
        return set(types[name].fields)  # type: ignore[attr-defined]

    assert {"contact", "contactId", "kind", "at"} <= fields("MembershipChange")
    assert {"id", "segment", "count", "createdAt", "expiresAt", "members"} <= fields(
        "SegmentSnapshot"
    )
    assert {"id", "url", "events", "segments", "createdAt", "deliveries"} <= fields("Webhook")
    assert {
        "id",
        "event",
        "status",
        "attempts",
        "lastAttemptAt",
        "responseStatus",
        "error",
        "createdAt",
    } <= fields("WebhookDelivery")
    assert fields("WebhookPayload") == {"webhook", "secret", "userErrors"}
    assert fields("SegmentSnapshotPayload") == {"snapshot", "userErrors"}
    assert fields("WebhookDeletePayload") == {"deletedWebhookId", "userErrors"}
    assert set(types["WebhookInput"].fields) == {"url", "events", "segments"}  # type: ignore[attr-defined]
    assert str(types["MembershipChange"].fields["contactId"].type) == "ID!"  # type: ignore[attr-defined]
    assert str(types["MembershipChange"].fields["contact"].type) == "Contact"  # type: ignore[attr-defined]


def cost(query: str) -> int:
    return query_cost(schema._schema, parse(query))


def test_the_new_connections_are_costed_like_the_others() -> None:
    changes = "{ segments(first: 10) { edges { node { changes(first: 500) { edges { node { kind contact { email } } } } } } } }"
    # 1 connection + 10 * (edge + segment + connection + 500 * (edge + change + contact))
    assert cost(changes) == 1 + 10 * (2 + 1 + 500 * 3)
    assert cost("{ webhooks { edges { node { url } } } }") == 1 + DEFAULT_PAGE * 2
    hooks = "{ webhooks(first: 100) { edges { node { segments { name } deliveries(first: 100) { edges { node { id } } } } } } }"
    assert cost(hooks) == 1 + 100 * (2 + LIST_OF_OBJECTS + 1 + 100 * 2)
    members = 'query { node(id: "x") { ... on SegmentSnapshot { members(first: 500) { edges { node { email } } } } } }'
    assert cost(members) == 1 + 1 + 500 * 2


async def test_a_hostile_page_of_changes_is_refused_before_it_runs(api: Api) -> None:
    query = (
        "{ segments(first: 100) { edges { node { changes(first: 500) { edges { node { "
        "contact { email } } } } } } } }"
    )
    errors = await api.errors(query)
    assert errors[0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
