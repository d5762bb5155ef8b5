"""The periodic work, stated once: Celery beat (worker/schedule.py) and the embedded scheduler
(app/scheduler.py) both run this list, and `viewer.maintenance.nextRunAt` reads it.

- nightly: at `SEGMENTS_NIGHTLY_AT` (UTC), one maintenance run per account;
- sweep: every `SEGMENTS_SWEEP_EVERY_S` seconds, the counts marked stale and the jobs that
  never reached a worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from app.services import tasks
from app.settings import Settings


@dataclass(frozen=True)
class Periodic:
    name: str
    task: tasks.Task[[]]
    daily_at: time | None = None  # UTC
    every: timedelta | None = None

    @property
    def period(self) -> timedelta:
        return self.every or timedelta(days=1)

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after `moment` when the task is due."""
        moment = moment.astimezone(UTC)
        if self.every is not None:
            seconds = self.every.total_seconds()
            elapsed = moment.timestamp() // seconds * seconds
            return datetime.fromtimestamp(elapsed + seconds, UTC)
        assert self.daily_at is not None
        at = datetime.combine(moment.date(), self.daily_at, UTC)
        return at if at > moment else at + timedelta(days=1)


def periodic(settings: Settings) -> tuple[Periodic, ...]:
    return (
        Periodic("nightly", tasks.nightly_fanout, daily_at=settings.nightly_at),
        Periodic("sweep", tasks.sweep, every=timedelta(seconds=settings.sweep_every_s)),
    )


def next_nightly_run(settings: Settings, now: datetime) -> datetime | None:
    """When the schedule runs the nightly work next; None when nothing schedules it (the
    embedded mode with the schedule turned off)."""
    if settings.task_mode == "inprocess" and not settings.schedule:
        return None
    return periodic(settings)[0].next_after(now)
