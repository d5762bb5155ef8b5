"""The production task queue: tasks go to the Celery workers through Redis, by name, so the
API never imports the worker package."""

from __future__ import annotations

from typing import Any

from celery import Celery


class CeleryQueue:
    def __init__(self, broker_url: str) -> None:
        self.client = Celery("segments-api", broker=broker_url)
        self.client.conf.update(task_serializer="json", broker_connection_retry_on_startup=True)

    def _send(self, name: str, *args: Any) -> None:
        self.client.send_task(f"segments.{name}", args=list(args))

    def refresh_segment_count(self, account_id: int, segment_id: int) -> None:
        self._send("refresh_segment_count", account_id, segment_id)

    def run_bulk_job(self, job_id: int) -> None:
        self._send("run_bulk_job", job_id)

    def recompute_flags(self, account_id: int) -> None:
        self._send("recompute_flags", account_id)
