"""What every process (the API, a worker, beat, a command) sets up from the settings before
it works: its clock, where its background tasks go, and where its locks live."""

from __future__ import annotations

from datetime import timedelta

from app import clock, locks
from app import settings as app_settings
from app.services import tasks
from app.settings import Settings


def configure(settings: Settings) -> None:
    app_settings.use(settings)
    clock.set_offset(timedelta(seconds=settings.clock_offset_s))
    locks.configure(settings)
    if settings.task_mode == "celery":
        from app.services.celery_queue import CeleryBackend

        tasks.use_backend(CeleryBackend(settings))
    else:
        tasks.use_backend(tasks.InProcessBackend())
