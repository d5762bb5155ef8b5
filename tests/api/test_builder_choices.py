"""What a filter builder offers to pick from: customFieldKeys and campaigns, on both databases."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from api.data import EVENTS, UPSERT
from api.support import Api

KEYS = "{ customFieldKeys { key kinds contactCount } }"
CAMPAIGNS = """
query($first: Int, $after: String) {
  campaigns(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name firstEventAt lastEventAt sent } }
  }
}"""
COUNT = "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }"
NOW = datetime.now(UTC).replace(microsecond=0)


async def upsert(api: Api, *contacts: dict[str, Any]) -> None:
    payload = (await api.run(UPSERT, {"input": list(contacts)}))["contactsUpsert"]
    assert payload["userErrors"] == []


async def test_custom_field_keys_with_their_kinds_and_holders(api: Api, other: Api) -> None:
    await upsert(
        api,
        {
            "email": "ada@example.com",
            "customFields": {
                "plan": "pro",
                "score": 12,
                "joined": "2024-01-02",
                "note": "2024-01-02T10:00 and more",
                "vip": True,
                "meta": {"a": [1, None]},
                "mixed": "x",
            },
        },
        {
            "email": "bob@example.com",
            "customFields": {"plan": "team", "score": "12", "joined": "soon", "mixed": 3.5},
        },
        {"email": "cy@example.com"},
    )
    await upsert(other, {"email": "zed@example.com", "customFields": {"secret": 1}})

    keys = (await api.run(KEYS))["customFieldKeys"]

    assert keys == [
        {"key": "joined", "kinds": ["STRING", "DATE"], "contactCount": 2},
        {"key": "meta", "kinds": ["OTHER"], "contactCount": 1},
        {"key": "mixed", "kinds": ["STRING", "NUMBER"], "contactCount": 2},
        {"key": "note", "kinds": ["DATE"], "contactCount": 1},
        {"key": "plan", "kinds": ["STRING"], "contactCount": 2},
        {"key": "score", "kinds": ["STRING", "NUMBER"], "contactCount": 2},
        {"key": "vip", "kinds": ["BOOLEAN"], "contactCount": 1},
    ]
    # The kinds are the filter's: a date condition sees the DATE values, `exists` the holders.
    for key, dates in (("joined", 1), ("note", 1), ("plan", 0)):
        since = {"customField": {"key": key, "date": {"after": "1900-01-01T00:00:00Z"}}}
        assert (await api.run(COUNT, {"f": since}))["contacts"]["totalCount"] == dates, key
    for found in keys:
        exists = {"customField": {"key": found["key"], "exists": True}}
        total = (await api.run(COUNT, {"f": exists}))["contacts"]["totalCount"]
        assert total == found["contactCount"], found


async def test_an_account_without_fields_or_events_offers_nothing(api: Api) -> None:
    await upsert(api, {"email": "ada@example.com"})

    assert (await api.run(KEYS))["customFieldKeys"] == []
    empty = (await api.run(CAMPAIGNS))["campaigns"]
    assert empty["totalCount"] == 0 and empty["edges"] == []
    assert empty["pageInfo"]["hasNextPage"] is False and empty["pageInfo"]["endCursor"] is None


def at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


async def record(api: Api, *events: tuple[str, str, str | None, float]) -> None:
    items = [
        {"email": email, "kind": kind, "campaign": campaign, "occurredAt": at(hours)}
        for email, kind, campaign, hours in events
    ]
    payload = (await api.run(EVENTS, {"input": items}))["emailEventsRecord"]
    assert payload["userErrors"] == [], payload


async def test_campaigns_newest_first_with_their_sends(api: Api, other: Api) -> None:
    await upsert(api, {"email": "ada@example.com"}, {"email": "bob@example.com"})
    await upsert(other, {"email": "zed@example.com"})
    await record(
        api,
        ("ada@example.com", "SENT", "spring", 50),
        ("bob@example.com", "SENT", "spring", 49),
        ("ada@example.com", "OPENED", "spring", 10),
        ("ada@example.com", "SENT", "launch", 30),
        ("bob@example.com", "CLICKED", "launch", 5),
        ("ada@example.com", "OPENED", "webinar", 5),  # the same last event as launch
        ("bob@example.com", "SENT", None, 1),  # no campaign: not one
    )
    await record(other, ("zed@example.com", "SENT", "theirs", 1))

    answer = (await api.run(CAMPAIGNS))["campaigns"]

    assert answer["totalCount"] == 3
    nodes = [edge["node"] for edge in answer["edges"]]
    assert [n["name"] for n in nodes] == ["launch", "webinar", "spring"]
    assert [n["sent"] for n in nodes] == [1, 0, 2]
    spring = nodes[2]
    assert datetime.fromisoformat(spring["firstEventAt"]) == NOW - timedelta(hours=50)
    assert datetime.fromisoformat(spring["lastEventAt"]) == NOW - timedelta(hours=10)
    assert answer["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": answer["edges"][0]["cursor"],
        "endCursor": answer["edges"][-1]["cursor"],
    }

    # Page by page, with the cursors: the same campaigns in the same order.
    names: list[str] = []
    after = None
    while True:
        page = (await api.run(CAMPAIGNS, {"first": 1, "after": after}))["campaigns"]
        names += [edge["node"]["name"] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert names == ["launch", "webinar", "spring"]

    assert [e["node"]["name"] for e in (await other.run(CAMPAIGNS))["campaigns"]["edges"]] == [
        "theirs"
    ]


def cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


async def test_a_foreign_cursor_is_refused(api: Api) -> None:
    good = cursor("campaigns", at(1), "launch")
    assert (await api.run(CAMPAIGNS, {"after": good}))["campaigns"]["edges"] == []
    for foreign in (
        "junk",
        cursor(),
        cursor("tags", "a", 1),
        cursor("campaigns", "0001-01-01T00:00:00+00:00", "launch"),
        cursor("campaigns", "2024-01-01T00:00:00", "launch"),  # no offset
        cursor("campaigns", at(1), "a\x00b"),
        cursor("campaigns", at(1), 7),
        cursor("campaigns", at(1), "x" * 201),
    ):
        errors = await api.errors(CAMPAIGNS, {"first": 1, "after": foreign})
        assert "cursor" in errors[0]["message"], foreign
    errors = await api.errors(CAMPAIGNS, {"first": 501})
    assert "Page size" in errors[0]["message"]
