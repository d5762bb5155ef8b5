"""Liveness and readiness: /healthz says the process answers, /readyz that its dependencies do."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import redis.asyncio as aioredis
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.db import connection
from app.settings import Settings

CHECK_TIMEOUT_S = 2.0


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _check_database() -> None:
    await connection().execute_query("SELECT 1")


async def _check_redis(url: str) -> None:
    client = aioredis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_S)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _run(check: Coroutine[Any, Any, None]) -> str:
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT_S)
    except Exception as exc:  # a readiness probe reports every failure, whatever its kind
        return f"failed: {type(exc).__name__}"
    return "ok"


async def readyz(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    checks = {"database": await _run(_check_database())}
    if settings.redis_url:
        checks["redis"] = await _run(_check_redis(settings.redis_url))
    ready = all(result == "ok" for result in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
