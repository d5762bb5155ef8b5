"""Tasks sent to the Celery workers through Redis, by name, so the API never imports the
worker package. Publishing runs in a thread (the event loop never waits on Redis), fails
fast, and after a failure stops trying for a moment: while Redis is away every request would
otherwise pay the connection timeout. Nothing is lost meanwhile; the database holds what each
task was for, and the sweep sends it again once Redis is back."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from celery import Celery

from app.settings import Settings

if TYPE_CHECKING:
    from app.services.tasks import Task

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 1.0
# After a failed publish, sends are skipped (and logged) for this long.
BACKOFF_S = 5.0


def celery_name(task: Task[Any]) -> str:
    return f"segments.{task.name}"


def broker_options(settings: Settings) -> dict[str, Any]:
    """The Redis transport's options, shared by the API, the workers and beat."""
    return {
        "visibility_timeout": settings.visibility_timeout_s,
        # Look for tasks abandoned by a dead worker a few times per visibility timeout.
        "unacked_restore_interval": max(1, min(60, settings.visibility_timeout_s // 10)),
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": 10,
    }


class CeleryBackend:
    def __init__(self, settings: Settings) -> None:
        self.client = Celery("segments-api", broker=settings.redis_url)
        self.client.conf.update(
            task_serializer="json",
            broker_connection_retry_on_startup=False,
            broker_connection_timeout=CONNECT_TIMEOUT_S,
            broker_transport_options=broker_options(settings),
        )
        # kombu's producers are not shared across threads: publish from one thread.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="celery-send")
        self._quiet_until = 0.0

    async def send(
        self,
        task: Task[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        expires: datetime | None,
        countdown: float = 0,
    ) -> bool:
        if time.monotonic() < self._quiet_until:
            log.warning("broker unavailable: %s%s not sent (the sweep will)", task.name, args)
            return False
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                self._executor, self._publish, task, list(args), kwargs, expires, countdown
            )
        except Exception as exc:  # any broker failure: the sweep resends from the database
            self._quiet_until = time.monotonic() + BACKOFF_S
            log.warning(
                "could not send %s%s to the broker (%s); the sweep will",
                task.name,
                args,
                type(exc).__name__,
            )
            return False
        return True

    def _publish(
        self,
        task: Task[Any],
        args: list[Any],
        kwargs: dict[str, Any],
        expires: datetime | None,
        countdown: float,
    ) -> None:
        self.client.send_task(
            celery_name(task),
            args=args,
            kwargs=kwargs,
            queue=task.queue,
            expires=expires,
            countdown=countdown or None,
            retry=False,
        )
