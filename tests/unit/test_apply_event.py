"""apply_event, the summary of a contact's email events, checked against a direct reading of
the event list: the "latest time" fields are right in any order, and the subscription follows
the first way out. The counters and the flags are SQL's (app.engagement), checked through
record_events in tests/test_engagement.py."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.enums import EmailEventKind, SubscriptionStatus, UnsubscribeReason
from app.models import Contact
from app.services.events import ENGAGEMENT, apply_event

START = datetime(2024, 1, 1, tzinfo=UTC)
Event = tuple[EmailEventKind, datetime]

# Distinct minutes, so "before" and "after" are never ties.
event_lists = st.lists(
    st.tuples(st.sampled_from(EmailEventKind), st.integers(0, 10_000)),
    max_size=30,
    unique_by=lambda pair: pair[1],
).map(lambda pairs: [(kind, START + timedelta(minutes=m)) for kind, m in pairs])

fast = settings(max_examples=300, deadline=None, database=None)


def subscriber() -> Contact:
    return Contact(
        email="ann@example.com",
        email_lower="ann@example.com",
        subscription_status=SubscriptionStatus.SUBSCRIBED,
        subscribed_at=START - timedelta(days=1),
    )


def summarise(events: list[Event]) -> Contact:
    contact = subscriber()
    for kind, at in events:
        apply_event(contact, kind, at)
    return contact


def latest(events: list[Event], *kinds: EmailEventKind) -> datetime | None:
    return max((at for kind, at in events if kind in kinds), default=None)


@fast
@given(event_lists, st.randoms(use_true_random=False))
def test_latest_times_do_not_depend_on_arrival_order(
    events: list[Event], rnd: random.Random
) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    contact = summarise(shuffled)

    assert contact.last_sent_at == latest(events, EmailEventKind.SENT)
    assert contact.last_opened_at == latest(events, EmailEventKind.OPENED)
    assert contact.last_clicked_at == latest(events, EmailEventKind.CLICKED)
    assert contact.last_engaged_at == latest(events, *ENGAGEMENT)
    assert contact.hard_bounced_at == latest(events, EmailEventKind.BOUNCED_HARD)
    assert contact.last_soft_bounce_at == latest(events, EmailEventKind.BOUNCED_SOFT)
    if any(kind is EmailEventKind.COMPLAINED for kind, _ in events):
        # A complaint wins over any other reason, whenever it arrives.
        assert contact.subscription_status is SubscriptionStatus.UNSUBSCRIBED
        assert contact.unsubscribe_reason is UnsubscribeReason.MARKED_SPAM


@fast
@given(event_lists)
def test_the_first_way_out_names_the_reason(events: list[Event]) -> None:
    events = sorted(events, key=lambda e: e[1])
    contact = summarise(events)

    leaving = {
        EmailEventKind.UNSUBSCRIBED: UnsubscribeReason.OPTED_OUT,
        EmailEventKind.COMPLAINED: UnsubscribeReason.MARKED_SPAM,
    }
    reasons: list[UnsubscribeReason] = []
    engaged: datetime | None = None
    for kind, at in events:
        if kind in ENGAGEMENT:
            engaged = at
        elif kind in leaving:
            reasons.append(leaving[kind])
        elif kind is EmailEventKind.BOUNCED_HARD and (engaged is None or at > engaged):
            reasons.append(UnsubscribeReason.BOUNCED)

    if not reasons:
        assert contact.subscription_status is SubscriptionStatus.SUBSCRIBED
        assert contact.unsubscribe_reason is None
    else:
        assert contact.subscription_status is SubscriptionStatus.UNSUBSCRIBED
        expected = (
            UnsubscribeReason.MARKED_SPAM
            if UnsubscribeReason.MARKED_SPAM in reasons
            else reasons[0]
        )
        assert contact.unsubscribe_reason is expected


def test_events_before_the_opt_in_do_not_unsubscribe() -> None:
    for kind in (
        EmailEventKind.UNSUBSCRIBED,
        EmailEventKind.COMPLAINED,
        EmailEventKind.BOUNCED_HARD,
    ):
        contact = subscriber()
        apply_event(contact, kind, START - timedelta(days=2))
        assert contact.subscription_status is SubscriptionStatus.SUBSCRIBED, kind
        assert contact.unsubscribe_reason is None
