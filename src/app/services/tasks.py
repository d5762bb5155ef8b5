"""Background tasks, each declared once, here: its name, its queue and the one service call it
makes. Everything else derives from these declarations: the embedded mode runs them in the API
process (`InProcessBackend`), the Celery workers register every one of them
(`worker/tasks.py`), and the API and beat send them by name (`app.services.celery_queue`).

Tasks carry ids, never model instances, and each is idempotent: a redelivered task, or one
sent twice, does no harm. Sending never fails the caller: what a task is for is written to
the database first (a count marked stale, a job row), and the sweep sends again whatever a
broker outage lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Generic, Literal, ParamSpec, Protocol

from app import clock

log = logging.getLogger(__name__)

Queue = Literal["nightly", "counts", "bulk", "webhooks"]
# The nightly runs, the counts a creator waits for, bulk jobs and webhook deliveries: separate
# queues, so a long night never holds up a count, nor a slow receiver anything else.
QUEUES: tuple[Queue, ...] = ("nightly", "counts", "bulk", "webhooks")
# In-process, tasks of a queue run one at a time, but deliveries to different receivers run
# side by side: one slow receiver must not hold up the others.
IN_PROCESS_PARALLEL: dict[Queue, int] = {"webhooks": 8}
P = ParamSpec("P")


@dataclass(frozen=True)
class Task(Generic[P]):
    name: str
    queue: Queue
    run: Callable[P, Awaitable[object]]

    async def send(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Queue the task; True once a durable broker holds it (never for in-process work)."""
        return await backend().send(self, args, kwargs, None)

    async def send_expiring(self, expires: datetime, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Queue the task, to be dropped unrun if it has not started by `expires`."""
        return await backend().send(self, args, kwargs, expires)

    async def send_later(self, delay: timedelta, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Queue the task to run once `delay` has passed."""
        return await backend().send(self, args, kwargs, None, delay.total_seconds())


TASKS: dict[str, Task[Any]] = {}


def task(queue: Queue) -> Callable[[Callable[P, Awaitable[object]]], Task[P]]:
    def declare(run: Callable[P, Awaitable[object]]) -> Task[P]:
        declared = Task(run.__name__, queue, run)
        TASKS[declared.name] = declared
        return declared

    return declare


# -- the tasks (the services import this module, so each call imports its service lazily) ----


@task("counts")
async def refresh_segment_count(account_id: int, segment_id: int) -> None:
    from app.services.counts import refresh_count

    await refresh_count(account_id, segment_id)


@task("counts")
async def refresh_stale_counts(account_id: int) -> None:
    from app.services.counts import refresh_stale

    await refresh_stale(account_id)


@task("bulk")
async def run_bulk_job(job_id: int) -> None:
    from app.services.jobs import run_job

    await run_job(job_id)


@task("nightly")
async def nightly_fanout() -> None:
    from app.services.maintenance import fan_out

    await fan_out()


@task("nightly")
async def nightly_run(account_id: int, day: str) -> None:
    from app.services.maintenance import run_scheduled

    await run_scheduled(account_id, date.fromisoformat(day))


@task("webhooks")
async def write_membership_deliveries(account_id: int, segment_id: int) -> None:
    from app.services.webhook_events import write_membership_deliveries as write

    await write(account_id, segment_id)


@task("webhooks")
async def deliver_webhook(webhook_id: int) -> None:
    from app.services.webhook_delivery import deliver

    await deliver(webhook_id)


@task("counts")
async def sweep() -> None:
    from app.services.sweep import sweep as run_sweep

    await run_sweep()


# -- where tasks go ----------------------------------------------------------------------------


class Backend(Protocol):
    async def send(
        self,
        task: Task[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        expires: datetime | None,
        countdown: float = 0,
    ) -> bool: ...


class InProcessBackend:
    """Runs each task as an asyncio task on the current loop: one at a time per queue (a
    burst of saves doesn't run a burst of counts at once, and a long night doesn't hold up a
    count), and a task already waiting with the same arguments is not queued twice. A task
    sent for later sleeps first (`drain` doesn't wait for it: the database says what it was
    for, and the sweep sends it again after a restart)."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Task[None]] = set()
        self._delayed: set[asyncio.Task[None]] = set()
        self._waiting: set[tuple[str, str]] = set()
        self._locks: dict[Queue, asyncio.Semaphore] = {}

    async def send(
        self,
        task: Task[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        expires: datetime | None,
        countdown: float = 0,
    ) -> bool:
        if countdown > 0:

            async def later() -> None:
                await asyncio.sleep(countdown)
                await self.send(task, args, kwargs, expires)

            delayed = asyncio.get_running_loop().create_task(later())
            self._delayed.add(delayed)
            delayed.add_done_callback(self._delayed.discard)
            return False
        key = (task.name, repr((args, sorted(kwargs.items()))))
        if key in self._waiting:
            return False
        self._waiting.add(key)
        lock = self._locks.setdefault(
            task.queue, asyncio.Semaphore(IN_PROCESS_PARALLEL.get(task.queue, 1))
        )

        async def guarded() -> None:
            async with lock:
                self._waiting.discard(key)
                if expires is not None and clock.now() > expires:
                    log.info("task %s%s expired unrun", task.name, args)
                    return
                try:
                    await task.run(*args, **kwargs)
                except Exception:  # a background task has no caller to raise to
                    log.exception("task %s%s failed", task.name, args)

        job = asyncio.get_running_loop().create_task(guarded(), name=f"{task.name}{args}")
        self._pending.add(job)
        job.add_done_callback(self._pending.discard)
        return False

    async def drain(self) -> None:
        """Wait for every task queued so far, and those they queue (tests, and shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending))


_backend: Backend | None = None


def backend() -> Backend:
    global _backend
    if _backend is None:
        _backend = InProcessBackend()
    return _backend


def use_backend(new: Backend) -> None:
    """Install where this process sends its tasks (`app.boot.configure` chooses)."""
    global _backend
    _backend = new


async def finish_pending() -> None:
    """Let in-process tasks finish before the database closes (a no-op for Celery)."""
    if isinstance(_backend, InProcessBackend):
        await _backend.drain()
