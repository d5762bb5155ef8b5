"""Each task is declared once and everything else derives from it: the Celery registrations and
routes, beat's schedule, the in-process queue; and the schedule's arithmetic."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

from app.schedule import Periodic, next_nightly_run, periodic
from app.services import tasks
from app.services.celery_queue import celery_name
from app.settings import Settings
from worker.schedule import beat_schedule
from worker.tasks import app as celery_app

SETTINGS = Settings(nightly_at=time(3, 30), sweep_every_s=120)


def test_every_declared_task_is_a_celery_task_on_its_queue() -> None:
    assert set(tasks.TASKS) == {
        "refresh_segment_count",
        "refresh_stale_counts",
        "run_bulk_job",
        "nightly_fanout",
        "nightly_run",
        "sweep",
        "write_membership_deliveries",
        "deliver_webhook",
    }
    for declared in tasks.TASKS.values():
        registered = celery_app.tasks[celery_name(declared)]
        assert registered.acks_late
        route = celery_app.conf.task_routes[celery_name(declared)]
        assert route == {"queue": declared.queue} and declared.queue in tasks.QUEUES
    assert tasks.nightly_run.queue == "nightly"
    assert tasks.refresh_segment_count.queue == "counts"
    assert tasks.run_bulk_job.queue == "bulk"
    assert tasks.deliver_webhook.queue == "webhooks"


def test_beat_runs_the_shared_schedule_with_expiries() -> None:
    schedule = beat_schedule(SETTINGS)
    assert set(schedule) == {entry.name for entry in periodic(SETTINGS)}
    nightly = schedule["nightly"]
    assert nightly["task"] == "segments.nightly_fanout"
    assert nightly["options"] == {"queue": "nightly", "expires": 86400.0}
    assert (nightly["schedule"].hour, nightly["schedule"].minute) == ({3}, {30})
    sweep = schedule["sweep"]
    assert sweep["schedule"].run_every == timedelta(seconds=120)
    assert sweep["options"] == {"queue": "counts", "expires": 120.0}


def test_next_times() -> None:
    nightly, sweep = periodic(SETTINGS)
    before = datetime(2026, 3, 1, 3, 29, 59, tzinfo=UTC)
    assert nightly.next_after(before) == datetime(2026, 3, 1, 3, 30, tzinfo=UTC)
    assert nightly.next_after(before + timedelta(seconds=1)) == datetime(
        2026, 3, 2, 3, 30, tzinfo=UTC
    )
    assert sweep.next_after(datetime(2026, 3, 1, 0, 1, tzinfo=UTC)) == datetime(
        2026, 3, 1, 0, 2, tzinfo=UTC
    )
    assert next_nightly_run(SETTINGS, before) == datetime(2026, 3, 1, 3, 30, tzinfo=UTC)
    unscheduled = Settings(schedule=False)
    assert next_nightly_run(unscheduled, before) is None
    with_beat = Settings(redis_url="redis://x", schedule=False)  # beat runs it, not this process
    assert next_nightly_run(with_beat, before) is not None


async def test_the_in_process_queue_runs_one_at_a_time_per_queue_and_coalesces() -> None:
    ran: list[str] = []
    gate = asyncio.Event()

    async def slow(name: str) -> None:
        await gate.wait()
        ran.append(name)

    async def quick(name: str) -> None:
        ran.append(name)

    slow_task = tasks.Task("slow", "nightly", slow)
    quick_task = tasks.Task("quick", "counts", quick)
    backend = tasks.InProcessBackend()
    tasks.use_backend(backend)
    try:
        assert not await slow_task.send("night")  # in-process: no broker holds it
        await quick_task.send("a")
        await quick_task.send("b")
        await quick_task.send("b")  # the same task still waiting: not queued twice
        past = datetime.now(UTC) - timedelta(seconds=1)
        await quick_task.send_expiring(past, "expired")
        await asyncio.sleep(0.05)
        assert ran == ["a", "b"]  # counts went on while the night was still running
        gate.set()
        await backend.drain()
        assert ran == ["a", "b", "night"]
    finally:
        tasks.use_backend(tasks.InProcessBackend())


def test_periodic_entries_are_due_strictly_after() -> None:
    every = Periodic("p", tasks.sweep, every=timedelta(minutes=5))
    on_the_dot = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert every.next_after(on_the_dot) == on_the_dot + timedelta(minutes=5)
    assert every.period == timedelta(minutes=5)
