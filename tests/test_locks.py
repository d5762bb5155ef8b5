"""Per-account locks, in Redis and as database leases: one holder at a time, released and
extended only by their owner, expiring after a crash, kept alive while held; and two nightly
runs of one account started at once on PostgreSQL with the Redis lock: one runs, one skips."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from app import locks
from app.enums import JobStatus, RunTrigger
from app.models import Account, MaintenanceRun
from app.services import maintenance
from app.settings import Settings

TTL = timedelta(milliseconds=600)
LeaseFactory = Callable[[int, str], locks.Lease]


@pytest.fixture(params=["database", "redis"])
async def lease(request: pytest.FixtureRequest, db: str) -> AsyncIterator[LeaseFactory]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_server")
        yield lambda account_id, purpose: locks.RedisLease(url, account_id, purpose, TTL)
    else:
        yield lambda account_id, purpose: locks.DatabaseLease(account_id, purpose, TTL)


async def test_one_holder_at_a_time_and_only_the_owner_releases(
    lease: LeaseFactory, account: Account
) -> None:
    first, second = lease(account.id, "test"), lease(account.id, "test")
    other_purpose = lease(account.id, "other")
    assert await first.acquire()
    assert not await second.acquire()
    assert await other_purpose.acquire()
    await lease(account.id, "test").release()  # not the owner: nothing happens
    third = lease(account.id, "test")
    assert not await third.acquire()
    await third.release()
    assert not await second.extend()
    assert await first.extend()
    await first.release()
    assert await second.acquire()
    await second.release()
    await other_purpose.release()


async def test_a_crashed_holders_lock_expires(lease: LeaseFactory, account: Account) -> None:
    crashed = lease(account.id, "test")
    assert await crashed.acquire()  # and never released
    await asyncio.sleep(TTL.total_seconds() + 0.3)
    successor = lease(account.id, "test")
    assert await successor.acquire()
    assert not await crashed.extend()  # the old owner can't take it back
    await successor.release()
    await crashed.release()


@pytest.fixture(params=["database", "redis"])
async def configured(request: pytest.FixtureRequest, db: str) -> AsyncIterator[None]:
    url = request.getfixturevalue("redis_server") if request.param == "redis" else None
    locks.configure(Settings(database_url=db, redis_url=url, lock_ttl_s=1))
    try:
        yield
    finally:
        locks.configure(Settings(database_url=db))


async def test_a_held_lock_is_kept_alive_past_its_expiry(
    configured: None, account: Account
) -> None:
    async with locks.account_lock(account.id, "long") as held:
        assert held is not None
        await asyncio.sleep(2.5)  # two and a half expiries
        held.check()
        async with locks.account_lock(account.id, "long") as rival:
            assert rival is None
    async with locks.account_lock(account.id, "long") as after:
        assert after is not None


async def test_waiting_for_a_lock_gives_up_after_the_wait(
    configured: None, account: Account
) -> None:
    async with locks.account_lock(account.id, "w") as held:
        assert held is not None
        started = asyncio.get_running_loop().time()
        async with locks.account_lock(account.id, "w", wait=timedelta(seconds=1)) as waiter:
            assert waiter is None
        assert asyncio.get_running_loop().time() - started >= 1


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_nightly_runs_started_at_once_one_runs_one_skips(
    is_postgres: bool, redis_server: str, db: str, account: Account
) -> None:
    if not is_postgres:
        pytest.skip("the concurrent case runs on PostgreSQL")
    locks.configure(Settings(database_url=db, redis_url=redis_server))
    try:
        results = await asyncio.gather(
            maintenance.run(account.id, RunTrigger.SCHEDULE),
            maintenance.run(account.id, RunTrigger.SCHEDULE),
        )
    finally:
        locks.configure(Settings(database_url=db))
    ran = [r for r in results if r is not None]
    assert len(ran) == 1 and ran[0].status is JobStatus.SUCCEEDED
    assert await MaintenanceRun.filter(account=account).count() == 1
