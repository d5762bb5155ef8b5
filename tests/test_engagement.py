"""The engagement rules, recomputed set-based and explained, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.engagement import explain_flags, recompute_flags
from app.enums import EmailEventKind, EmailRisk, SubscriptionStatus
from app.models import Account, Contact, EmailEvent
from app.services.accounts import create_account
from app.services.contacts import ContactData, upsert_contacts
from app.services.events import ENGAGEMENT, EventData, record_events

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
    """Store events directly, keeping the summary the rules read as ingestion would."""
    for day in days:
        await EmailEvent.create(
            account_id=contact.account_id,  # type: ignore[attr-defined]
            contact=contact,
            kind=kind,
            occurred_at=ago(day),
        )
    if kind is EmailEventKind.BOUNCED_SOFT and days:
        await Contact.filter(id=contact.id).update(last_soft_bounce_at=ago(min(days)))


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


async def test_recompute_writes_only_the_contacts_it_changes_and_follows_settings(
    account: Account,
) -> None:
    stale = await _contact(account, "stale", last_engaged_at=ago(60))
    fresh = await _contact(account, "fresh", last_engaged_at=ago(1))
    assert await recompute_flags(account, NOW) == 0  # both right already: nothing written
    await account.refresh_from_db()
    assert account.flags_evaluated_at == NOW  # the account says when they were checked
    account.inactivity_days = 30
    await account.save()
    later = NOW + timedelta(hours=1)
    assert await recompute_flags(account, later) == 1
    assert (await _flags(stale))[0]
    await stale.refresh_from_db()
    await fresh.refresh_from_db()
    assert (stale.flags_computed_at, fresh.flags_computed_at) == (later, None)
    assert await recompute_flags(account, later) == 0


async def test_explain_flags_gives_every_part(account: Account) -> None:
    contact = await _contact(account, "x", email_risk=EmailRisk.HIGH_RISK, last_engaged_at=ago(100))
    parts = await explain_flags(account, contact.id, NOW)
    assert parts is not None
    assert parts["subscribed"] and parts["unengaged_in_window"] and parts["inactive"]
    assert parts["risky_address"] and parts["high_risk"] and parts["excluded"]
    assert not parts["soft_bouncing"] and not parts["unengaged_sends"]
    assert not parts["hard_bounced"]
    assert await explain_flags(account, contact.id + 10_000, NOW) is None


# Distinct minutes, so "before" and "after" are never ties.
_event_lists = st.lists(
    st.tuples(st.sampled_from(EmailEventKind), st.integers(0, 10_000)),
    max_size=20,
    unique_by=lambda pair: pair[1],
).map(lambda pairs: [(kind, START + timedelta(minutes=m)) for kind, m in pairs])
START = NOW - timedelta(days=30)


@settings(max_examples=40, deadline=None, database=None)
@given(events=_event_lists, batches=st.integers(1, 3), rnd=st.randoms(use_true_random=False))
async def test_recorded_events_set_the_counters_and_the_hard_bounce_flag(
    db: str, events: list[tuple[EmailEventKind, datetime]], batches: int, rnd: random.Random
) -> None:
    """Recorded in any order and any batches, the counters and Hard Bounced come out as a
    direct reading of the event list says."""
    account = (await create_account(f"Events {secrets.token_hex(3)}")).account
    await upsert_contacts(
        account,
        [ContactData(email="ann@x.com", subscription_status="SUBSCRIBED")],
        now=START - timedelta(days=1),
    )
    shuffled = list(events)
    rnd.shuffle(shuffled)
    for index in range(batches):
        part = shuffled[index::batches]
        items = [EventData("ann@x.com", kind, at) for kind, at in part]
        assert not (await record_events(account, items, now=NOW)).errors
    contact = await Contact.get(account=account, email_lower="ann@x.com")

    engaged = max((at for k, at in events if k in ENGAGEMENT), default=None)

    def since_engagement(kind: EmailEventKind) -> int:
        return sum(1 for k, at in events if k is kind and (engaged is None or at > engaged))

    assert contact.sends_since_engagement == since_engagement(EmailEventKind.SENT)
    assert contact.soft_bounces == since_engagement(EmailEventKind.BOUNCED_SOFT)
    # Hard bounced: the last delivery attempt (or sign of life) was a permanent failure.
    attempts = sorted(
        (at, kind)
        for kind, at in events
        if kind in (EmailEventKind.BOUNCED_HARD, EmailEventKind.DELIVERED, *ENGAGEMENT)
    )
    assert contact.is_hard_bounced == (
        bool(attempts) and attempts[-1][1] is EmailEventKind.BOUNCED_HARD
    )
    if engaged is not None and engaged > NOW - timedelta(days=account.inactivity_days):
        assert not contact.is_inactive and not contact.is_excluded
