"""Tenant isolation, walked over the schema: every field or mutation that takes an ID, given
another account's ID, answers null or NOT_FOUND and changes nothing. The schema is read by
introspection, so a new field that takes an ID and is missing here fails the test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)

from api.data import build
from api.support import Api, settle
from app.filters.ids import to_global_id
from app.graphql.schema import schema
from app.models import (
    Contact,
    ContactTag,
    OwnedProduct,
    Segment,
    SegmentSnapshot,
    Tag,
    Webhook,
)


def _takes_id(kind: GraphQLInputType, seen: set[str]) -> bool:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    if isinstance(kind, GraphQLScalarType):
        return kind.name == "ID"
    if isinstance(kind, GraphQLInputObjectType) and kind.name not in seen:
        seen.add(kind.name)
        return any(_takes_id(f.type, seen) for f in kind.fields.values())
    return False


def fields_taking_ids() -> set[str]:
    found = set()
    for type_name, kind in schema._schema.type_map.items():
        if type_name.startswith("__") or not isinstance(kind, GraphQLObjectType):
            continue
        for name, field in kind.fields.items():
            if any(_takes_id(arg.type, set()) for arg in field.args.values()):
                found.add(f"{type_name}.{name}")
    return found


async def snapshot(api: Api) -> dict[str, Any]:
    account = api.account
    return {
        "segments": sorted(
            await Segment.filter(account=account).values_list(
                "id", "name", "filter_json", "count_stale"
            )
        ),
        "contacts": sorted(
            await Contact.filter(account=account).values_list("id", "email", "updated_at")
        ),
        "tags": sorted(
            await ContactTag.filter(account=account).values_list("contact_id", "tag_id")
        ),
        "tag_names": sorted(await Tag.filter(account=account).values_list("name", flat=True)),
        "owned": sorted(
            await OwnedProduct.filter(account=account).values_list(
                "contact_id", "product_id", "progress"
            )
        ),
    }


def user_error(payload: dict[str, Any], code: str = "NOT_FOUND") -> None:
    assert payload["userErrors"], payload
    assert {e["code"] for e in payload["userErrors"]} == {code}, payload


async def test_every_id_taking_field_is_scoped_to_the_callers_account(api: Api, other: Api) -> None:
    theirs = await build(other)
    segment = (
        await other.run(
            'mutation { segmentCreate(input: {name: "Theirs", filter: {isCustomer: true}}) { segment { id } } }'
        )
    )["segmentCreate"]["segment"]["id"]
    job = (
        await other.run(
            'mutation($id: ID!) { segmentTag(id: $id, add: ["x"]) { job { id } } }', {"id": segment}
        )
    )["segmentTag"]["job"]["id"]
    await settle()
    await build(api)
    mine = await api.run(
        'mutation { segmentCreate(input: {name: "Mine", filter: {isCustomer: true}}) { segment { id } } }'
    )
    my_segment = mine["segmentCreate"]["segment"]["id"]
    contact, product = theirs["contacts"]["ada@example.com"], theirs["products"]["course-1"]
    before = await snapshot(other)

    async def node() -> None:
        for foreign in (segment, contact, product, job):
            assert (await api.run("query($id: ID!) { node(id: $id) { id } }", {"id": foreign}))[
                "node"
            ] is None

    async def bulk_job() -> None:
        assert (await api.run("query($id: ID!) { bulkJob(id: $id) { id } }", {"id": job}))[
            "bulkJob"
        ] is None

    async def contacts() -> None:
        for f in (
            {"products": {"ownsAny": [product]}},
            {"segment": {"in": segment}},
            {"productProgress": {"product": product, "percent": {"gte": 0}}},
            {"purchases": {"product": product}},
        ):
            errors = await api.errors(
                "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }", {"f": f}
            )
            assert errors[0]["extensions"]["code"] == "INVALID_FILTER"

    async def preview() -> None:
        errors = await api.errors(
            "query($f: ContactFilter!) { segmentPreview(filter: $f) { count } }",
            {"f": {"segment": {"in": segment}}},
        )
        assert errors[0]["extensions"]["code"] == "INVALID_FILTER"

    async def explain() -> None:
        errors = await api.errors(
            "query($s: ID!, $c: ID!) { node(id: $s) { ... on Segment { explain(contactId: $c) { matches } } } }",
            {"s": my_segment, "c": contact},
        )
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"

    async def segment_create() -> None:
        payload = (
            await api.run(
                'mutation($f: ContactFilter!) { segmentCreate(input: {name: "x", filter: $f}) { segment { id } userErrors { code } } }',
                {"f": {"products": {"ownsNone": [product]}}},
            )
        )["segmentCreate"]
        user_error(payload, "INVALID_FILTER")

    async def segment_update() -> None:
        payload = (
            await api.run(
                'mutation($id: ID!) { segmentUpdate(id: $id, input: {name: "Hijacked", filter: {isExcluded: true}}) { segment { id } userErrors { code } } }',
                {"id": segment},
            )
        )["segmentUpdate"]
        user_error(payload)
        payload = (
            await api.run(
                'mutation($id: ID!, $f: ContactFilter!) { segmentUpdate(id: $id, input: {name: "Mine", filter: $f}) { userErrors { code } } }',
                {"id": my_segment, "f": {"segment": {"in": segment}}},
            )
        )["segmentUpdate"]
        user_error(payload, "INVALID_FILTER")

    async def segment_delete() -> None:
        payload = (
            await api.run(
                "mutation($id: ID!) { segmentDelete(id: $id, confirm: true) { deletedSegmentId userErrors { code } } }",
                {"id": segment},
            )
        )["segmentDelete"]
        user_error(payload)

    async def segment_tag() -> None:
        payload = (
            await api.run(
                'mutation($id: ID!) { segmentTag(id: $id, add: ["pwned"]) { job { id } userErrors { code } } }',
                {"id": segment},
            )
        )["segmentTag"]
        user_error(payload)

    async def segment_refresh() -> None:
        payload = (
            await api.run(
                "mutation($id: ID!) { segmentRefreshCount(id: $id) { segment { id } userErrors { code } } }",
                {"id": segment},
            )
        )["segmentRefreshCount"]
        user_error(payload)

    async def contacts_tag() -> None:
        payload = (
            await api.run(
                'mutation($ids: [ID!]!) { contactsTag(ids: $ids, add: ["pwned"], remove: ["vip"]) { contacts { id } userErrors { code } } }',
                {"ids": [contact]},
            )
        )["contactsTag"]
        user_error(payload)

    async def contacts_delete() -> None:
        payload = (
            await api.run(
                "mutation($ids: [ID!]!) { contactsDelete(ids: $ids, confirm: true) { deletedContactIds userErrors { code } } }",
                {"ids": [contact]},
            )
        )["contactsDelete"]
        assert payload["deletedContactIds"] == []
        user_error(payload)

    async def offers_grant() -> None:
        payload = (
            await api.run(
                'mutation($p: ID!) { offersGrant(input: [{email: "ada@example.com", product: $p, source: GRANT, progress: 99}]) { count userErrors { code } } }',
                {"p": product},
            )
        )["offersGrant"]
        assert payload["count"] == 0
        user_error(payload, "PRODUCT_NOT_FOUND")

    their_webhook = await Webhook.create(
        account_id=other.account.id,
        url="https://example.com/hook",
        events=["SEGMENT_MEMBERSHIP_CHANGED"],
        segment_ids=[],
        secret="whsec_theirs",
        created_at=datetime.now(UTC),
    )
    their_webhook_id = to_global_id("Webhook", their_webhook.id)

    async def snapshot_create() -> None:
        payload = (
            await api.run(
                "mutation($id: ID!) { segmentSnapshotCreate(id: $id) { snapshot { id } userErrors { code field } } }",
                {"id": segment},
            )
        )["segmentSnapshotCreate"]
        assert payload["snapshot"] is None
        user_error(payload)
        assert not await SegmentSnapshot.exists(account_id=api.account.id)

    async def webhook_create() -> None:
        payload = (
            await api.run(
                'mutation($s: [ID!]) { webhookCreate(input: {url: "https://example.com/mine", events: [SEGMENT_MEMBERSHIP_CHANGED], segments: $s}) { webhook { id } secret userErrors { code field } } }',
                {"s": [my_segment, segment]},
            )
        )["webhookCreate"]
        assert payload["webhook"] is None and payload["secret"] is None
        user_error(payload)
        assert payload["userErrors"][0]["field"] == ["input", "segments", "1"]

    async def webhook_delete() -> None:
        payload = (
            await api.run(
                "mutation($id: ID!) { webhookDelete(id: $id, confirm: true) { deletedWebhookId userErrors { code } } }",
                {"id": their_webhook_id},
            )
        )["webhookDelete"]
        assert payload["deletedWebhookId"] is None
        user_error(payload)
        assert await Webhook.exists(id=their_webhook.id)
        assert (
            await api.run("query($id: ID!) { node(id: $id) { id } }", {"id": their_webhook_id})
        )["node"] is None

    checks: dict[str, Callable[[], Awaitable[None]]] = {
        "Query.node": node,
        "Query.bulkJob": bulk_job,
        "Query.contacts": contacts,
        "Query.segmentPreview": preview,
        "Segment.explain": explain,
        "Mutation.segmentCreate": segment_create,
        "Mutation.segmentUpdate": segment_update,
        "Mutation.segmentDelete": segment_delete,
        "Mutation.segmentTag": segment_tag,
        "Mutation.segmentRefreshCount": segment_refresh,
        "Mutation.contactsTag": contacts_tag,
        "Mutation.contactsDelete": contacts_delete,
        "Mutation.offersGrant": offers_grant,
        "Mutation.segmentSnapshotCreate": snapshot_create,
        "Mutation.webhookCreate": webhook_create,
        "Mutation.webhookDelete": webhook_delete,
    }
    assert fields_taking_ids() == set(checks), (
        "add a tenancy check for every field that takes an ID"
    )
    for check in checks.values():
        await check()
    await settle()
    assert await snapshot(other) == before
