"""Thin tasks: ids in, one service call, on the worker's own event loop."""

from __future__ import annotations

from worker import runtime
from worker.celery_app import app


@app.task(name="segments.refresh_segment_count")
def refresh_segment_count(account_id: int, segment_id: int) -> None:
    from app.services.segments import refresh_count

    runtime.run(lambda: refresh_count(account_id, segment_id))


@app.task(name="segments.run_bulk_job")
def run_bulk_job(job_id: int) -> None:
    from app.services.jobs import run_job

    runtime.run(lambda: run_job(job_id))


@app.task(name="segments.recompute_flags")
def recompute_flags(account_id: int) -> None:
    from app.services.segments import recompute_account_flags

    runtime.run(lambda: recompute_account_flags(account_id))
