"""contactsDelete through the API: confirmation, per-ID user errors, and what is gone after."""

from __future__ import annotations

import base64

from api.data import build
from api.support import Api, settle
from app.limits import MAX_DELETE_IDS
from app.services.counts import refresh_all_counts

DELETE = """
mutation($ids: [ID!]!, $confirm: Boolean!) {
  contactsDelete(ids: $ids, confirm: $confirm) { deletedContactIds userErrors { field code message } }
}"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
EVERYONE = "{ contacts { totalCount } segments(first: 1) { edges { node { count { isStale } } } } }"


async def test_confirmed_deletion_removes_the_contact_and_keeps_good_items(
    api: Api, other: Api
) -> None:
    mine, theirs = await build(api), await build(other)
    ada, bob = mine["contacts"]["ada@example.com"], mine["contacts"]["bob@example.com"]
    await settle()
    await refresh_all_counts(api.account.id)
    assert not (await api.run(EVERYONE))["segments"]["edges"][0]["node"]["count"]["isStale"]

    payload = (
        await api.run(
            DELETE,
            {
                "ids": [
                    ada,
                    "not-an-id",
                    theirs["contacts"]["ada@example.com"],
                    mine["products"]["course-1"],
                    bob,
                    ada,
                    base64.b64encode(b"Contact:007").decode(),
                ],
                "confirm": True,
            },
        )
    )["contactsDelete"]

    assert payload["deletedContactIds"] == [ada, bob]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["ids", "1"], "NOT_FOUND"),
        (["ids", "2"], "NOT_FOUND"),
        (["ids", "3"], "NOT_FOUND"),
        (["ids", "6"], "NOT_FOUND"),
    ]
    assert (await api.run(NODE, {"id": ada}))["node"] is None
    after = await api.run(EVERYONE)
    assert after["contacts"]["totalCount"] == 2
    assert after["segments"]["edges"][0]["node"]["count"]["isStale"]
    # The other account keeps its Ada.
    assert (await other.run(NODE, {"id": theirs["contacts"]["ada@example.com"]}))["node"]


async def test_without_confirmation_nothing_is_deleted(api: Api) -> None:
    data = await build(api)
    ada = data["contacts"]["ada@example.com"]

    payload = (await api.run(DELETE, {"ids": [ada, "junk"], "confirm": False}))["contactsDelete"]

    assert payload["deletedContactIds"] == []
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["confirm"], "CONFIRMATION_REQUIRED")
    ]
    assert (await api.run(NODE, {"id": ada}))["node"] == {"id": ada}


async def test_a_call_is_bounded(api: Api) -> None:
    data = await build(api)
    ada = data["contacts"]["ada@example.com"]

    payload = (await api.run(DELETE, {"ids": [ada] * (MAX_DELETE_IDS + 1), "confirm": True}))[
        "contactsDelete"
    ]

    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["ids"], "BATCH_TOO_LARGE")
    ]
    assert (await api.run(NODE, {"id": ada}))["node"] == {"id": ada}
