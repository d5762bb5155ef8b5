"""Per-account locks with an owner and an expiry, kept alive while their holder works.

With Redis (the production stack) a lock is a key set only if absent, with a random owner token
and an expiry; it is extended and released only by its owner (compare-and-set scripts). In the
embedded mode, which has no Redis, the same contract is a row of `leases`, so the API process
and a `segments recompute` from cron still keep apart. A holder that crashes leaves a lock that
expires after `lock_ttl_s`, shorter than the broker's visibility timeout, so the redelivered
task finds it free."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import redis.asyncio as aioredis

from app.db import connection, dialect
from app.filters.sql import render, sql, time_param
from app.settings import Settings

log = logging.getLogger(__name__)

_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Lease(Protocol):
    async def acquire(self) -> bool: ...

    async def extend(self) -> bool: ...

    async def release(self) -> None: ...


class RedisLease:
    def __init__(self, url: str, account_id: int, purpose: str, ttl: timedelta) -> None:
        self.client = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.key = f"segments:lock:{account_id}:{purpose}"
        self.token = secrets.token_hex(16)
        self.ttl_ms = int(ttl.total_seconds() * 1000)

    async def acquire(self) -> bool:
        return bool(await self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))

    async def extend(self) -> bool:
        script = self.client.register_script(_EXTEND)
        return bool(await script(keys=[self.key], args=[self.token, self.ttl_ms]))

    async def release(self) -> None:
        try:
            await self.client.register_script(_RELEASE)(keys=[self.key], args=[self.token])
        finally:
            await self.client.aclose()


class DatabaseLease:
    def __init__(self, account_id: int, purpose: str, ttl: timedelta) -> None:
        self.account_id, self.purpose, self.ttl = account_id, purpose, ttl
        self.owner = secrets.token_hex(16)

    async def acquire(self) -> bool:
        # Insert the lease, or take over an expired one; RETURNING says whether we hold it.
        now = datetime.now(UTC)
        kind = dialect()
        statement = sql(
            "INSERT INTO leases (account_id, purpose, owner, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (account_id, purpose) DO UPDATE SET owner = excluded.owner, "
            "expires_at = excluded.expires_at WHERE leases.expires_at < ? RETURNING owner",
            self.account_id,
            self.purpose,
            self.owner,
            time_param(now + self.ttl, kind),
            time_param(now, kind),
        )
        rows = await connection().execute_query_dict(
            render(statement, kind), list(statement.params)
        )
        return bool(rows)

    async def extend(self) -> bool:
        kind = dialect()
        statement = sql(
            "UPDATE leases SET expires_at = ? WHERE account_id = ? AND purpose = ? AND owner = ?",
            time_param(datetime.now(UTC) + self.ttl, kind),
            self.account_id,
            self.purpose,
            self.owner,
        )
        changed, _ = await connection().execute_query(
            render(statement, kind), list(statement.params)
        )
        return bool(changed)

    async def release(self) -> None:
        statement = sql(
            "DELETE FROM leases WHERE account_id = ? AND purpose = ? AND owner = ?",
            self.account_id,
            self.purpose,
            self.owner,
        )
        await connection().execute_query(render(statement, dialect()), list(statement.params))


@dataclass(frozen=True)
class LockConfig:
    redis_url: str | None = None
    ttl: timedelta = timedelta(seconds=60)


_config = LockConfig()


def configure(settings: Settings) -> None:
    global _config
    _config = LockConfig(settings.redis_url, timedelta(seconds=settings.lock_ttl_s))


def new_lease(account_id: int, purpose: str) -> Lease:
    if _config.redis_url:
        return RedisLease(_config.redis_url, account_id, purpose, _config.ttl)
    return DatabaseLease(account_id, purpose, _config.ttl)


class LockLost(RuntimeError):
    """The lock expired or was taken over while its holder still worked."""


class Held:
    """A lock being held; `check()` between steps stops work whose lock was lost."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lost = False

    def check(self) -> None:
        if self.lost:
            raise LockLost(f"the lock {self.name} was lost; another run may have started")


@asynccontextmanager
async def account_lock(
    account_id: int, purpose: str, *, wait: timedelta = timedelta(0)
) -> AsyncIterator[Held | None]:
    """Hold the account's lock for `purpose` for the block, or yield None if another holder
    keeps it for longer than `wait`. The lock is extended every third of its expiry while
    held, and released at the end only if still ours."""
    lease = new_lease(account_id, purpose)
    if not await _acquire(lease, wait):
        yield None
        return
    held = Held(f"{purpose}:{account_id}")
    keeper = asyncio.create_task(_keep_alive(lease, held, _config.ttl / 3))
    try:
        yield held
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        await _quietly_release(lease)


async def _acquire(lease: Lease, wait: timedelta) -> bool:
    deadline = asyncio.get_running_loop().time() + wait.total_seconds()
    poll = min(1.0, _config.ttl.total_seconds() / 3)
    try:
        while not await lease.acquire():
            if asyncio.get_running_loop().time() >= deadline:
                await _quietly_release(lease)  # not ours: only closes its connection
                return False
            await asyncio.sleep(poll)
    except BaseException:
        await _quietly_release(lease)
        raise
    return True


async def _keep_alive(lease: Lease, held: Held, every: timedelta) -> None:
    while True:
        await asyncio.sleep(every.total_seconds())
        try:
            extended = await lease.extend()
        except Exception:  # a failed extension is retried; the expiry leaves two more tries
            log.warning("could not extend the lock %s; will retry", held.name, exc_info=True)
            continue
        if not extended:
            log.error("the lock %s expired while held", held.name)
            held.lost = True
            return


async def _quietly_release(lease: Lease) -> None:
    try:
        await lease.release()
    except Exception:  # an unreleased lock expires on its own
        log.warning("could not release a lock; it will expire", exc_info=True)
