"""The Celery app of the workers and beat, configured from the same settings as the API."""

from __future__ import annotations

from datetime import datetime

from celery import Celery

from app import clock
from app.services.celery_queue import broker_options, celery_name
from app.services.tasks import QUEUES, TASKS
from app.settings import Settings
from worker.schedule import beat_schedule

# Redis gives an unacknowledged task to another worker after the visibility timeout: a task
# must end (or be stopped) before it, and be idempotent, as every task here is.
TIME_LIMIT_SHARE = 0.9


class SegmentsCelery(Celery):  # type: ignore[misc]
    def now(self) -> datetime:
        # Beat's schedule and the expiries it stamps read the service's clock (app.clock).
        return clock.now()


def make_celery(settings: Settings) -> Celery:
    app = SegmentsCelery(
        "segments", broker=settings.redis_url or "memory://", include=["worker.tasks"]
    )
    time_limit = int(settings.visibility_timeout_s * TIME_LIMIT_SHARE)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_expires=None,  # no result backend, so no nightly cleanup of results either
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=time_limit,
        task_soft_time_limit=max(1, time_limit - max(1, time_limit // 20)),
        task_default_queue="counts",
        task_routes={celery_name(t): {"queue": t.queue} for t in TASKS.values()},
        task_create_missing_queues=True,
        broker_transport_options=broker_options(settings),
        broker_connection_retry_on_startup=True,
        beat_schedule=beat_schedule(settings),
        timezone="UTC",
        enable_utc=True,
    )
    app.conf.worker_queues = QUEUES  # read by `segments worker` as its default -Q
    return app


app = make_celery(Settings.from_env())
