"""The Celery side of every task declared in app.services.tasks: registered under its name,
on its queue, each a thin call of the declared coroutine on the worker's own event loop.
Failures that a later try may not meet (app.faults) are retried with exponential backoff and
full jitter; anything else fails the task at once."""

from __future__ import annotations

from typing import Any

from celery import Task as CeleryTask
from celery.utils.time import get_exponential_backoff_interval

from app.faults import is_transient
from app.services.celery_queue import celery_name
from app.services.tasks import TASKS, Task
from worker import runtime
from worker.celery_app import app

MAX_RETRIES = 8
BACKOFF_FACTOR_S = 2
BACKOFF_MAX_S = 600


def retry_delay(retries: int) -> int:
    return int(
        get_exponential_backoff_interval(BACKOFF_FACTOR_S, retries, BACKOFF_MAX_S, full_jitter=True)
    )


def register(declared: Task[Any]) -> None:
    @app.task(
        name=celery_name(declared),
        bind=True,
        acks_late=True,
        max_retries=MAX_RETRIES,
    )
    def run(self: CeleryTask, *args: Any, **kwargs: Any) -> None:
        try:
            runtime.run(lambda: declared.run(*args, **kwargs))
        except Exception as exc:
            if not is_transient(exc) or self.request.retries >= MAX_RETRIES:
                raise
            raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc


for _declared in TASKS.values():
    register(_declared)
