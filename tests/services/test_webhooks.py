"""Webhooks on SQLite and PostgreSQL: creation and deletion rules, deliveries written from
events (membership changes cut into pieces of at most a thousand ids, exactly once past the
marker), and sending them to a real HTTP receiver: signed, recorded, retried on a growing
schedule, given up after the retry window, and a slow receiver never holding up another."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from app import clock, settings
from app.enums import DeliveryStatus, JobStatus, MembershipChangeKind, RunTrigger, WebhookEvent
from app.filters.ids import to_global_id
from app.models import (
    Account,
    BulkJob,
    MaintenanceRun,
    MembershipChange,
    Segment,
    Webhook,
    WebhookDelivery,
)
from app.services import jobs, tasks, webhook_events
from app.services.errors import DomainError, ErrorCode
from app.services.segments import create_segment
from app.services.sweep import sweep
from app.services.webhook_delivery import Lease, deliver
from app.services.webhooks import (
    MAX_WEBHOOKS,
    create_webhook,
    delete_webhook,
    list_deliveries,
    list_webhooks,
)
from webhook_receiver import Receiver, receiving

MEMBERSHIP = WebhookEvent.SEGMENT_MEMBERSHIP_CHANGED
FILTER = {
    "emailActivity": {"event": "OPENED", "count": {"gte": 1}, "window": {"withinLastDays": 30}}
}


class Recorder:
    """A broker that takes every task and runs none."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...], float]] = []

    async def send(
        self,
        task: tasks.Task[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        expires: datetime | None,
        countdown: float = 0,
    ) -> bool:
        self.sent.append((task.name, args, countdown))
        return True

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for task, args, _ in self.sent if task == name]


@pytest.fixture
def broker() -> Iterator[Recorder]:
    previous = tasks.backend()
    recorder = Recorder()
    tasks.use_backend(recorder)
    try:
        yield recorder
    finally:
        tasks.use_backend(previous)


@contextmanager
def configured(**changes: Any) -> Iterator[None]:
    previous = settings.current()
    settings.use(replace(previous, **changes))
    try:
        yield
    finally:
        settings.use(previous)


@pytest.fixture
def local() -> Iterator[None]:
    """Receivers on 127.0.0.1 allowed, one-second attempts, 30 s first retry."""
    with configured(
        webhooks_allow_private=True,
        webhook_timeout_s=1,
        webhook_retry_base_s=30,
        webhook_retry_for_s=86_400,
        environment="development",
    ):
        yield


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture
async def segment(account: Account) -> Segment:
    return await _segment(account, "Seg")


async def _segment(account: Account, name: str) -> Segment:
    return await create_segment(
        account, name=f"{name} {secrets.token_hex(3)}", description=None, filter_input=FILTER
    )


async def _hook(
    account: Account,
    receiver: Receiver,
    path: str,
    events: list[WebhookEvent] | None = None,
    segments: list[int] | None = None,
) -> Webhook:
    path = f"{path}?w={secrets.token_hex(3)}"
    hook, secret = await create_webhook(
        account.id, receiver.url(path), events or list(WebhookEvent), segments or []
    )
    receiver.secrets[path] = secret
    return hook


async def _record_changes(
    account: Account, segment: Segment, changes: list[tuple[int, MembershipChangeKind]]
) -> None:
    now = clock.now()
    await MembershipChange.bulk_create(
        [
            MembershipChange(account=account, segment=segment, contact_id=c, kind=k, at=now)
            for c, k in changes
        ]
    )


async def _deliveries(hook: Webhook) -> list[WebhookDelivery]:
    return await WebhookDelivery.filter(webhook_id=hook.id).order_by("id")


async def _pending(account: Account, hook: Webhook, count: int = 1) -> list[WebhookDelivery]:
    """`count` BULK_JOB_FINISHED deliveries for the webhook."""
    for _ in range(count):
        job = await BulkJob.create(
            account=account, kind="segment_tag", status=JobStatus.SUCCEEDED, processed=3, total=3
        )
        job.finished_at = clock.now()
        await webhook_events.bulk_job_finished(job)
    return await _deliveries(hook)


