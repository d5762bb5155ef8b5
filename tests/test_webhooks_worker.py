"""Webhook deliveries on the production stack (PostgreSQL, Redis, real Celery workers): a
maintenance run (`segments recompute`) writes a MAINTENANCE_RUN_FINISHED delivery and sends its
task; a receiver that fails three times gets it on the fourth attempt; a worker killed while the
receiver holds the request leaves the delivery to the next worker, which sends the same id
again. Every request is signed, and after deduplication by id each event arrived once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis

from app.services.webhooks import new_secret
from processes import kill, segments, spawned
from webhook_receiver import Receiver, receiving


@pytest.fixture
async def stack(
    empty_postgres: str, redis_server: str
) -> AsyncIterator[tuple[dict[str, str], int, asyncpg.Connection]]:
    broker = redis.Redis.from_url(redis_server)
    broker.flushdb()
    env = {
        "DATABASE_URL": empty_postgres,
        "REDIS_URL": redis_server,
        "SEGMENTS_VISIBILITY_TIMEOUT_S": "8",
        "SEGMENTS_LOCK_TTL_S": "3",
        "SEGMENTS_WEBHOOKS_ALLOW_PRIVATE": "true",
        "SEGMENTS_WEBHOOK_RETRY_BASE_S": "1",
        "SEGMENTS_WEBHOOK_TIMEOUT_S": "5",
        "SEGMENTS_SWEEP_EVERY_S": "1",
    }
    assert segments("migrate", env=env).returncode == 0
    created = segments("create-account", "Hooks", env=env)
    match = re.search(r"\(id (\d+)\)", created.stdout)
    assert created.returncode == 0 and match, created.stdout + created.stderr
    conn = await asyncpg.connect(empty_postgres)
    try:
        yield env, int(match.group(1)), conn
    finally:
        await conn.close()
        broker.flushdb()


async def _webhook(conn: asyncpg.Connection, account_id: int, receiver: Receiver, path: str) -> int:
    secret = new_secret()
    receiver.secrets[path] = secret
    return int(
        await conn.fetchval(
            "INSERT INTO webhooks (account_id, url, events, segment_ids, secret, created_at) "
            "VALUES ($1, $2, $3::jsonb, '[]'::jsonb, $4, now()) RETURNING id",
            account_id,
            receiver.url(path),
            '["MAINTENANCE_RUN_FINISHED"]',
            secret,
        )
    )


def _recompute(env: dict[str, str], account_id: int) -> None:
    done = segments("recompute", "--account", str(account_id), env=env)
    assert done.returncode == 0, done.stdout + done.stderr


async def _delivery(conn: asyncpg.Connection, webhook_id: int) -> dict[str, Any]:
    rows = await conn.fetch(
        "SELECT event_id, status, attempts, response_status, error FROM webhook_deliveries "
        "WHERE webhook_id = $1",
        webhook_id,
    )
    assert len(rows) == 1, rows
    return dict(rows[0])


async def _until(check: Any, what: str, seconds: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_failing_receiver_gets_the_delivery_on_a_later_attempt(
    stack: tuple[dict[str, str], int, asyncpg.Connection], tmp_path: Path
) -> None:
    env, account_id, conn = stack
    with receiving() as receiver:
        webhook_id = await _webhook(conn, account_id, receiver, "/fail3")
        with spawned(["worker", "--concurrency", "1"], env, tmp_path / "worker.log"):
            _recompute(env, account_id)

            async def delivered() -> bool:
                return (await _delivery(conn, webhook_id))["status"] == "DELIVERED"

            await _until(delivered, "the fourth attempt to succeed")
        delivery = await _delivery(conn, webhook_id)
        got = receiver.of("/fail3")
    assert (delivery["attempts"], delivery["response_status"]) == (4, 200)
    assert len(got) == 4 and all(r.signed_ok for r in got)
    assert {r.id for r in got} == {delivery["event_id"]}
    assert len({r.id for r in got}) == 1  # deduplicated by id: the event, once
    assert got[0].body["type"] == "MAINTENANCE_RUN_FINISHED"
    assert got[0].body["data"]["status"] == "SUCCEEDED"
    # Retries wait longer each time (1 s base, doubling, jittered by at most half).
    gaps = [later.at - earlier.at for earlier, later in pairwise(got)]
    assert gaps[0] >= 0.4 and gaps[2] >= 1.9, gaps


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_worker_killed_mid_delivery_leaves_it_to_the_next(
    stack: tuple[dict[str, str], int, asyncpg.Connection], tmp_path: Path
) -> None:
    env, account_id, conn = stack
    with receiving() as receiver:
        webhook_id = await _webhook(conn, account_id, receiver, "/hold")
        with spawned(["worker", "--concurrency", "1"], env, tmp_path / "worker1.log") as first:
            _recompute(env, account_id)
            assert await asyncio.to_thread(receiver.holding.wait, 60)
            kill(first)  # SIGKILL to the worker and its pool, mid-request
        receiver.release.set()
        assert (await _delivery(conn, webhook_id))["status"] == "PENDING"
        with (
            spawned(["worker", "--concurrency", "1"], env, tmp_path / "worker2.log"),
            spawned(
                ["beat", "--schedule-file", str(tmp_path / "beat-schedule")],
                env,
                tmp_path / "beat.log",
            ),
        ):

            async def delivered() -> bool:
                return (await _delivery(conn, webhook_id))["status"] == "DELIVERED"

            await _until(delivered, "the next worker to send it again", seconds=90)
        delivery = await _delivery(conn, webhook_id)
        got = receiver.of("/hold")
    assert len(got) >= 2 and all(r.signed_ok for r in got)
    assert {r.id for r in got} == {delivery["event_id"]}  # the same id, sent again
    assert len({r.body["createdAt"] for r in got}) == 1  # and the same body
    assert delivery["attempts"] >= 2 and delivery["response_status"] == 200
