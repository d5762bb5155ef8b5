"""Background work behind one small interface. The embedded mode runs it in the API process;
the Celery workers take it over (same calls, another implementation) without the GraphQL layer
knowing. Tasks carry ids, never model instances."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from app.settings import Settings

log = logging.getLogger(__name__)


class TaskQueue(Protocol):
    def refresh_segment_count(self, account_id: int, segment_id: int) -> None: ...

    def run_bulk_job(self, job_id: int) -> None: ...

    def recompute_flags(self, account_id: int) -> None: ...


class InProcessQueue:
    """Runs each task as an asyncio task on the current loop, one at a time per queue so a
    burst of saves doesn't run a burst of counts at once."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    def refresh_segment_count(self, account_id: int, segment_id: int) -> None:
        from app.services.segments import refresh_count

        self._spawn(f"refresh count {segment_id}", lambda: refresh_count(account_id, segment_id))

    def run_bulk_job(self, job_id: int) -> None:
        from app.services.jobs import run_job

        self._spawn(f"bulk job {job_id}", lambda: run_job(job_id))

    def recompute_flags(self, account_id: int) -> None:
        from app.services.segments import recompute_account_flags

        self._spawn(f"recompute flags {account_id}", lambda: recompute_account_flags(account_id))

    def _spawn(self, name: str, work: Callable[[], Awaitable[object]]) -> None:
        async def guarded() -> None:
            async with self._lock:
                try:
                    await work()
                except Exception:  # a background task has no caller to raise to
                    log.exception("task %s failed", name)

        task = asyncio.get_running_loop().create_task(guarded(), name=name)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for every task queued so far (tests, and a clean shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending))


_queue: TaskQueue | None = None


def queue() -> TaskQueue:
    global _queue
    if _queue is None:
        _queue = InProcessQueue()
    return _queue


def use_queue(new: TaskQueue) -> None:
    """Install the queue for this process (the worker setup installs Celery's)."""
    global _queue
    _queue = new


async def finish_pending() -> None:
    """Let in-process tasks finish before the database closes (a no-op for Celery)."""
    if isinstance(_queue, InProcessQueue):
        await _queue.drain()


def configure(settings: Settings) -> None:
    """The queue the settings ask for: Celery when Redis is configured, else in-process."""
    if settings.task_mode == "celery" and settings.redis_url:
        from app.services.celery_queue import CeleryQueue

        use_queue(CeleryQueue(settings.redis_url))
    else:
        use_queue(InProcessQueue())