async def _error(call: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await call
    return caught.value


# -- creating and deleting ----------------------------------------------------------------


async def test_create_returns_the_secret_once_and_stores_the_webhook(
    account: Account, segment: Segment, local: None
) -> None:
    hook, secret = await create_webhook(
        account.id, "http://127.0.0.1:9/hook", [MEMBERSHIP], [segment.id]
    )
    assert secret.startswith("whsec_") and len(secret) == 70
    stored = await Webhook.get(id=hook.id)
    assert stored.events == ["SEGMENT_MEMBERSHIP_CHANGED"] and stored.segment_ids == [segment.id]
    assert stored.secret == secret and stored.sending_until is None
    assert [h.id for h in await list_webhooks(account.id, None, 10)] == [hook.id]


async def test_create_validates_each_input(
    account: Account, other_account: Account, segment: Segment, local: None
) -> None:
    url = "http://127.0.0.1:9/hook"
    error = await _error(create_webhook(account.id, url, [], []))
    assert (error.code, error.field) == (ErrorCode.REQUIRED, ("input", "events"))
    error = await _error(create_webhook(account.id, url, [MEMBERSHIP, MEMBERSHIP], []))
    assert (error.code, error.field) == (ErrorCode.INVALID, ("input", "events"))
    theirs = await _segment(other_account, "Theirs")
    error = await _error(create_webhook(account.id, url, [MEMBERSHIP], [segment.id, theirs.id]))
    assert (error.code, error.field) == (ErrorCode.NOT_FOUND, ("input", "segments", "1"))
    error = await _error(create_webhook(account.id, url, [MEMBERSHIP], [0]))
    assert error.field == ("input", "segments", "0")
    for bad in ("ftp://x.io/", "http://u:p@127.0.0.1/", "http://no-such-host.invalid/"):
        error = await _error(create_webhook(account.id, bad, [MEMBERSHIP], []))
        assert (error.code, error.field) == (ErrorCode.URL_NOT_ALLOWED, ("input", "url"))
    with configured(webhooks_allow_private=False):
        error = await _error(create_webhook(account.id, url, [MEMBERSHIP], []))
        assert error.code == ErrorCode.URL_NOT_ALLOWED and "loopback" in error.message
    with configured(environment="production"):
        error = await _error(create_webhook(account.id, url, [MEMBERSHIP], []))
        assert error.code == ErrorCode.URL_NOT_ALLOWED and "https://" in error.message
    assert not await Webhook.filter(account=account).exists()


async def test_an_account_has_a_limited_number_of_webhooks(account: Account, local: None) -> None:
    for _ in range(MAX_WEBHOOKS):
        await create_webhook(account.id, "http://127.0.0.1:9/", [MEMBERSHIP], [])
    error = await _error(create_webhook(account.id, "http://127.0.0.1:9/", [MEMBERSHIP], []))
    assert error.code == ErrorCode.LIMIT_REACHED


async def test_delete_needs_confirmation_and_takes_the_deliveries(
    account: Account, other_account: Account, receiver: Receiver, local: None, broker: Recorder
) -> None:
    hook = await _hook(account, receiver, "/ok")
    assert len(await _pending(account, hook, 2)) == 2
    error = await _error(delete_webhook(account.id, hook.id, confirm=False))
    assert (error.code, error.field) == (ErrorCode.CONFIRMATION_REQUIRED, ("confirm",))
    error = await _error(delete_webhook(other_account.id, hook.id, confirm=True))
    assert (error.code, error.field) == (ErrorCode.NOT_FOUND, ("id",))
    await delete_webhook(account.id, hook.id, confirm=True)
    assert not await Webhook.exists(id=hook.id)
    assert not await WebhookDelivery.filter(webhook_id=hook.id).exists()
    await deliver(hook.id)  # a task for a deleted webhook does nothing
    assert receiver.ids() == []


async def test_deliveries_are_listed_newest_first_by_keyset(
    account: Account, receiver: Receiver, local: None, broker: Recorder
) -> None:
    hook = await _hook(account, receiver, "/ok")
    made = await _pending(account, hook, 5)
    first = await list_deliveries(account.id, hook.id, None, 2)
    rest = await list_deliveries(account.id, hook.id, first[-1].id, 10)
    assert [d.id for d in first + rest] == [d.id for d in reversed(made)]
    assert await list_deliveries(account.id + 10_000, hook.id, None, 10) == []


# -- events become deliveries -------------------------------------------------------------


async def test_membership_changes_are_written_in_pieces_of_at_most_a_thousand_ids(
    account: Account, segment: Segment, receiver: Receiver, local: None, broker: Recorder
) -> None:
    other = await _segment(account, "Other")
    everything = await _hook(account, receiver, "/ok")
    mine = await _hook(account, receiver, "/ok", [MEMBERSHIP], [segment.id])
    elsewhere = await _hook(account, receiver, "/ok", [MEMBERSHIP], [other.id])
    jobs_only = await _hook(account, receiver, "/ok", [WebhookEvent.BULK_JOB_FINISHED])
    entered, left = MembershipChangeKind.ENTERED, MembershipChangeKind.LEFT
    await _record_changes(
        account, segment, [(c, entered if c % 4 else left) for c in range(1, 2301)]
    )

    await webhook_events.membership_changed(account.id, segment.id)
    assert broker.named("write_membership_deliveries") == [(account.id, segment.id)]
    written = await webhook_events.write_membership_deliveries(account.id, segment.id)
    assert written == 6
    assert sorted(broker.named("deliver_webhook")) == sorted([(everything.id,), (mine.id,)])
    for hook in (everything, mine):
        bodies = [json.loads(d.body) for d in await _deliveries(hook)]
        assert [len(b["data"]["entered"]) + len(b["data"]["left"]) for b in bodies] == [
            1000,
            1000,
            300,
        ]
        assert {b["type"] for b in bodies} == {"SEGMENT_MEMBERSHIP_CHANGED"}
        assert {b["data"]["segment"] for b in bodies} == {to_global_id("Segment", segment.id)}
        assert {b["account"] for b in bodies} == {to_global_id("Account", account.id)}
        ids = [g for b in bodies for g in b["data"]["entered"] + b["data"]["left"]]
        assert sorted(ids) == sorted(to_global_id("Contact", c) for c in range(1, 2301))
        assert len({b["id"] for b in bodies}) == 3
    assert not await WebhookDelivery.filter(webhook_id__in=[elsewhere.id, jobs_only.id]).exists()
    # The marker makes a repeated (or redelivered) task a no-op.
    assert await webhook_events.write_membership_deliveries(account.id, segment.id) == 0
    latest = await MembershipChange.filter(segment=segment).order_by("-id").first()
    assert latest is not None
    assert (await Segment.get(id=segment.id)).changes_notified_id == latest.id


async def test_changes_nobody_hears_are_skipped_and_a_new_webhook_hears_only_later_ones(
    account: Account, segment: Segment, receiver: Receiver, local: None, broker: Recorder
) -> None:
    await _record_changes(account, segment, [(1, MembershipChangeKind.ENTERED)])
    await webhook_events.membership_changed(account.id, segment.id)
    assert broker.named("write_membership_deliveries") == []  # nobody listens: no task
    assert (await Segment.get(id=segment.id)).changes_notified_id is not None
    # Changes recorded before a webhook existed, never told: it still does not get them.
    await _record_changes(account, segment, [(2, MembershipChangeKind.ENTERED)])
    hook = await _hook(account, receiver, "/ok", [MEMBERSHIP])
    await _record_changes(account, segment, [(3, MembershipChangeKind.LEFT)])
    await webhook_events.write_membership_deliveries(account.id, segment.id)
    bodies = [json.loads(d.body) for d in await _deliveries(hook)]
    assert [(b["data"]["entered"], b["data"]["left"]) for b in bodies] == [
        ([], [to_global_id("Contact", 3)])
    ]


async def test_job_and_run_endings_are_delivered_to_their_listeners(
    account: Account, receiver: Receiver, local: None, broker: Recorder
) -> None:
    jobs = await _hook(account, receiver, "/ok", [WebhookEvent.BULK_JOB_FINISHED])
    runs = await _hook(account, receiver, "/ok", [WebhookEvent.MAINTENANCE_RUN_FINISHED])
    job = await BulkJob.create(
        account=account, kind="segment_tag", status=JobStatus.FAILED, processed=2, total=5
    )
    job.error, job.finished_at = "It failed.", clock.now()
    await webhook_events.bulk_job_finished(job)
    run = await MaintenanceRun.create(
        account=account,
        trigger=RunTrigger.MANUAL,
        status=JobStatus.SUCCEEDED,
        started_at=clock.now(),
        finished_at=clock.now(),
        flags_changed=4,
        counts_refreshed=6,
    )
    await webhook_events.maintenance_run_finished(run)
    [job_delivery] = await _deliveries(jobs)
    assert json.loads(job_delivery.body)["data"] == {
        "id": to_global_id("BulkJob", job.id),
        "kind": "segment_tag",
        "status": "FAILED",
        "processed": 2,
        "total": 5,
        "error": "It failed.",
        "finishedAt": job.finished_at.isoformat(),
    }
    [run_delivery] = await _deliveries(runs)
    body = json.loads(run_delivery.body)
    assert body["type"] == "MAINTENANCE_RUN_FINISHED"
    assert body["data"]["flagsChanged"] == 4 and body["data"]["countsRefreshed"] == 6
    assert body["data"]["status"] == "SUCCEEDED" and body["data"]["error"] is None
    assert sorted(broker.named("deliver_webhook")) == sorted([(jobs.id,), (runs.id,)])


# -- sending ------------------------------------------------------------------------------


async def test_a_delivery_is_signed_and_recorded(
    account: Account, receiver: Receiver, local: None, broker: Recorder
) -> None:
    hook = await _hook(account, receiver, "/ok", [WebhookEvent.BULK_JOB_FINISHED])
    [pending] = await _pending(account, hook)
    await deliver(hook.id)
    [got] = receiver.received
    assert got.signed_ok and got.id == pending.event_id and abs(got.timestamp - time.time()) < 60
    assert got.body == json.loads(pending.body)
    assert set(got.body) == {"id", "type", "createdAt", "account", "data"}
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"].startswith("Segments-Webhooks/")
    assert got.headers["Host"] == receiver.base.removeprefix("http://")
    [done] = await _deliveries(hook)
    assert (done.status, done.attempts, done.response_status, done.error) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
        None,
    )
    assert done.last_attempt_at is not None
    assert (await Webhook.get(id=hook.id)).sending_until is None  # the lease is released


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/500", 500, "HTTP 500"),
        ("/redirect", 302, "redirect (302) not followed"),
        ("/slow3", None, "timed out after 1 s"),
    ],
)
async def test_a_failed_attempt_is_recorded_and_retried_later_in_order(
    account: Account,
    receiver: Receiver,
    local: None,
    broker: Recorder,
    path: str,
    status: int | None,
    error: str,
) -> None:
    hook = await _hook(account, receiver, path, [WebhookEvent.BULK_JOB_FINISHED])
    await _pending(account, hook, 3)
    before = clock.now()
    await deliver(hook.id)
    first, *rest = await _deliveries(hook)
    # One attempt (of the oldest) per retry step, however many wait behind it.
    assert len(receiver.received) == 1 and receiver.received[0].id == first.event_id
    assert (first.status, first.attempts, first.response_status, first.error) == (
        DeliveryStatus.PENDING,
        1,
        status,
        error,
    )
    assert first.next_attempt_at is not None
    assert before + timedelta(seconds=15) <= first.next_attempt_at
    assert first.next_attempt_at <= clock.now() + timedelta(seconds=30)
    assert all(d.attempts == 0 for d in rest)
    [(_, (webhook_id,), countdown)] = [s for s in broker.sent if s[0] == "deliver_webhook"][-1:]
    assert webhook_id == hook.id and 14 <= countdown <= 30
    # A task before its time sends nothing.
    await deliver(hook.id)
    assert len(receiver.received) == 1


