"""The production stack's background work: the API (with REDIS_URL) hands tasks to a real
Celery worker through Redis, which runs them against PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from processes import free_port, graphql, new_token, running, segments, wait_ready


@pytest.fixture
def stack(empty_postgres: str, redis_server: str) -> Iterator[tuple[str, str]]:
    broker = redis.Redis.from_url(redis_server)
    broker.flushdb()
    env = {"DATABASE_URL": empty_postgres, "REDIS_URL": redis_server, "SEGMENTS_ENV": "production"}
    assert segments("migrate", env=env).returncode == 0
    token = new_token(segments("create-account", "Stack", env=env).stdout)
    port = free_port()
    try:
        with running(["serve", "--port", str(port)], ["worker", "--concurrency", "1"], env=env):
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, lambda response: response.json()["checks"].get("redis") == "ok")
            yield f"{base}/graphql", token
    finally:
        broker.flushdb()


@pytest.mark.postgres
@pytest.mark.redis
def test_counts_and_jobs_run_on_the_celery_worker(stack: tuple[str, str]) -> None:
    url, token = stack

    def run(query: str, **variables: Any) -> dict[str, Any]:
        return graphql(url, token, query, **variables)

    run(
        'mutation { contactsUpsert(input: [{email: "a@x.com", tags: ["vip"]}, {email: "b@x.com", tags: ["vip"]}, {email: "c@x.com"}]) { userErrors { code } } }'
    )
    segment = run(
        'mutation { segmentCreate(input: {name: "VIP", filter: {tags: {hasAny: ["vip"]}}}) { segment { id } } }'
    )["segmentCreate"]["segment"]["id"]
    job = run(
        'mutation($id: ID!) { segmentTag(id: $id, add: ["worker-tagged"]) { job { id } } }',
        id=segment,
    )["segmentTag"]["job"]["id"]
    deadline = time.monotonic() + 60
    count, status = None, None
    while time.monotonic() < deadline:
        state = run(
            "query($s: ID!, $j: ID!) { node(id: $s) { ... on Segment { count { value computedAt } } } bulkJob(id: $j) { status processed } }",
            s=segment,
            j=job,
        )
        count, status = state["node"]["count"], state["bulkJob"]
        if count["computedAt"] and status["status"] == "SUCCEEDED":
            break
        time.sleep(0.3)
    assert count is not None and count["value"] == 2 and count["computedAt"]
    assert status == {"status": "SUCCEEDED", "processed": 2}
    tagged = run('{ contacts(filter: {tags: {hasAll: ["worker-tagged", "vip"]}}) { totalCount } }')
    assert tagged["contacts"]["totalCount"] == 2
