"""The background work survives what production does to it, on real processes: a worker killed
with SIGKILL in the middle of a nightly run and of a bulk tag job (Redis hands the task to the
next worker after a short visibility timeout, and the result equals an uninterrupted run's), and
Redis away while the API takes writes (nothing answers 500; stale counts and unsent jobs are
picked up once Redis is back)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis
from celery import Celery

from processes import (
    free_port,
    graphql,
    kill,
    new_token,
    segments,
    spawned,
    until,
    wait_ready,
)

CONTACTS = 2500
OFFSET_S = 91 * 86400  # the workers run 91 days later: the night has flags to change


@pytest.fixture
async def seeded(
    empty_postgres: str, redis_server: str, tmp_path: Path
) -> AsyncIterator[tuple[dict[str, str], int, str, asyncpg.Connection]]:
    broker = redis.Redis.from_url(redis_server)
    broker.flushdb()
    env = {
        "DATABASE_URL": empty_postgres,
        "REDIS_URL": redis_server,
        "SEGMENTS_ENV": "production",
        "SEGMENTS_VISIBILITY_TIMEOUT_S": "8",
        "SEGMENTS_LOCK_TTL_S": "3",
    }
    assert segments("migrate", env=env).returncode == 0
    seeded = segments("seed-demo", "--contacts", str(CONTACTS), "--seed", "3", env=env)
    assert seeded.returncode == 0, seeded.stderr
    match = re.search(r"\(id (\d+)\)", seeded.stdout)
    assert match, seeded.stdout
    conn = await asyncpg.connect(empty_postgres)
    try:
        yield env, int(match.group(1)), new_token(seeded.stdout), conn
    finally:
        await conn.close()
        broker.flushdb()


def _send(env: dict[str, str], name: str, *args: Any, queue: str) -> None:
    client = Celery("test", broker=env["REDIS_URL"])
    client.send_task(f"segments.{name}", args=list(args), queue=queue)


async def _state(conn: asyncpg.Connection, account_id: int) -> dict[str, Any]:
    """What a nightly run leaves: flags, counts and history points."""
    flags = await conn.fetch(
        "SELECT email_lower, is_inactive, is_excluded, is_hard_bounced FROM contacts "
        "WHERE account_id = $1 ORDER BY email_lower",
        account_id,
    )
    counts = await conn.fetch(
        "SELECT name, cached_count FROM segments WHERE account_id = $1 ORDER BY name", account_id
    )
    points = await conn.fetch(
        "SELECT s.name, p.day, p.count FROM segment_count_snapshots p "
        "JOIN segments s ON s.id = p.segment_id WHERE p.account_id = $1 ORDER BY s.name, p.day",
        account_id,
    )
    return {
        "flags": [tuple(r) for r in flags],
        "counts": [tuple(r) for r in counts],
        "points": [tuple(r) for r in points],
    }


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_nightly_run_killed_midway_is_redone_by_the_next_worker(
    seeded: tuple[dict[str, str], int, str, asyncpg.Connection], tmp_path: Path
) -> None:
    env, account_id, _, conn = seeded
    later = {**env, "SEGMENTS_CLOCK_OFFSET_S": str(OFFSET_S)}
    night = (datetime.now(UTC) + timedelta(seconds=OFFSET_S)).date()
    # Hold the fourth segment's row: the run gets through the flags and three counts, then
    # waits there, in the middle of its work.
    blocker = conn.transaction()
    await blocker.start()
    # (FOR UPDATE under OFFSET would lock the skipped rows too: pick the row first.)
    held = await conn.fetchval(
        "SELECT id FROM segments WHERE id = (SELECT id FROM segments WHERE account_id = $1 "
        "ORDER BY id OFFSET 3 LIMIT 1) FOR UPDATE",
        account_id,
    )
    with spawned(["worker", "--concurrency", "1"], later, tmp_path / "worker1.log") as first:
        _send(env, "nightly_run", account_id, night.isoformat(), queue="nightly")
        observer = await asyncpg.connect(env["DATABASE_URL"])
        try:

            async def midway() -> bool:
                running = await observer.fetchval(
                    "SELECT count(*) FROM maintenance_runs WHERE account_id = $1 "
                    "AND status = 'RUNNING'",
                    account_id,
                )
                # Counts taken by this run carry its clock, 91 days ahead of the seeding's.
                counted = await observer.fetchval(
                    "SELECT count(*) FROM segments WHERE account_id = $1 AND id < $2 "
                    "AND count_computed_at > now() + interval '1 day'",
                    account_id,
                    held,
                )
                return running == 1 and counted == 3

            await _until_async(midway, "the run to reach the held segment")
            kill(first)  # SIGKILL to the worker and its pool
        finally:
            await observer.close()
    await blocker.rollback()

    with spawned(["worker", "--concurrency", "1"], later, tmp_path / "worker2.log"):
        await _until_async(
            lambda: _has_run(conn, account_id, "SUCCEEDED"),
            "the redelivered run to finish",
            seconds=90,
        )
    runs = await conn.fetch(
        "SELECT status, error, day FROM maintenance_runs WHERE account_id = $1 ORDER BY id",
        account_id,
    )
    assert [r["status"] for r in runs] == ["FAILED", "SUCCEEDED"]
    assert "Interrupted" in runs[0]["error"] and runs[1]["day"] == night
    redone = await _state(conn, account_id)

    # An uninterrupted run now changes nothing and leaves the same counts and history.
    again = segments("recompute", "--account", str(account_id), env=later)
    assert again.returncode == 0 and "0 flags changed" in again.stdout, again.stdout
    assert await _state(conn, account_id) == redone
    assert sum(1 for _, inactive, *_ in redone["flags"] if inactive) > 0


async def _has_run(conn: asyncpg.Connection, account_id: int, status: str) -> bool:
    found = await conn.fetchval(
        "SELECT count(*) FROM maintenance_runs WHERE account_id = $1 AND status = $2",
        account_id,
        status,
    )
    return bool(found)


async def _until_async(check: Any, what: str, seconds: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_bulk_tag_job_killed_midway_is_redone_by_the_next_worker(
    seeded: tuple[dict[str, str], int, str, asyncpg.Connection], tmp_path: Path
) -> None:
    env, account_id, token, conn = seeded
    # Hold a contact of the second batch (the job pages by creation time): the first thousand
    # get their tag, then the job waits on this one.
    blocker = conn.transaction()
    await blocker.start()
    await conn.execute(
        "SELECT id FROM contacts WHERE id = (SELECT id FROM contacts WHERE account_id = $1 "
        "ORDER BY created_at, id OFFSET 1500 LIMIT 1) FOR UPDATE",
        account_id,
    )
    port = free_port()
    with ExitStack() as processes:
        first = processes.enter_context(
            spawned(["worker", "--concurrency", "1"], env, tmp_path / "worker1.log")
        )
        processes.enter_context(spawned(["serve", "--port", str(port)], env, tmp_path / "api.log"))
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, lambda response: response.status_code == 200)
        everyone = next(
            e["node"]["id"]
            for e in graphql(
                f"{base}/graphql", token, "{ segments { edges { node { id defaultKey } } } }"
            )["segments"]["edges"]
            if e["node"]["defaultKey"] == "ALL_CONTACTS"
        )
        job = graphql(
            f"{base}/graphql",
            token,
            'mutation($id: ID!) { segmentTag(id: $id, add: ["crash-test"]) { job { id } } }',
            id=everyone,
        )["segmentTag"]["job"]["id"]

        async def midway() -> bool:
            done = await conn.fetchval(
                "SELECT processed FROM bulk_jobs WHERE account_id = $1", account_id
            )
            return done == 1000

        await _until_async(midway, "the job's first batch")
        kill(first)
        await blocker.rollback()
        tagged = await _tagged(conn, account_id)
        assert 1000 <= tagged < CONTACTS  # the first batch, and no more

        processes.enter_context(
            spawned(["worker", "--concurrency", "1"], env, tmp_path / "worker2.log")
        )
        state = until(
            lambda: (
                (
                    j := graphql(
                        f"{base}/graphql",
                        token,
                        "query($id: ID!) { bulkJob(id: $id) { status processed total } }",
                        id=job,
                    )["bulkJob"]
                )["status"]
                == "SUCCEEDED"
                and j
            ),
            "the redelivered job to finish",
        )
    assert state == {"status": "SUCCEEDED", "processed": CONTACTS, "total": CONTACTS}
    assert await _tagged(conn, account_id) == CONTACTS  # every member, each once


async def _tagged(conn: asyncpg.Connection, account_id: int) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id "
            "WHERE ct.account_id = $1 AND t.name = 'crash-test'",
            account_id,
        )
    )


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[tuple[int, Any]]:
    """A port where Redis is not running yet, and a way to start it there."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        started.append(
            subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
                + ["--appendonly", "no", "--dir", str(tmp_path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    try:
        yield port, start
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.postgres
def test_with_redis_away_the_api_answers_and_nothing_is_lost(
    empty_postgres: str, redis_port: tuple[int, Any], tmp_path: Path
) -> None:
    port, start_redis = redis_port
    env = {
        "DATABASE_URL": empty_postgres,
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "SEGMENTS_ENV": "production",
        "SEGMENTS_SWEEP_EVERY_S": "2",
    }
    assert segments("migrate", env=env).returncode == 0
    token = new_token(segments("create-account", "Offline", env=env).stdout)
    api_port = free_port()
    base = f"http://127.0.0.1:{api_port}"
    with ExitStack() as processes:
        processes.enter_context(
            spawned(["serve", "--port", str(api_port)], env, tmp_path / "api.log")
        )
        wait_ready(base, lambda response: response.status_code in (200, 503))
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("failed")

        def run(query: str, **variables: Any) -> dict[str, Any]:
            return graphql(f"{base}/graphql", token, query, **variables)

        run(
            'mutation { contactsUpsert(input: [{email: "a@x.com", tags: ["vip"]}, {email: "b@x.com", tags: ["vip"]}, {email: "c@x.com"}]) { userErrors { code } } }'
        )
        created = run(
            'mutation { segmentCreate(input: {name: "VIP", filter: {tags: {hasAny: ["vip"]}}}) { segment { id count { value isStale } } userErrors { code } } }'
        )["segmentCreate"]
        assert created["userErrors"] == []
        segment = created["segment"]
        assert segment["count"] == {"value": None, "isStale": True}
        tag_job = run(
            'mutation($id: ID!) { segmentTag(id: $id, add: ["offline"]) { job { id status } } }',
            id=segment["id"],
        )["segmentTag"]["job"]
        recompute = run("mutation { accountRecompute { job { id status } } }")["accountRecompute"][
            "job"
        ]
        assert tag_job["status"] == recompute["status"] == "QUEUED"
        assert run("{ segments { totalCount } }")["segments"]["totalCount"] == 7

        # Redis comes back; a worker and beat start: the sweep refreshes and resends.
        start_redis()
        processes.enter_context(spawned(["worker"], env, tmp_path / "worker.log"))
        processes.enter_context(
            spawned(
                ["beat", "--schedule-file", str(tmp_path / "beat-schedule")],
                env,
                tmp_path / "beat.log",
            )
        )

        def settled() -> dict[str, Any] | None:
            state = run(
                "query($s: ID!, $a: ID!, $b: ID!) { node(id: $s) { ... on Segment { count { value isStale } } } a: bulkJob(id: $a) { status } b: bulkJob(id: $b) { status } }",
                s=segment["id"],
                a=tag_job["id"],
                b=recompute["id"],
            )
            done = (
                state["node"]["count"] == {"value": 2, "isStale": False}
                and state["a"]["status"] == "SUCCEEDED"
                and state["b"]["status"] == "SUCCEEDED"
            )
            return state if done else None

        until(settled, "counts refreshed and jobs run once Redis is back", seconds=120)
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
