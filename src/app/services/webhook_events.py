"""Events become deliveries: one row per listening webhook, with the exact body it will be sent
with on every try (the same `id`, so receivers can deduplicate), written before any task is
sent. Membership changes are read from the change log past the segment's marker
(`changes_notified_id`), so a redelivered or repeated task writes nothing twice."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app import clock
from app.db import fetch, is_postgres
from app.enums import MembershipChangeKind, WebhookEvent
from app.filters.ids import to_global_id
from app.filters.sql import sql
from app.limits import MAX_DELIVERY_IDS
from app.models import BulkJob, MaintenanceRun, MembershipChange, Webhook, WebhookDelivery
from app.services import tasks

log = logging.getLogger(__name__)


def body(event_id: str, event: WebhookEvent, at: datetime, account_id: int, data: object) -> str:
    return json.dumps(
        {
            "id": event_id,
            "type": event.value,
            "createdAt": _time(at),
            "account": to_global_id("Account", account_id),
            "data": data,
        },
        separators=(",", ":"),
    )


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def listening(
    webhooks: Iterable[Webhook], event: WebhookEvent, segment_id: int | None = None
) -> list[Webhook]:
    """The webhooks hearing this event (of this segment, when given; none listed: all)."""
    return [
        hook
        for hook in webhooks
        if event.value in hook.events
        and (segment_id is None or not hook.segment_ids or segment_id in hook.segment_ids)
    ]


async def _listeners(
    account_id: int,
    event: WebhookEvent,
    segment_id: int | None = None,
    conn: BaseDBAsyncClient | None = None,
) -> list[Webhook]:
    # At most MAX_WEBHOOKS per account, and the event lists are JSON: filtered here.
    query = Webhook.filter(account_id=account_id).only("id", "events", "segment_ids")
    if conn is not None:
        query = query.using_db(conn)
    return listening(await query, event, segment_id)


async def _write(
    conn: BaseDBAsyncClient,
    hooks: Sequence[Webhook],
    account_id: int,
    event: WebhookEvent,
    data: object,
    now: datetime,
) -> None:
    rows = []
    for hook in hooks:
        event_id = str(uuid.uuid4())
        rows.append(
            WebhookDelivery(
                account_id=account_id,
                webhook_id=hook.id,
                event=event,
                event_id=event_id,
                body=body(event_id, event, now, account_id, data),
                next_attempt_at=now,
                created_at=now,
            )
        )
    if rows:
        await WebhookDelivery.bulk_create(rows, using_db=conn)


async def _send(webhook_ids: Iterable[int]) -> None:
    for webhook_id in sorted(set(webhook_ids)):
        await tasks.deliver_webhook.send(webhook_id)


async def _emit(account_id: int, event: WebhookEvent, data: object) -> None:
    """Write a delivery per listening webhook and send their tasks. Called as work finishes, it
    never raises: a failure here is logged and must not fail the work it reports."""
    try:
        async with in_transaction() as conn:
            hooks = await _listeners(account_id, event, conn=conn)
            await _write(conn, hooks, account_id, event, data, clock.now())
        await _send(hook.id for hook in hooks)
    except Exception:
        log.exception("could not write the %s deliveries of account %s", event.value, account_id)


async def bulk_job_finished(job: BulkJob) -> None:
    await _emit(
        job.account_id,  # type: ignore[attr-defined]
        WebhookEvent.BULK_JOB_FINISHED,
        {
            "id": to_global_id("BulkJob", job.id),
            "kind": job.kind,
            "status": job.status.value,
            "processed": job.processed,
            "total": job.total,
            "error": job.error,
            "finishedAt": _time(job.finished_at),
        },
    )


async def maintenance_run_finished(run: MaintenanceRun) -> None:
    await _emit(
        run.account_id,  # type: ignore[attr-defined]
        WebhookEvent.MAINTENANCE_RUN_FINISHED,
        {
            "status": run.status.value,
            "startedAt": _time(run.started_at),
            "finishedAt": _time(run.finished_at),
            "flagsChanged": run.flags_changed,
            "countsRefreshed": run.counts_refreshed,
            "error": run.error,
        },
    )


# -- segment membership --------------------------------------------------------------------


async def membership_changed(account_id: int, segment_id: int) -> None:
    """After a computation recorded changes: have their deliveries written, or, when no
    webhook listens, move the marker past them (a webhook created later hears only what
    happens after it)."""
    event = WebhookEvent.SEGMENT_MEMBERSHIP_CHANGED
    if await _listeners(account_id, event, segment_id):
        await tasks.write_membership_deliveries.send(account_id, segment_id)
    else:
        await skip_unheard_changes(account_id, [segment_id])


async def skip_unheard_changes(account_id: int, segment_ids: Sequence[int]) -> None:
    """Move these segments' markers to their latest change (their changes will never be sent)."""
    for segment_id in segment_ids:
        await fetch(
            sql(
                "UPDATE segments SET changes_notified_id = COALESCE((SELECT MAX(c.id) FROM "
                "segment_membership_changes c WHERE c.account_id = ? AND c.segment_id = ?), "
                "changes_notified_id) WHERE id = ? AND account_id = ?",
                account_id,
                segment_id,
                segment_id,
                account_id,
            )
        )


