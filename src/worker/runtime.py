"""One event loop and one Tortoise per worker process: Tortoise's connections belong to the
loop that opened them, so every task's coroutine runs on this loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from celery.signals import worker_process_shutdown

from app.boot import configure
from app.db import close_db, init_db
from app.settings import Settings

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_ready = False


def run(work: Callable[[], Awaitable[T]]) -> T:
    global _loop, _ready
    if _loop is None:
        _loop = asyncio.new_event_loop()
    if not _ready:
        settings = Settings.from_env()
        configure(settings)  # the clock, and Celery for the tasks a task sends
        _loop.run_until_complete(init_db(settings))
        _ready = True
    return _loop.run_until_complete(work())


@worker_process_shutdown.connect
def _close(**_: object) -> None:
    global _ready
    if _loop is not None and _ready:
        _loop.run_until_complete(close_db())  # an open aiosqlite thread would keep us alive
        _ready = False
