"""Bulk jobs: tag (and untag) every member of a segment. The job records the request and its
progress; the work runs in batches of contact ids, one set-based statement per batch, and is
idempotent, so running it again (a redelivered task) does no harm."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from app.db import id_set
from app.enums import JobStatus
from app.filters import query
from app.models import Account, BulkJob, ContactTag, Tag
from app.services.contacts import ensure_tags, tag_changes
from app.services.errors import DomainError
from app.services.segments import get_segment, mark_counts_stale, segment_filter
from app.services.tasks import queue
from app.text import fold

TAG_JOB = "segment_tag"
BATCH = 1000


async def start_tag_job(
    account: Account, segment_id: int, add: Sequence[str], remove: Sequence[str]
) -> BulkJob:
    """Queue a job that tags every member of the segment (as it is when the job runs)."""
    segment = await get_segment(account, segment_id)
    add_names, remove_names = tag_changes(add, remove)
    job = await BulkJob.create(
        account=account,
        kind=TAG_JOB,
        params={"segment_id": segment.id, "add": add_names, "remove": remove_names},
    )
    queue().run_bulk_job(job.id)
    return job


async def run_job(job_id: int) -> BulkJob | None:
    job = await BulkJob.get_or_none(id=job_id).select_related("account")
    if job is None or job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        return job
    job.status, job.started_at, job.processed = JobStatus.RUNNING, datetime.now(UTC), 0
    await job.save(update_fields=["status", "started_at", "processed"])
    try:
        await _run_tag_job(job)
    except Exception as exc:
        job.status, job.error, job.finished_at = JobStatus.FAILED, _public(exc), datetime.now(UTC)
        await job.save(update_fields=["status", "error", "finished_at"])
        raise
    job.status, job.finished_at = JobStatus.SUCCEEDED, datetime.now(UTC)
    await job.save(update_fields=["status", "finished_at", "processed", "total"])
    return job


def _public(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    return "The job failed unexpectedly; it has been logged."


async def _run_tag_job(job: BulkJob) -> None:
    account: Account = job.account
    segment = await get_segment(account, int(job.params["segment_id"]))
    tree = segment_filter(segment)
    now = datetime.now(UTC)
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
        ids = [int(row["id"]) for row in rows]
        async with in_transaction():
            if add_ids:
                await ContactTag.bulk_create(
                    [
                        ContactTag(account=account, contact_id=c, tag_id=t)
                        for c in ids
                        for t in add_ids
                    ],
                    batch_size=1000,
                    ignore_conflicts=True,
                )
            if remove_ids:
                await ContactTag.filter(
                    account=account, contact_id__in=ids, tag_id__in=remove_ids
                ).delete()
            job.processed += len(ids)
            await BulkJob.filter(id=job.id).update(processed=job.processed)
        after = query.Keyset(rows[-1]["sort_value"], rows[-1]["id"])
    await mark_counts_stale(account.id)  # tag-based segments may have changed
