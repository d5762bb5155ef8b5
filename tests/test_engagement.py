"""The engagement rules, recomputed set-based and explained, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.engagement import explain_flags, recompute_flags
from app.enums import EmailEventKind, EmailRisk, SubscriptionStatus
from app.models import Account, Contact, EmailEvent

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def _contact(account: Account, name: str, **fields: Any) -> Contact:
    fields.setdefault("subscription_status", SubscriptionStatus.SUBSCRIBED)
    fields.setdefault("subscribed_at", ago(500))
    return await Contact.create(
        account=account, email=f"{name}@x.com", email_lower=f"{name}@x.com", **fields
    )


async def _events(contact: Contact, kind: EmailEventKind, *days: float) -> None:
    for day in days:
        await EmailEvent.create(
            account_id=contact.account_id,  # type: ignore[attr-defined]
            contact=contact,
            kind=kind,
            occurred_at=ago(day),
        )


async def _flags(contact: Contact) -> tuple[bool, bool, bool]:
    await contact.refresh_from_db()
    return contact.is_inactive, contact.is_excluded, contact.is_hard_bounced


async def test_inactive_counts_from_the_later_of_engagement_and_subscription(
    account: Account,
) -> None:
    stale = await _contact(account, "stale", last_engaged_at=ago(91))
    fresh = await _contact(account, "fresh", last_engaged_at=ago(89))
    resubscribed = await _contact(account, "resub", last_engaged_at=ago(300), subscribed_at=ago(10))
    never = await _contact(account, "never", subscribed_at=None)  # falls back to created_at
    unsubscribed = await _contact(
        account,
        "gone",
        subscription_status=SubscriptionStatus.UNSUBSCRIBED,
        last_engaged_at=ago(400),
    )
    await Contact.filter(id=never.id).update(created_at=ago(95))
    await recompute_flags(account, NOW)
    assert (await _flags(stale))[0]
    assert not (await _flags(fresh))[0]
    assert not (await _flags(resubscribed))[0]
    assert (await _flags(never))[0]
    assert not (await _flags(unsubscribed))[0]


async def test_excluded_needs_inactive_and_one_kind_of_high_risk(account: Account) -> None:
    risky = await _contact(
        account, "risky", email_risk=EmailRisk.HIGH_RISK, last_engaged_at=ago(200)
    )
    risky_but_active = await _contact(
        account, "active", email_risk=EmailRisk.HIGH_RISK, last_engaged_at=ago(5)
    )
    unengaged = await _contact(
        account, "sends", sends_since_engagement=10, last_engaged_at=ago(200)
    )
    almost = await _contact(account, "nine", sends_since_engagement=9, last_engaged_at=ago(200))
    bouncing = await _contact(account, "soft", last_engaged_at=ago(200))
    await _events(bouncing, EmailEventKind.BOUNCED_SOFT, 1, 20, 80)
    old_bounces = await _contact(account, "oldsoft", last_engaged_at=ago(300))
    await _events(old_bounces, EmailEventKind.BOUNCED_SOFT, 1, 20, 120)  # one outside the window
    await recompute_flags(account, NOW)
    assert (await _flags(risky))[:2] == (True, True)
    assert (await _flags(risky_but_active))[:2] == (False, False)
    assert (await _flags(unengaged))[:2] == (True, True)
    assert (await _flags(almost))[:2] == (True, False)
    assert (await _flags(bouncing))[:2] == (True, True)
    assert (await _flags(old_bounces))[:2] == (True, False)


async def test_hard_bounced_until_engagement_or_delivery(account: Account) -> None:
    bounced = await _contact(account, "bounced", hard_bounced_at=ago(3), last_engaged_at=ago(10))
    engaged_since = await _contact(
        account, "opened", hard_bounced_at=ago(3), last_engaged_at=ago(1)
    )
    delivered_since = await _contact(account, "delivered", hard_bounced_at=ago(3))
    await _events(delivered_since, EmailEventKind.DELIVERED, 1)
    delivered_before = await _contact(account, "earlier", hard_bounced_at=ago(3))
    await _events(delivered_before, EmailEventKind.DELIVERED, 5)
    await recompute_flags(account, NOW)
    assert (await _flags(bounced))[2]
    assert not (await _flags(engaged_since))[2]
    assert not (await _flags(delivered_since))[2]
    assert (await _flags(delivered_before))[2]


async def test_recompute_reports_changes_stamps_every_contact_and_follows_settings(
    account: Account,
) -> None:
    stale = await _contact(account, "stale", last_engaged_at=ago(60))
    await _contact(account, "fresh", last_engaged_at=ago(1))
    assert await recompute_flags(account, NOW) == 2  # first run: every row gets its stamp
    assert await recompute_flags(account, NOW) == 0
    account.inactivity_days = 30
    await account.save()
    assert await recompute_flags(account, NOW) == 1
    assert (await _flags(stale))[0]
    await stale.refresh_from_db()
    assert stale.flags_computed_at == NOW


async def test_explain_flags_gives_every_part(account: Account) -> None:
    contact = await _contact(account, "x", email_risk=EmailRisk.HIGH_RISK, last_engaged_at=ago(100))
    parts = await explain_flags(account, contact.id, NOW)
    assert parts is not None
    assert parts["subscribed"] and parts["unengaged_in_window"] and parts["inactive"]
    assert parts["risky_address"] and parts["high_risk"] and parts["excluded"]
    assert not parts["soft_bouncing"] and not parts["unengaged_sends"]
    assert not parts["hard_bounced"]
    assert await explain_flags(account, contact.id + 10_000, NOW) is None