async def test_retries_wait_longer_each_time_then_give_up(
    account: Account, receiver: Receiver, local: None, broker: Recorder
) -> None:
    hook = await _hook(account, receiver, "/500", [WebhookEvent.BULK_JOB_FINISHED])
    [pending] = await _pending(account, hook)
    waits = []
    for _ in range(4):
        await deliver(hook.id)
        current = await WebhookDelivery.get(id=pending.id)
        assert current.next_attempt_at is not None and current.last_attempt_at is not None
        waits.append((current.next_attempt_at - current.last_attempt_at).total_seconds())
        await WebhookDelivery.filter(id=pending.id).update(next_attempt_at=clock.now())
    for step, wait in enumerate(waits):
        full = 30 * 2**step
        assert full / 2 - 1 <= wait <= full + 1
    # Past the retry window, the next failure is the last.
    old = clock.now() - timedelta(days=1, seconds=1)
    await WebhookDelivery.filter(id=pending.id).update(created_at=old)
    [_, second] = await _pending(account, hook)
    await deliver(hook.id)
    given_up = await WebhookDelivery.get(id=pending.id)
    assert (given_up.status, given_up.attempts, given_up.next_attempt_at) == (
        DeliveryStatus.FAILED,
        5,
        None,
    )
    # The one behind it is tried next, in the same run.
    assert (await WebhookDelivery.get(id=second.id)).attempts == 1
    assert len(receiver.received) == 6


