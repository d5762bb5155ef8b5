"""The production stack's background work: the API (with REDIS_URL) hands tasks to a real
Celery worker through Redis, which runs them against PostgreSQL."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

TOKEN = re.compile(r"sgt_[0-9a-f]+_[A-Za-z0-9-]+")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def stack(empty_postgres: str, redis_server: str) -> Iterator[tuple[str, str]]:
    redis.Redis.from_url(redis_server).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": empty_postgres,
        "REDIS_URL": redis_server,
        "SEGMENTS_ENV": "production",
    }
    subprocess.run(
        [sys.executable, "-m", "app", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    created = subprocess.run(
        [sys.executable, "-m", "app", "create-account", "Stack"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    match = TOKEN.search(created.stdout)
    assert match
    port = _free_port()
    processes = [
        _start("serve", "--port", str(port), env=env),
        _start("worker", "--concurrency", "1", env=env),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).json()["checks"].get("redis") == "ok":
                    break
            except (httpx.TransportError, ValueError):
                time.sleep(0.2)
        yield f"{base}/graphql", match.group(0)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        redis.Redis.from_url(redis_server).flushdb()


@pytest.mark.postgres
@pytest.mark.redis
def test_counts_and_jobs_run_on_the_celery_worker(stack: tuple[str, str]) -> None:
    url, token = stack

    def run(query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            url,
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        body = response.json()
        assert "errors" not in body, body
        return dict(body["data"])

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