@dataclass
class Chunk:
    at: datetime
    last_id: int = 0
    entered: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)

    def takes(self, contact_id: int, at: datetime) -> bool:
        # One computation per delivery, each contact once in it (so "entered then left" is
        # never one delivery that can't say which came first), at most MAX_DELIVERY_IDS ids.
        return at == self.at and contact_id not in self.seen and len(self.seen) < MAX_DELIVERY_IDS

    def add(self, change_id: int, contact_id: int, kind: MembershipChangeKind) -> None:
        (self.entered if kind == MembershipChangeKind.ENTERED else self.left).append(contact_id)
        self.seen.add(contact_id)
        self.last_id = change_id


def chunks(rows: Iterable[dict[str, Any]]) -> list[Chunk]:
    """Changes (in id order: id, contact_id, kind, at) cut into deliveries."""
    out: list[Chunk] = []
    for row in rows:
        if not out or not out[-1].takes(row["contact_id"], row["at"]):
            out.append(Chunk(row["at"]))
        out[-1].add(row["id"], row["contact_id"], MembershipChangeKind(row["kind"]))
    return out


def membership_data(segment_id: int, chunk: Chunk) -> dict[str, Any]:
    return {
        "segment": to_global_id("Segment", segment_id),
        "entered": [to_global_id("Contact", pk) for pk in chunk.entered],
        "left": [to_global_id("Contact", pk) for pk in chunk.left],
    }


async def write_membership_deliveries(account_id: int, segment_id: int) -> int:
    """Write the deliveries of the segment's changes past its marker, a batch per
    transaction that holds the segment's row and moves the marker; then send the webhooks'
    tasks. How many deliveries were written."""
    written, touched = 0, set[int]()
    while True:
        async with in_transaction() as conn:
            held = await _hold_marker(conn, account_id, segment_id)
            if held is None:
                break  # the segment is gone, and its changes with it
            rows = (
                await MembershipChange.filter(
                    account_id=account_id, segment_id=segment_id, id__gt=held
                )
                .using_db(conn)
                .order_by("id")
                .limit(MAX_DELIVERY_IDS)
                .values("id", "contact_id", "kind", "at")
            )
            if not rows:
                break
            hooks = await _listeners(
                account_id, WebhookEvent.SEGMENT_MEMBERSHIP_CHANGED, segment_id, conn
            )
            now = clock.now()
            for chunk in chunks(rows):
                data = membership_data(segment_id, chunk)
                await _write(
                    conn, hooks, account_id, WebhookEvent.SEGMENT_MEMBERSHIP_CHANGED, data, now
                )
                written += len(hooks)
            await fetch(
                sql(
                    "UPDATE segments SET changes_notified_id = ? WHERE id = ?",
                    int(rows[-1]["id"]),
                    segment_id,
                ),
                conn,
            )
            touched.update(hook.id for hook in hooks)
    await _send(touched)
    return written


async def _hold_marker(conn: BaseDBAsyncClient, account_id: int, segment_id: int) -> int | None:
    """Lock the segment's row for this transaction and read its marker (0: none yet); None
    when the segment is gone. NO KEY UPDATE: a computation holding the row FOR KEY SHARE
    goes on, while two writers of the same segment's deliveries wait for each other."""
    lock = " FOR NO KEY UPDATE" if is_postgres(conn) else ""
    rows = await fetch(
        sql(
            "SELECT changes_notified_id FROM segments WHERE id = ? AND account_id = ?" + lock,
            segment_id,
            account_id,
        ),
        conn,
    )
    if not rows:
        return None
    return int(rows[0]["changes_notified_id"] or 0)


async def segments_behind(account_id: int) -> list[int]:
    """The account's segments with changes past their marker (for the sweep)."""
    rows = await fetch(
        sql(
            "SELECT s.id FROM segments s WHERE s.account_id = ? AND EXISTS (SELECT 1 FROM "
            "segment_membership_changes c WHERE c.account_id = s.account_id AND "
            "c.segment_id = s.id AND c.id > COALESCE(s.changes_notified_id, 0)) ORDER BY s.id",
            account_id,
        )
    )
    return [int(row["id"]) for row in rows]