async def test_a_slow_receiver_does_not_hold_up_another(
    account: Account, receiver: Receiver, local: None, broker: Recorder
) -> None:
    slow = await _hook(account, receiver, "/slow3", [WebhookEvent.BULK_JOB_FINISHED])
    fine = await _hook(account, receiver, "/ok", [WebhookEvent.BULK_JOB_FINISHED])
    await _pending(account, slow)
    started = time.monotonic()
    slow_run = asyncio.ensure_future(deliver(slow.id))
    await asyncio.sleep(0.05)
    await deliver(fine.id)
    assert time.monotonic() - started < 0.9  # before the slow one's attempt even times out
    [done] = await _deliveries(fine)
    assert done.status == DeliveryStatus.DELIVERED
    await slow_run
    [late] = await _deliveries(slow)
    assert late.error == "timed out after 1 s" and late.status == DeliveryStatus.PENDING


async def test_the_address_is_checked_again_at_each_delivery(
    account: Account, receiver: Receiver, local: None, broker: Recorder
) -> None:
    hook = await _hook(account, receiver, "/ok", [WebhookEvent.BULK_JOB_FINISHED])
    await _pending(account, hook)
    with configured(webhooks_allow_private=False):
        await deliver(hook.id)
    [refused] = await _deliveries(hook)
    assert refused.status == DeliveryStatus.PENDING and refused.response_status is None
    assert refused.error is not None and refused.error.startswith("address not allowed:")
    assert receiver.received == []


