"""The Celery app, configured from the same settings as the API."""

from __future__ import annotations

from celery import Celery

from app.settings import Settings

# Redis redelivers an unacknowledged task after the visibility timeout; tasks must finish (or
# be killed) well before it, and be idempotent, as every task here is.
VISIBILITY_TIMEOUT_S = 3600
TIME_LIMIT_S = 3000


def make_celery(settings: Settings) -> Celery:
    app = Celery("segments", broker=settings.redis_url or "memory://", include=["worker.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=TIME_LIMIT_S,
        task_soft_time_limit=TIME_LIMIT_S - 60,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        broker_connection_retry_on_startup=True,
        timezone="UTC",
    )
    return app


app = make_celery(Settings.from_env())
