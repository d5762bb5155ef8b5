"""The sweep, every few minutes: refresh the counts that need it and send the jobs that never
reached a worker. Whatever a lost or never-sent message was for is in the database, so a
broker outage delays a count or a job by minutes and never loses it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from app import clock
from app.enums import JobStatus
from app.models import BulkJob
from app.services import tasks
from app.services.counts import accounts_needing_refresh
from app.services.jobs import dispatch

log = logging.getLogger(__name__)

# A job still waiting this long after its creation without a broker holding it is sent again.
UNSENT_AFTER = timedelta(seconds=30)
# A refresh not started by then is dropped: the next sweep sends a fresh one.
REFRESH_EXPIRES = timedelta(minutes=10)


@dataclass(frozen=True)
class SweepReport:
    accounts_refreshed: int
    jobs_sent: int


async def sweep(now: datetime | None = None) -> SweepReport:
    now = now or clock.now()
    accounts = await accounts_needing_refresh(now)
    for account_id in accounts:
        await tasks.refresh_stale_counts.send_expiring(now + REFRESH_EXPIRES, account_id)
    unsent = await BulkJob.filter(
        status=JobStatus.QUEUED, dispatched_at=None, created_at__lt=now - UNSENT_AFTER
    ).order_by("id")
    for job in unsent:
        await dispatch(job)
    if accounts or unsent:
        log.info("sweep: counts of %d accounts, %d jobs sent again", len(accounts), len(unsent))
    return SweepReport(len(accounts), len(unsent))
