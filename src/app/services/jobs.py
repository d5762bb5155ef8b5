"""Bulk jobs: tag (and untag) every member of a segment, and run an account's maintenance
now. The job records the request and its progress. Tag jobs work in batches of contact ids,
one set-based statement per batch, and are idempotent, so running one again (a redelivered
task) does no harm."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from tortoise.transactions import in_transaction

from app import clock
from app.db import id_set
from app.enums import JobStatus, RunTrigger
from app.filters import query
from app.models import Account, BulkJob, ContactTag, Segment, Tag
from app.services import maintenance, tasks, webhook_events
from app.services.contacts import ensure_tags, hold_contacts, tag_changes
from app.services.counts import mark_counts_stale
from app.services.errors import DomainError, ErrorCode, public_message
from app.services.segments import get_segment, segment_filter
from app.text import fold

TAG_JOB = "segment_tag"
RECOMPUTE_JOB = "account_recompute"
BATCH = 1000
# How long a run someone asked for waits for a run already under way.
RECOMPUTE_WAIT = timedelta(minutes=10)


async def start_tag_job(
    account: Account, segment_id: int, add: Sequence[str], remove: Sequence[str]
) -> BulkJob:
    """Queue a job that tags every member of the segment (as it is when the job runs)."""
    segment = await get_segment(account, segment_id)
    add_names, remove_names = tag_changes(add, remove)
    return await _start(
        account, TAG_JOB, {"segment_id": segment.id, "add": add_names, "remove": remove_names}
    )


async def start_recompute_job(account: Account, trigger: RunTrigger = RunTrigger.MANUAL) -> BulkJob:
    """Queue the account's maintenance (flags, then every count) to run now."""
    return await _start(account, RECOMPUTE_JOB, {"trigger": trigger.value})


async def _start(account: Account, kind: str, params: dict[str, object]) -> BulkJob:
    job = await BulkJob.create(account=account, kind=kind, params=params, created_at=clock.now())
    await dispatch(job)
    return job


async def dispatch(job: BulkJob) -> None:
    """Send the job to the workers; stamped once a broker holds it, so the sweep resends
    the jobs a broker outage kept from leaving."""
    if await tasks.run_bulk_job.send(job.id):
        job.dispatched_at = clock.now()
        await BulkJob.filter(id=job.id).update(dispatched_at=job.dispatched_at)


async def run_job(job_id: int) -> BulkJob | None:
    job = await BulkJob.get_or_none(id=job_id).select_related("account")
    if job is None or job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        return job
    job.status, job.started_at, job.processed = JobStatus.RUNNING, clock.now(), 0
    await job.save(update_fields=["status", "started_at", "processed"])
    try:
        if job.kind == RECOMPUTE_JOB:
            await _run_recompute_job(job)
        else:
            await _run_tag_job(job)
    except Exception as exc:
        job.status, job.error, job.finished_at = JobStatus.FAILED, public_message(exc), clock.now()
        await job.save(update_fields=["status", "error", "finished_at"])
        await webhook_events.bulk_job_finished(job)
        if isinstance(exc, DomainError):
            return job  # the job's own failure, recorded: nothing to retry
        raise
    job.status, job.finished_at = JobStatus.SUCCEEDED, clock.now()
    await job.save(update_fields=["status", "finished_at", "processed", "total"])
    await webhook_events.bulk_job_finished(job)
    return job


async def _run_recompute_job(job: BulkJob) -> None:
    account: Account = job.account
    job.total = await Segment.filter(account=account).count()
    await job.save(update_fields=["total"])
    trigger = RunTrigger(job.params.get("trigger", RunTrigger.MANUAL.value))
    record = await maintenance.run(account.id, trigger, wait=RECOMPUTE_WAIT)
    if record is None:
        raise DomainError(
            ErrorCode.BUSY,
            "Another maintenance run of this account kept going for more than "
            f"{int(RECOMPUTE_WAIT.total_seconds() // 60)} minutes; ask again later.",
        )
    job.processed = record.counts_refreshed or 0


async def _run_tag_job(job: BulkJob) -> None:
    account: Account = job.account
    segment = await get_segment(account, int(job.params["segment_id"]))
    tree = segment_filter(segment)
    now = clock.now()
    job.total = await query.count_matching(account.id, tree, now=now)
    await job.save(update_fields=["total"])
    tags = await ensure_tags(account, job.params.get("add", []))
    add_ids = [tag.id for tag in tags.values()]
    remove = [fold(name) for name in job.params.get("remove", [])]
    remove_ids = (
        await id_set(Tag.filter(account=account, name_lower__in=remove)) if remove else set()
    )
    after: query.Keyset | None = None
    order = query.Order("created_at")
    while True:
        rows = await query.page(account.id, tree, now=now, order=order, limit=BATCH, after=after)
        if not rows:
            break
        async with in_transaction():
            # A member erased since the page was read is skipped, never linked.
            ids = await hold_contacts(account, [int(row["id"]) for row in rows])
            if add_ids:
                await ContactTag.bulk_create(
                    [
                        ContactTag(account=account, contact_id=c, tag_id=t)
                        for c in ids  # the one order of every writer of links
                        for t in sorted(add_ids)
                    ],
                    batch_size=1000,
                    ignore_conflicts=True,
                )
            if remove_ids:
                await ContactTag.filter(
                    account=account, contact_id__in=ids, tag_id__in=remove_ids
                ).delete()
            job.processed += len(rows)
            await BulkJob.filter(id=job.id).update(processed=job.processed)
        after = query.Keyset(rows[-1]["sort_value"], rows[-1]["id"])
    await mark_counts_stale(account.id)  # tag-based segments may have changed
