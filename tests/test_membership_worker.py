"""Membership changes on the production stack (the API and a real Celery worker on PostgreSQL
and Redis): events and tag changes move contacts in and out of a segment; the count refresh the
worker runs records exactly the ENTERED and LEFT rows that the plain-Python reference evaluator
gives from the data before and after; `Segment.changes` serves them; and a webhook receiver on
a loopback port gets them as signed SEGMENT_MEMBERSHIP_CHANGED deliveries, each id once after
deduplication."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from app.enums import EmailEventKind
from app.filters import codec
from filters import reference
from processes import free_port, graphql, new_token, running, segments, until, wait_ready
from webhook_receiver import Receiver, receiving

NOW = datetime.now(UTC)
# Opened at least twice in the last 30 days, and tagged "vip".
FILTER = {
    "and": [
        {
            "emailActivity": {
                "event": "OPENED",
                "count": {"gte": 2},
                "window": {"withinLastDays": 30},
            }
        },
        {"tags": {"hasAny": ["vip"]}},
    ]
}
PEOPLE = [f"p{i}@x.io" for i in range(12)]
TAG = 'mutation($ids: [ID!]!) { contactsTag(ids: $ids, VERB: ["vip"]) { userErrors { code } } }'
RECORD = (
    "mutation($e: [EmailEventInput!]!) { emailEventsRecord(input: $e) { userErrors { code } } }"
)
UPSERT = (
    "mutation($c: [ContactInput!]!) { contactsUpsert(input: $c) { "
    "contacts { id email } userErrors { code } } }"
)
CREATE = (
    'mutation($f: ContactFilter!) { segmentCreate(input: {name: "Engaged VIPs", filter: $f}) '
    "{ segment { id } } }"
)
HOOK = (
    "mutation($u: String!, $s: [ID!]) { webhookCreate(input: {url: $u, "
    "events: [SEGMENT_MEMBERSHIP_CHANGED], segments: $s}) { secret userErrors { code message } } }"
)
REFRESH = "mutation($id: ID!) { segmentRefreshCount(id: $id) { userErrors { code } } }"
COUNT = "query($id: ID!) { node(id: $id) { ... on Segment { count { computedAt isStale } } } }"


@pytest.fixture
def stack(empty_postgres: str, redis_server: str) -> Iterator[tuple[str, str]]:
    broker = redis.Redis.from_url(redis_server)
    broker.flushdb()
    env = {
        "DATABASE_URL": empty_postgres,
        "REDIS_URL": redis_server,
        "SEGMENTS_WEBHOOKS_ALLOW_PRIVATE": "true",
        "SEGMENTS_WEBHOOK_RETRY_BASE_S": "1",
        "SEGMENTS_SWEEP_EVERY_S": "2",
    }
    assert segments("migrate", env=env).returncode == 0
    token = new_token(segments("create-account", "Moving", env=env).stdout)
    port = free_port()
    try:
        with running(["serve", "--port", str(port)], ["worker", "--concurrency", "2"], env=env):
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, lambda response: response.json()["checks"].get("redis") == "ok")
            yield f"{base}/graphql", token
    finally:
        broker.flushdb()


class World:
    """What the test sent, as reference contacts (the plain-Python model of the data)."""

    def __init__(self) -> None:
        self.contacts = {email: reference.Contact(i + 1, email) for i, email in enumerate(PEOPLE)}

    def members(self) -> set[str]:
        tree = codec.parse(FILTER)
        data = reference.Dataset(contacts=list(self.contacts.values()), tags=("vip",))
        ids = reference.members(tree, data, datetime.now(UTC))
        return {c.email for c in self.contacts.values() if c.id in ids}


def _call(url: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
    return graphql(url, token, query, **variables)


def _tag(
    url: str, token: str, world: World, ids: dict[str, str], emails: list[str], add: bool
) -> None:
    verb = "add" if add else "remove"
    done = _call(
        url,
        token,
        TAG.replace("VERB", verb),
        ids=[ids[e] for e in emails],
    )
    assert done["contactsTag"]["userErrors"] == []
    for email in emails:
        (world.contacts[email].tags.add if add else world.contacts[email].tags.discard)("vip")


def _open(url: str, token: str, world: World, email: str, days_ago: float) -> None:
    when = NOW - timedelta(days=days_ago)
    done = _call(
        url,
        token,
        RECORD,
        e=[{"email": email, "kind": "OPENED", "occurredAt": when.isoformat()}],
    )
    assert done["emailEventsRecord"]["userErrors"] == []
    world.contacts[email].events.append((EmailEventKind.OPENED, None, when))


def _refresh(url: str, token: str, segment: str) -> None:
    """Ask for a refresh and wait until the worker has counted after the ask."""
    asked = datetime.now(UTC)
    _call(url, token, REFRESH, id=segment)

    def counted() -> bool | None:
        state = _call(url, token, COUNT, id=segment)["node"]["count"]
        done = state["computedAt"] and datetime.fromisoformat(state["computedAt"]) >= asked
        return True if done and not state["isStale"] else None

    until(counted, "the worker's count refresh")


def _changes(url: str, token: str, segment: str, since: str | None = None) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    after = None
    while True:
        page = _call(
            url,
            token,
            "query($id: ID!, $after: String, $since: DateTime) { node(id: $id) { ... on Segment { "
            "changes(first: 5, after: $after, since: $since) { edges { node { kind contactId at "
            "contact { email } } } pageInfo { hasNextPage endCursor } } } } }",
            id=segment,
            after=after,
            since=since,
        )["node"]["changes"]
        found += [(e["node"]["contact"]["email"], e["node"]["kind"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


@pytest.mark.postgres
@pytest.mark.redis
def test_the_worker_records_who_entered_and_left_and_tells_the_webhook(
    stack: tuple[str, str],
) -> None:
    url, token = stack
    world = World()
    upserted = _call(
        url,
        token,
        UPSERT,
        c=[{"email": e} for e in PEOPLE],
    )["contactsUpsert"]
    ids = {c["email"]: c["id"] for c in upserted["contacts"]}
    # Before: p0-p5 tagged, p0-p3 and p6-p7 opened twice lately, p8 once.
    _tag(url, token, world, ids, PEOPLE[:6], add=True)
    for email in PEOPLE[:4] + PEOPLE[6:8]:
        _open(url, token, world, email, 1)
        _open(url, token, world, email, 2)
    _open(url, token, world, PEOPLE[8], 1)
    segment = _call(
        url,
        token,
        CREATE,
        f=FILTER,
    )["segmentCreate"]["segment"]["id"]
    _refresh(url, token, segment)
    before = world.members()
    assert before == set(PEOPLE[:4])
    assert _changes(url, token, segment) == []  # the first computation: no "before"

    with receiving() as receiver:
        secret = _call(
            url,
            token,
            HOOK,
            u=receiver.url("/ok"),
            s=[segment],
        )["webhookCreate"]
        assert secret["userErrors"] == []
        receiver.secrets["/ok"] = secret["secret"]

        # Moves: p1 and p2 lose the tag, p6 gains it (already opened twice), p8 opens again
        # and is tagged, p4 is tagged and opens twice; p9 opens twice without the tag.
        _tag(url, token, world, ids, PEOPLE[1:3], add=False)
        _tag(url, token, world, ids, [PEOPLE[6], PEOPLE[8]], add=True)
        _open(url, token, world, PEOPLE[8], 3)
        for days in (1, 4):
            _open(url, token, world, PEOPLE[4], days)
            _open(url, token, world, PEOPLE[9], days)
        marked = datetime.now(UTC).isoformat()
        _refresh(url, token, segment)
        after = world.members()

        expected = {(e, "ENTERED") for e in after - before} | {(e, "LEFT") for e in before - after}
        assert expected == {
            (PEOPLE[4], "ENTERED"), (PEOPLE[6], "ENTERED"), (PEOPLE[8], "ENTERED"),
            (PEOPLE[1], "LEFT"), (PEOPLE[2], "LEFT"),
        }  # fmt: skip
        changes = _changes(url, token, segment)
        assert sorted(changes) == sorted(expected)
        assert _changes(url, token, segment, since=marked) == changes

        def delivered(receiver: Receiver = receiver) -> list[Any] | None:
            got = receiver.of("/ok")
            return got or None

        until(delivered, "the SEGMENT_MEMBERSHIP_CHANGED delivery", seconds=60)
        time.sleep(1)  # a duplicate, if any, would come now
        unique = {r.id: r for r in receiver.of("/ok")}
        assert all(r.signed_ok for r in receiver.of("/ok"))
        assert len(unique) == 1
        [event] = unique.values()
        assert event.body["type"] == "SEGMENT_MEMBERSHIP_CHANGED"
        data = event.body["data"]
        assert data["segment"] == segment
        by_id = {v: k for k, v in ids.items()}
        assert {(by_id[i], "ENTERED") for i in data["entered"]} | {
            (by_id[i], "LEFT") for i in data["left"]
        } == expected
