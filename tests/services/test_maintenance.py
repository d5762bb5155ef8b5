"""The nightly run of an account: flags as time passes, then every count and the day's point of
history, recorded; one run per account at a time; idempotent per night; and the job that runs
it on demand. On SQLite and PostgreSQL (locks are database leases here; Redis in
tests/test_locks.py)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from app import clock
from app.enums import DefaultSegment, EmailEventKind, JobStatus, RunTrigger
from app.locks import account_lock
from app.models import Account, BulkJob, Contact, MaintenanceRun, Segment, SegmentCountSnapshot
from app.services import maintenance
from app.services.accounts import update_settings
from app.services.jobs import start_recompute_job
from app.services.tasks import finish_pending

from .helpers import NOW, at, event, load, make_contact, record_ok

LATER = at(91)  # 91 days after the last open: past the 90-day inactivity window


async def _people(account: Account) -> None:
    for email, risk in (("ann@x.com", "VALID"), ("bob@x.com", "VALID"), ("cy@x.com", "HIGH_RISK")):
        await make_contact(
            account, email, subscription_status="SUBSCRIBED", email_risk=risk, now=at(-30)
        )
        await record_ok(account, event(EmailEventKind.OPENED, NOW, email))
    await make_contact(account, "dee@x.com", now=at(-30))  # never subscribed


async def _counts(account: Account) -> dict[str, int | None]:
    return {
        s.default_key.value if s.default_key else s.name: s.cached_count
        for s in await Segment.filter(account=account)
    }


async def test_a_nightly_run_moves_flags_with_time_then_counts_and_records(
    account: Account,
) -> None:
    await _people(account)
    quiet = await maintenance.run(account.id, RunTrigger.SCHEDULE, day=NOW.date(), now=NOW)
    assert quiet is not None and quiet.flags_changed == 0 and quiet.counts_refreshed == 6

    run = await maintenance.run(account.id, RunTrigger.SCHEDULE, day=LATER.date(), now=LATER)
    assert run is not None
    assert (run.status, run.flags_changed, run.counts_refreshed) == (JobStatus.SUCCEEDED, 3, 6)
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert (await maintenance.last_run(account.id)) == run
    flags = {c.email: (c.is_inactive, c.is_excluded) for c in await Contact.filter(account=account)}
    assert flags == {
        "ann@x.com": (True, False),
        "bob@x.com": (True, False),
        "cy@x.com": (True, True),  # inactive and a risky address
        "dee@x.com": (False, False),  # not a subscriber
    }
    counts = await _counts(account)
    assert counts["INACTIVE"] == 3 and counts["EXCLUDED"] == 1 and counts["ALL_CONTACTS"] == 4
    inactive = await Segment.get(account=account, default_key=DefaultSegment.INACTIVE)
    points = await SegmentCountSnapshot.filter(segment=inactive).order_by("day")
    assert [(p.day, p.count) for p in points] == [(NOW.date(), 0), (LATER.date(), 3)]

    # An open takes bob out at once, and the next night keeps him out.
    await record_ok(account, event(EmailEventKind.OPENED, LATER, "bob@x.com"), now=LATER)
    assert not (await load(account, "bob@x.com")).is_inactive
    again = await maintenance.run(account.id, RunTrigger.MANUAL, now=LATER + timedelta(hours=1))
    assert again is not None and again.flags_changed == 0
    assert (await _counts(account))["INACTIVE"] == 2
    # The same day again: its point is overwritten, not added.
    assert [
        (p.day, p.count)
        for p in await SegmentCountSnapshot.filter(segment=inactive).order_by("day")
    ][-1] == (
        LATER.date(),
        2,
    )
    assert await SegmentCountSnapshot.filter(segment=inactive).count() == 2


async def test_a_scheduled_night_runs_once(account: Account) -> None:
    await _people(account)
    day = date(2024, 6, 2)
    first = await maintenance.run_scheduled(account.id, day)
    assert first is not None and first.day == day
    assert await maintenance.run_scheduled(account.id, day) is None  # a redelivered task
    assert await MaintenanceRun.filter(account=account).count() == 1
    assert await maintenance.run_scheduled(account.id, day + timedelta(days=1)) is not None


async def test_a_run_is_skipped_while_another_holds_the_lock(account: Account) -> None:
    async with account_lock(account.id, maintenance.LOCK_PURPOSE) as held:
        assert held is not None
        assert await maintenance.run(account.id, RunTrigger.SCHEDULE) is None
    assert not await MaintenanceRun.exists(account=account)
    assert await maintenance.run(account.id, RunTrigger.SCHEDULE) is not None


async def test_a_run_that_asked_waits_for_the_one_under_way(account: Account) -> None:
    released = asyncio.Event()

    async def hold_briefly() -> None:
        async with account_lock(account.id, maintenance.LOCK_PURPOSE) as held:
            assert held is not None
            released.set()
            await asyncio.sleep(0.5)

    holder = asyncio.create_task(hold_briefly())
    await released.wait()
    run = await maintenance.run(account.id, RunTrigger.MANUAL, wait=timedelta(seconds=30))
    await holder
    assert run is not None and run.status is JobStatus.SUCCEEDED


async def test_a_run_left_running_by_a_dead_worker_is_marked_interrupted(
    account: Account,
) -> None:
    dead = await MaintenanceRun.create(
        account=account, trigger=RunTrigger.SCHEDULE, day=NOW.date(), started_at=NOW
    )
    run = await maintenance.run(account.id, RunTrigger.SCHEDULE, day=NOW.date())
    assert run is not None and run.status is JobStatus.SUCCEEDED
    await dead.refresh_from_db()
    assert (dead.status, dead.error) == (JobStatus.FAILED, maintenance.INTERRUPTED)


async def test_a_deleted_account_has_nothing_to_run() -> None:
    assert await maintenance.run(10**12, RunTrigger.SCHEDULE) is None


async def test_the_fan_out_sends_one_run_per_account(account: Account) -> None:
    await _people(account)
    sent = await maintenance.fan_out()
    assert sent >= 1  # every account of the test database, this one among them
    await finish_pending()
    assert await MaintenanceRun.filter(
        account=account, trigger=RunTrigger.SCHEDULE, status=JobStatus.SUCCEEDED
    ).exists()


async def test_recompute_job_and_settings_changes_run_it_now(account: Account) -> None:
    # Jobs run on the service's clock: eve subscribed 20 days before it.
    twenty_days_ago = clock.now() - timedelta(days=20)
    await make_contact(account, "eve@x.com", subscription_status="SUBSCRIBED", now=twenty_days_ago)
    job = await start_recompute_job(account)
    await finish_pending()
    await job.refresh_from_db()
    assert (job.status, job.processed, job.total) == (JobStatus.SUCCEEDED, 6, 6)
    assert not (await load(account, "eve@x.com")).is_inactive

    # A shorter inactivity window makes eve inactive, at once, through a job.
    await update_settings(account, inactivity_days=10)
    await finish_pending()
    assert (await load(account, "eve@x.com")).is_inactive
    settings_job = await BulkJob.filter(account=account).order_by("-id").first()
    assert settings_job is not None and settings_job.params == {"trigger": "SETTINGS"}
    assert settings_job.status is JobStatus.SUCCEEDED
    last = await maintenance.last_run(account.id)
    assert last is not None and last.trigger is RunTrigger.SETTINGS
