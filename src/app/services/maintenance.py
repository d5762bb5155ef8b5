"""The nightly run of one account: the engagement flags as time passes, then every segment's
count and that day's point of its history (with who entered and left), then the removal of
what is past its retention (app.services.retention), recorded as a `MaintenanceRun`.

Runs of one account never overlap: each holds the account's lock (app.locks) for its whole
length. A scheduled run that finds the lock taken is skipped (the run holding it does the same
work); a run someone asked for (accountRecompute, a settings change) waits for it, so it works
with what they just changed. A scheduled run is idempotent per night: redelivered after it
succeeded, it does nothing; redelivered after its worker died, it runs again, and the run that
died is recorded as interrupted."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

from app import clock
from app.engagement import recompute_flags
from app.enums import JobStatus, RunTrigger
from app.locks import Held, account_lock
from app.models import Account, MaintenanceRun
from app.services import retention, tasks, webhook_events
from app.services.counts import refresh_all_counts
from app.services.errors import public_message

log = logging.getLogger(__name__)

LOCK_PURPOSE = "maintenance"
# A night's tasks are dropped unrun once this old, well before the next night's are sent, so
# a backlog never runs yesterday's work after today's.
NIGHTLY_EXPIRES = timedelta(hours=23)
INTERRUPTED = "Interrupted (its worker stopped); a later run took over."


async def fan_out(now: datetime | None = None) -> int:
    """Send one nightly run per account for tonight; returns how many were sent."""
    now = now or clock.now()
    day, expires = now.date().isoformat(), now + NIGHTLY_EXPIRES
    sent = 0
    async for account_id in _account_ids():
        await tasks.nightly_run.send_expiring(expires, account_id, day)
        sent += 1
    log.info("nightly runs sent for %d accounts (%s)", sent, day)
    return sent


async def _account_ids() -> AsyncIterator[int]:
    last = 0
    while True:
        batch = (
            await Account.filter(id__gt=last)
            .order_by("id")
            .limit(1000)
            .values_list("id", flat=True)
        )
        if not batch:
            return
        for account_id in batch:
            yield int(str(account_id))
        last = int(str(batch[-1]))


async def run_scheduled(account_id: int, day: date) -> MaintenanceRun | None:
    """Tonight's run of the account, unless it already succeeded (a redelivered task)."""
    done = await MaintenanceRun.exists(
        account_id=account_id, day=day, trigger=RunTrigger.SCHEDULE, status=JobStatus.SUCCEEDED
    )
    if done:
        log.info("nightly run of account %s for %s already done", account_id, day)
        return None
    return await run(account_id, RunTrigger.SCHEDULE, day=day)


async def run(
    account_id: int,
    trigger: RunTrigger,
    *,
    day: date | None = None,
    wait: timedelta = timedelta(0),
    now: datetime | None = None,
) -> MaintenanceRun | None:
    """Run the account's maintenance now, holding its lock. None when the account is gone or
    another run kept the lock for longer than `wait` (the skip is logged)."""
    account = await Account.get_or_none(id=account_id)
    if account is None:
        return None
    async with account_lock(account_id, LOCK_PURPOSE, wait=wait) as held:
        if held is None:
            log.info(
                "maintenance of account %s (%s) skipped: another run holds its lock",
                account_id,
                trigger.value,
            )
            return None
        return await _run_locked(account, trigger, day, held, now or clock.now())


async def _run_locked(
    account: Account, trigger: RunTrigger, day: date | None, held: Held, now: datetime
) -> MaintenanceRun:
    # Holding the lock, any run still marked running belongs to a worker that died.
    await MaintenanceRun.filter(account_id=account.id, status=JobStatus.RUNNING).update(
        status=JobStatus.FAILED, finished_at=clock.now(), error=INTERRUPTED
    )
    record = await MaintenanceRun.create(
        account=account, trigger=trigger, day=day, started_at=clock.now()
    )
    try:
        record.flags_changed = await recompute_flags(account, now, held=held)
        held.check()
        record.counts_refreshed = await refresh_all_counts(account.id, now, between=held.check)
        held.check()
        await retention.trim(account.id, now)
    except Exception as exc:
        record.status, record.error = JobStatus.FAILED, public_message(exc)
        record.finished_at = clock.now()
        await record.save()
        await webhook_events.maintenance_run_finished(record)
        raise
    record.status, record.finished_at = JobStatus.SUCCEEDED, clock.now()
    await record.save()
    await webhook_events.maintenance_run_finished(record)
    log.info(
        "maintenance of account %s: %d flags changed, %d counts refreshed",
        account.id,
        record.flags_changed,
        record.counts_refreshed,
    )
    return record


async def last_run(account_id: int) -> MaintenanceRun | None:
    return await MaintenanceRun.filter(account_id=account_id).order_by("-started_at", "-id").first()
