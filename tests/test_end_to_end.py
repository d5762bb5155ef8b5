"""The creator's workflow from the help article, end to end: a real uvicorn process on
PostgreSQL, driven by a real GraphQL client (gql over httpx)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport

from processes import free_port, new_token, running, segments, wait_ready


@pytest.fixture
def server(empty_postgres: str) -> Iterator[tuple[str, str]]:
    env = {"DATABASE_URL": empty_postgres, "SEGMENTS_ENV": "production", "REDIS_URL": ""}
    assert segments("migrate", env=env).returncode == 0
    token = new_token(segments("create-account", "Photo School", env=env).stdout)
    port = free_port()
    with running(["serve", "--port", str(port)], env=env):
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, lambda response: response.status_code == 200)
        yield f"{base}/graphql", token


async def _until(check: Any, what: str) -> Any:
    for _ in range(100):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres
async def test_the_creators_workflow(server: tuple[str, str]) -> None:
    url, token = server
    transport = HTTPXAsyncTransport(url=url, headers={"Authorization": f"Bearer {token}"})
    async with Client(transport=transport) as session:

        async def run(query: str, **variables: Any) -> dict[str, Any]:
            return await session.execute(GraphQLRequest(query, variable_values=variables))

        # Import contacts.
        people = [
            {
                "email": f"student{i}@example.com",
                "firstName": f"Student {i}",
                "subscriptionStatus": "SUBSCRIBED",
                "tags": ["webinar-2026"] if i % 2 else ["lead"],
            }
            for i in range(10)
        ]
        imported = await run(
            "mutation($input: [ContactInput!]!) { contactsUpsert(input: $input) { contacts { id } userErrors { code } } }",
            input=people,
        )
        assert len(imported["contactsUpsert"]["contacts"]) == 10
        # Filter them: category, conditional, value.
        webinar = {"tags": {"hasAny": ["Webinar-2026"]}}
        found = await run(
            "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }", f=webinar
        )
        assert found["contacts"]["totalCount"] == 5
        # Save the filter as a segment with a title.
        saved = await run(
            "mutation($input: SegmentInput!) { segmentCreate(input: $input) { segment { id name } userErrors { code } } }",
            input={"name": "Webinar attendees", "filter": webinar},
        )
        segment = saved["segmentCreate"]["segment"]
        assert segment["name"] == "Webinar attendees"

        # Read it among the segments, with its count.
        async def listed() -> dict[str, Any] | None:
            page = await run(
                "{ segments { edges { node { id name count { value computedAt } } } } }"
            )
            nodes = [e["node"] for e in page["segments"]["edges"]]
            mine = next(n for n in nodes if n["id"] == segment["id"])
            return mine if mine["count"]["computedAt"] else None

        assert (await _until(listed, "the segment's count"))["count"]["value"] == 5
        # Page its members.
        members = """query($id: ID!, $after: String) { node(id: $id) { ... on Segment {
            members(first: 3, after: $after) { edges { node { email } } pageInfo { hasNextPage endCursor } } } } }"""
        first = (await run(members, id=segment["id"]))["node"]["members"]
        second = (await run(members, id=segment["id"], after=first["pageInfo"]["endCursor"]))[
            "node"
        ]["members"]
        emails = [e["node"]["email"] for e in first["edges"] + second["edges"]]
        assert len(emails) == len(set(emails)) == 5 and not second["pageInfo"]["hasNextPage"]
        # Tag them all.
        job = (
            await run(
                'mutation($id: ID!) { segmentTag(id: $id, add: ["follow-up"]) { job { id } userErrors { code } } }',
                id=segment["id"],
            )
        )["segmentTag"]["job"]

        async def finished() -> dict[str, Any] | None:
            state = await run(
                "query($id: ID!) { bulkJob(id: $id) { status processed total } }", id=job["id"]
            )
            return state["bulkJob"] if state["bulkJob"]["status"] == "SUCCEEDED" else None

        assert (await _until(finished, "the tag job")) == {
            "status": "SUCCEEDED",
            "processed": 5,
            "total": 5,
        }
        tagged = await run(
            "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
            f={"tags": {"hasAll": ["follow-up", "webinar-2026"]}},
        )
        assert tagged["contacts"]["totalCount"] == 5
        # Delete it: asked to confirm, then gone for good.
        delete = "mutation($id: ID!, $c: Boolean!) { segmentDelete(id: $id, confirm: $c) { deletedSegmentId userErrors { code } } }"
        unconfirmed = (await run(delete, id=segment["id"], c=False))["segmentDelete"]
        assert [e["code"] for e in unconfirmed["userErrors"]] == ["CONFIRMATION_REQUIRED"]
        confirmed = (await run(delete, id=segment["id"], c=True))["segmentDelete"]
        assert confirmed == {"deletedSegmentId": segment["id"], "userErrors": []}
        remaining = await run("{ segments { totalCount } }")
        assert remaining["segments"]["totalCount"] == 6
