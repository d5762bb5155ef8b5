"""Celery beat's schedule, derived from the one periodic list (app.schedule). Beat reads the
service's clock (the app's `now`, worker.celery_app), and each firing expires once the next
one is due, so a backlog never runs one period's work twice."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab, schedule

from app.schedule import periodic
from app.services.celery_queue import celery_name
from app.settings import Settings


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for entry in periodic(settings):
        if entry.daily_at is not None:
            when: Any = crontab(minute=entry.daily_at.minute, hour=entry.daily_at.hour)
        else:
            when = schedule(entry.period)
        entries[entry.name] = {
            "task": celery_name(entry.task),
            "schedule": when,
            "options": {"queue": entry.task.queue, "expires": entry.period.total_seconds()},
        }
    return entries
