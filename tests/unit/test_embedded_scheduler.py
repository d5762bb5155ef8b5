"""The embedded scheduler, driven through three days by a fake clock in no time: the nightly
task fires once a night at its hour, the sweep at each interval."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest

from app import clock
from app.schedule import Periodic
from app.scheduler import EmbeddedScheduler
from app.services import tasks


class FakeClock:
    """Moves the service's clock (app.clock) itself, so the scheduler and the queue's expiry
    checks agree; a sleep of any length passes at once."""

    def __init__(self, start: datetime, end: datetime) -> None:
        clock.set_offset(start - datetime.now(UTC))
        self.end = end
        self.ended = asyncio.Event()
        self.slept: list[float] = []

    def now(self) -> datetime:
        return clock.now()

    async def sleep(self, seconds: float) -> None:
        for _ in range(5):  # let the tasks just queued run before time moves on
            await asyncio.sleep(0)
        self.slept.append(seconds)
        clock.set_offset(clock.offset() + timedelta(seconds=seconds))
        if self.now() >= self.end:
            self.ended.set()


async def test_the_schedule_fires_on_the_fake_clock() -> None:
    fired: list[tuple[str, datetime]] = []
    fake = FakeClock(
        datetime(2026, 3, 1, 12, 0, tzinfo=UTC), end=datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    )

    async def nightly() -> None:
        fired.append(("nightly", fake.now()))

    async def sweep() -> None:
        fired.append(("sweep", fake.now()))

    entries = [
        Periodic("nightly", tasks.Task("nightly", "nightly", nightly), daily_at=time(3, 0)),
        Periodic("sweep", tasks.Task("sweep", "counts", sweep), every=timedelta(hours=6)),
    ]
    backend = tasks.InProcessBackend()
    tasks.use_backend(backend)
    scheduler = asyncio.create_task(
        EmbeddedScheduler(entries, now=fake.now, sleep=fake.sleep).run()
    )
    try:
        await fake.ended.wait()
        await backend.drain()
    finally:
        scheduler.cancel()
        with pytest.raises(asyncio.CancelledError):
            await scheduler
        tasks.use_backend(tasks.InProcessBackend())
        clock.set_offset(timedelta(0))
    nights = [at for name, at in fired if name == "nightly"]
    assert [(n.day, n.hour, n.minute) for n in nights] == [(2, 3, 0), (3, 3, 0), (4, 3, 0)]
    sweeps = [(at.day, at.hour, at.minute) for name, at in fired if name == "sweep"]
    assert sweeps[:3] == [(1, 18, 0), (2, 0, 0), (2, 6, 0)]
    assert len(sweeps) == 12  # every six hours for three days
    assert max(fake.slept) <= 60  # it looks at the clock at least every minute