async def test_one_sender_per_webhook_and_the_sweep_sends_what_is_due(
    account: Account, receiver: Receiver, local: None, broker: Recorder
) -> None:
    hook = await _hook(account, receiver, "/ok", [WebhookEvent.BULK_JOB_FINISHED])
    await _pending(account, hook)
    held = Lease(hook.id, timedelta(minutes=1))
    assert await held.claim()
    assert not await Lease(hook.id, timedelta(minutes=1)).claim()
    await deliver(hook.id)  # another task holds the lease: nothing is sent
    assert receiver.received == []
    broker.sent.clear()
    await sweep()
    assert (hook.id,) not in broker.named("deliver_webhook")
    # Its holder died: once the lease expires, the sweep sends the webhook's task again.
    await Webhook.filter(id=hook.id).update(sending_until=clock.now() - timedelta(seconds=1))
    assert not await held.renew()  # and the old holder can't take it back
    await sweep()
    assert (hook.id,) in broker.named("deliver_webhook")
    await deliver(hook.id)
    assert len(receiver.received) == 1


async def test_the_sweep_writes_changes_left_behind(
    account: Account, segment: Segment, receiver: Receiver, local: None, broker: Recorder
) -> None:
    await _hook(account, receiver, "/ok", [MEMBERSHIP])
    await _record_changes(account, segment, [(5, MembershipChangeKind.ENTERED)])
    await sweep()
    assert (account.id, segment.id) in broker.named("write_membership_deliveries")


async def test_a_finished_job_and_its_run_are_reported(
    account: Account, receiver: Receiver, local: None, broker: Recorder
) -> None:
    hook = await _hook(
        account,
        receiver,
        "/ok",
        [WebhookEvent.BULK_JOB_FINISHED, WebhookEvent.MAINTENANCE_RUN_FINISHED],
    )
    job = await jobs.start_recompute_job(account)
    await jobs.run_job(job.id)
    bodies = [json.loads(d.body) for d in await _deliveries(hook)]
    assert [b["type"] for b in bodies] == ["MAINTENANCE_RUN_FINISHED", "BULK_JOB_FINISHED"]
    assert bodies[1]["data"]["id"] == to_global_id("BulkJob", job.id)
    assert bodies[1]["data"]["status"] == "SUCCEEDED"
    await deliver(hook.id)
    assert receiver.ids() == [b["id"] for b in bodies]
