"""The sweep, every few minutes: refresh the counts that need it, send the jobs that never
reached a worker, the webhook deliveries due with nobody sending them (a retry whose message
was lost, a worker that died mid-attempt) and the membership changes not yet written as
deliveries. Whatever a lost or never-sent message was for is in the database, so a broker
outage delays a count, a job or a delivery by minutes and never loses it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from app import clock
from app.enums import JobStatus, WebhookEvent
from app.models import BulkJob, Webhook
from app.services import tasks
from app.services.counts import accounts_needing_refresh
from app.services.jobs import dispatch
from app.services.webhook_delivery import due_webhooks
from app.services.webhook_events import segments_behind

log = logging.getLogger(__name__)

# A job still waiting this long after its creation without a broker holding it is sent again.
UNSENT_AFTER = timedelta(seconds=30)
# A refresh not started by then is dropped: the next sweep sends a fresh one.
REFRESH_EXPIRES = timedelta(minutes=10)


@dataclass(frozen=True)
class SweepReport:
    accounts_refreshed: int
    jobs_sent: int
    webhooks_sent: int = 0
    segments_sent: int = 0


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
    webhooks = await due_webhooks(now)
    for webhook_id in webhooks:
        await tasks.deliver_webhook.send(webhook_id)
    segments = await _segments_behind()
    for account_id, segment_id in segments:
        await tasks.write_membership_deliveries.send(account_id, segment_id)
    if webhooks or segments:
        log.info(
            "sweep: %d webhooks' deliveries and %d segments' changes sent",
            len(webhooks),
            len(segments),
        )
    return SweepReport(len(accounts), len(unsent), len(webhooks), len(segments))


async def _segments_behind() -> list[tuple[int, int]]:
    """Segments of accounts with a webhook hearing membership changes, whose changes are past
    their marker (the few webhooks are read whole; each segment is one probe of an index)."""
    event = WebhookEvent.SEGMENT_MEMBERSHIP_CHANGED.value
    rows = await Webhook.all().values_list("account_id", "events")
    accounts = sorted({int(str(account_id)) for account_id, events in rows if event in events})
    return [(a, s) for a in accounts for s in await segments_behind(a)]
