"""The embedded mode's scheduler: without Redis there is no beat, so the API process runs the
same periodic list (app.schedule) itself, handing each due task to the in-process queue. Its
clock and its sleep are parameters, so a test can drive it through a night in no time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from app import clock
from app.schedule import Periodic

log = logging.getLogger(__name__)

# Never sleep longer than this in one go, so a clock that jumps is noticed soon.
MAX_SLEEP_S = 60.0


class EmbeddedScheduler:
    def __init__(
        self,
        entries: Sequence[Periodic],
        *,
        now: Callable[[], datetime] = clock.now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.entries = list(entries)
        self.now, self.sleep = now, sleep

    async def run(self) -> None:
        due = {entry.name: entry.next_after(self.now()) for entry in self.entries}
        while True:
            current = self.now()
            for entry in self.entries:
                if due[entry.name] <= current:
                    log.info("scheduled: %s", entry.name)
                    try:
                        # A firing that waited past its period gives way to the next one.
                        await entry.task.send_expiring(due[entry.name] + entry.period)
                    except Exception:  # the schedule goes on; the next firing tries again
                        log.exception("could not start %s", entry.name)
                    due[entry.name] = entry.next_after(current)
            wait = (min(due.values()) - self.now()).total_seconds()
            await self.sleep(min(max(wait, 0.0), MAX_SLEEP_S))
