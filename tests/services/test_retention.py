"""The nightly run removes changes and finished deliveries past their retention and expired
snapshots, and keeps the rest (a delivery still being retried stays however old)."""

from __future__ import annotations

from datetime import timedelta

from app.enums import DeliveryStatus, MembershipChangeKind, RunTrigger, WebhookEvent
from app.models import Account, MembershipChange, Segment, SegmentSnapshot, Webhook, WebhookDelivery
from app.services import maintenance, snapshots

from .helpers import NOW, make_contact


async def test_the_nightly_run_removes_what_is_past_its_retention(account: Account) -> None:
    await make_contact(account, "a@x.io")
    everyone = await Segment.get(account=account, name="All Contacts")
    for days_ago in (120, 30):
        await MembershipChange.create(
            account=account,
            segment=everyone,
            contact_id=days_ago,
            kind=MembershipChangeKind.LEFT,
            at=NOW - timedelta(days=days_ago),
        )
    hook = await Webhook.create(
        account=account, url="https://example.com/h", events=[], secret="s", created_at=NOW
    )
    for days_ago, status in (
        (120, DeliveryStatus.DELIVERED),
        (120, DeliveryStatus.PENDING),
        (1, DeliveryStatus.FAILED),
    ):
        await WebhookDelivery.create(
            account=account,
            webhook=hook,
            event=WebhookEvent.BULK_JOB_FINISHED,
            event_id=f"e{days_ago}{status}",
            body="{}",
            status=status,
            created_at=NOW - timedelta(days=days_ago),
        )
    old = await snapshots.create_snapshot(account.id, everyone.id)
    await SegmentSnapshot.filter(id=old.id).update(expires_at=NOW - timedelta(seconds=1))
    kept = await snapshots.create_snapshot(account.id, everyone.id)
    await SegmentSnapshot.filter(id=kept.id).update(expires_at=NOW + timedelta(days=1))

    run = await maintenance.run(account.id, RunTrigger.COMMAND, now=NOW)

    assert run is not None and run.error is None
    assert await MembershipChange.filter(account=account, contact_id=120).count() == 0
    assert await MembershipChange.filter(account=account, contact_id=30).count() == 1
    assert sorted(
        await WebhookDelivery.filter(account=account).values_list("event_id", flat=True)
    ) == [
        f"e120{DeliveryStatus.PENDING}",
        f"e1{DeliveryStatus.FAILED}",
    ]
    assert await SegmentSnapshot.filter(account=account).values_list("id", flat=True) == [kept.id]
    assert await snapshots.member_ids(account.id, old.id, after_contact_id=None, limit=10) == []
