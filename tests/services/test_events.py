"""emailEventsRecord: each event stored once per external id, and its effect on the contact's
denormalised engagement fields, whatever order the provider reports events in."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from app.enums import EmailEventKind, SubscriptionStatus, UnsubscribeReason
from app.models import Account, Contact, EmailEvent
from app.services.batch import MAX_BATCH
from app.services.errors import DomainError, ErrorCode
from app.services.events import record_events

from .helpers import NOW, at, errors_of, event, load, make_contact, record_ok, set_flags

SENT = EmailEventKind.SENT
DELIVERED = EmailEventKind.DELIVERED
OPENED = EmailEventKind.OPENED
CLICKED = EmailEventKind.CLICKED
BOUNCED_HARD = EmailEventKind.BOUNCED_HARD
BOUNCED_SOFT = EmailEventKind.BOUNCED_SOFT
COMPLAINED = EmailEventKind.COMPLAINED
UNSUBSCRIBED = EmailEventKind.UNSUBSCRIBED

ANN = "ann@example.com"


@pytest.fixture
async def ann(account: Account) -> Contact:
    """A subscribed contact, opted in well before the events of these tests."""
    return await make_contact(account, ANN, subscription_status="SUBSCRIBED", now=at(-365))


async def record(account: Account, *events: tuple[EmailEventKind, datetime]) -> Contact:
    """Record (kind, time) events for ANN, one call, and return the contact as stored."""
    await record_ok(account, *(event(kind, when) for kind, when in events))
    return await load(account, ANN)


# --- storage and duplicates --------------------------------------------------------------------


async def test_events_are_stored(account: Account, ann: Contact) -> None:
    result = await record_ok(
        account,
        event(SENT, at(-2), email="ANN@example.com", campaign="Spring", external_id="m-1"),
        event("opened", at(-1)),
    )

    assert (len(result.items), result.duplicates) == (2, 0)
    rows = (
        await EmailEvent.filter(account=account)
        .order_by("occurred_at")
        .values("contact_id", "kind", "campaign", "occurred_at", "external_id")
    )
    assert rows == [
        {
            "contact_id": ann.id,
            "kind": SENT,
            "campaign": "Spring",
            "occurred_at": at(-2),
            "external_id": "m-1",
        },
        {
            "contact_id": ann.id,
            "kind": OPENED,
            "campaign": None,
            "occurred_at": at(-1),
            "external_id": None,
        },
    ]


async def test_a_repeated_external_id_counts_once_across_calls(
    account: Account, ann: Contact
) -> None:
    await record_ok(account, event(SENT, at(-1), external_id="m-1"))

    again = await record_ok(
        account, event(SENT, at(-1), external_id="m-1"), event(SENT, at(-1), external_id="m-2")
    )

    assert (len(again.items), again.duplicates) == (1, 1)
    assert await EmailEvent.filter(account=account).count() == 2
    assert (await load(account, ANN)).sends_since_engagement == 2  # not 3


async def test_a_repeated_external_id_counts_once_within_a_batch(
    account: Account, ann: Contact
) -> None:
    result = await record_ok(
        account,
        event(BOUNCED_SOFT, at(-1), external_id="b-1"),
        event(BOUNCED_SOFT, at(-1), external_id="b-1"),
        event(BOUNCED_SOFT, at(-1), external_id="b-1"),
    )

    assert (len(result.items), result.duplicates) == (1, 2)
    assert await EmailEvent.filter(account=account).count() == 1
    assert (await load(account, ANN)).soft_bounces == 1


async def test_events_without_external_id_are_never_duplicates(
    account: Account, ann: Contact
) -> None:
    result = await record_ok(account, event(SENT, at(-1)), event(SENT, at(-1)))

    assert (len(result.items), result.duplicates) == (2, 0)
    assert (await load(account, ANN)).sends_since_engagement == 2


async def test_invalid_events_are_reported_in_order_and_valid_ones_kept(
    account: Account, ann: Contact
) -> None:
    result = await record_events(
        account,
        [
            event(SENT, at(-1), email="nobody@example.com"),
            event("READ", at(-1)),
            event(SENT, at(-1), external_id="kept"),
            event(SENT, at(minutes=6)),
            event(SENT, at(-1), email="bad@"),
            event(SENT, at(-1), campaign="c" * 201),
            event(SENT, at(-1), external_id="x" * 201),
            event(SENT, None),  # type: ignore[arg-type]
        ],
        now=NOW,
    )

    assert errors_of(result) == [
        (0, "email", ErrorCode.CONTACT_NOT_FOUND),
        (1, "kind", ErrorCode.UNKNOWN_EVENT_KIND),
        (3, "occurred_at", ErrorCode.TIME_IN_FUTURE),
        (4, "email", ErrorCode.INVALID_EMAIL),
        (5, "campaign", ErrorCode.TOO_LONG),
        (6, "external_id", ErrorCode.TOO_LONG),
        (7, "occurred_at", ErrorCode.REQUIRED),
    ]
    assert [e.external_id for e in result.items] == ["kept"]
    assert await EmailEvent.filter(account=account).count() == 1
    assert (await load(account, ANN)).sends_since_engagement == 1


async def test_an_event_for_an_unknown_email_creates_no_contact(account: Account) -> None:
    result = await record_events(account, [event(OPENED, at(-1))], now=NOW)

    assert errors_of(result) == [(0, "email", ErrorCode.CONTACT_NOT_FOUND)]
    assert await Contact.filter(account=account).count() == 0
    assert await EmailEvent.filter(account=account).count() == 0


async def test_clock_skew_is_tolerated_and_naive_times_are_utc(
    account: Account, ann: Contact
) -> None:
    await record_ok(account, event(SENT, at(minutes=4)), event(OPENED, at(-1).replace(tzinfo=None)))

    stored = await load(account, ANN)
    assert stored.last_sent_at == at(minutes=4)
    assert stored.last_opened_at == at(-1)


async def test_too_many_events_are_refused(account: Account) -> None:
    with pytest.raises(DomainError) as raised:
        await record_events(account, [event(SENT, at(-1))] * (MAX_BATCH + 1), now=NOW)
    assert raised.value.code is ErrorCode.BATCH_TOO_LARGE


# --- sends -------------------------------------------------------------------------------------


async def test_sends_count_since_the_last_engagement(account: Account, ann: Contact) -> None:
    stored = await record(account, (SENT, at(-30)), (SENT, at(-20)), (DELIVERED, at(-20)))
    assert (stored.last_sent_at, stored.sends_since_engagement) == (at(-20), 2)

    stored = await record(account, (OPENED, at(-15)))
    assert stored.sends_since_engagement == 0

    stored = await record(account, (SENT, at(-10)))
    assert (stored.last_sent_at, stored.sends_since_engagement) == (at(-10), 1)


async def test_a_late_reported_send_before_the_last_engagement_is_not_counted(
    account: Account, ann: Contact
) -> None:
    await record(account, (SENT, at(-5)), (OPENED, at(-4)))

    stored = await record(account, (SENT, at(-9)))

    assert stored.last_sent_at == at(-5)  # the latest send stays the latest
    assert stored.sends_since_engagement == 0


# --- engagement --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "field"), [(OPENED, "last_opened_at"), (CLICKED, "last_clicked_at")]
)
async def test_engaging_resets_counters_and_leaves_inactive_and_excluded(
    account: Account, ann: Contact, kind: EmailEventKind, field: str
) -> None:
    await record(account, (SENT, at(-20)), (BOUNCED_SOFT, at(-19)), (SENT, at(-10)))
    await set_flags(ann, is_inactive=True, is_excluded=True)

    stored = await record(account, (kind, at(-3)))

    assert getattr(stored, field) == at(-3)
    assert stored.last_engaged_at == at(-3)
    assert (stored.sends_since_engagement, stored.soft_bounces) == (0, 0)
    assert (stored.is_inactive, stored.is_excluded) == (False, False)
    other = "last_clicked_at" if field == "last_opened_at" else "last_opened_at"
    assert getattr(stored, other) is None


async def test_last_engaged_is_the_later_of_open_and_click(account: Account, ann: Contact) -> None:
    stored = await record(account, (CLICKED, at(-2)), (OPENED, at(-5)))

    assert (stored.last_opened_at, stored.last_clicked_at) == (at(-5), at(-2))
    assert stored.last_engaged_at == at(-2)


async def test_an_older_open_reported_late_moves_nothing_back(
    account: Account, ann: Contact
) -> None:
    await record(account, (OPENED, at(-2)), (SENT, at(-1)))

    stored = await record(account, (OPENED, at(-8)))

    assert stored.last_opened_at == at(-2)
    assert stored.last_engaged_at == at(-2)
    assert stored.sends_since_engagement == 1  # the send after the latest open still counts


async def test_a_batch_is_applied_in_time_order(account: Account, ann: Contact) -> None:
    stored = await record(
        account, (SENT, at(-1)), (OPENED, at(-3)), (SENT, at(-4)), (SENT, at(-2)), (SENT, at(-5))
    )

    # Sorted: sent -5, sent -4, opened -3 (reset), sent -2, sent -1.
    assert stored.last_engaged_at == at(-3)
    assert stored.sends_since_engagement == 2
    assert stored.last_sent_at == at(-1)


# --- bounces -----------------------------------------------------------------------------------


async def test_soft_bounces_count_since_the_last_engagement(account: Account, ann: Contact) -> None:
    stored = await record(account, (BOUNCED_SOFT, at(-9)), (BOUNCED_SOFT, at(-8)))
    assert (stored.soft_bounces, stored.last_soft_bounce_at) == (2, at(-8))

    await record(account, (OPENED, at(-5)))
    stored = await record(account, (BOUNCED_SOFT, at(-7)))  # before the open: not counted
    assert (stored.soft_bounces, stored.last_soft_bounce_at) == (0, at(-7))

    stored = await record(account, (BOUNCED_SOFT, at(-1)))
    assert (stored.soft_bounces, stored.last_soft_bounce_at) == (1, at(-1))
    assert stored.subscription_status is SubscriptionStatus.SUBSCRIBED


async def test_a_hard_bounce_flags_and_unsubscribes(account: Account, ann: Contact) -> None:
    await set_flags(ann, is_inactive=True, is_excluded=True)

    stored = await record(account, (BOUNCED_HARD, at(-1)))

    assert (stored.is_hard_bounced, stored.hard_bounced_at) == (True, at(-1))
    assert stored.subscription_status is SubscriptionStatus.UNSUBSCRIBED
    assert stored.unsubscribe_reason is UnsubscribeReason.BOUNCED
    assert (stored.is_inactive, stored.is_excluded) == (False, False)


async def test_a_hard_bounce_of_a_non_subscriber_keeps_its_status(account: Account) -> None:
    await make_contact(account, ANN)

    stored = await record(account, (BOUNCED_HARD, at(-1)))

    assert stored.is_hard_bounced
    assert stored.subscription_status is SubscriptionStatus.NEVER_SUBSCRIBED
    assert stored.unsubscribe_reason is None


async def test_a_hard_bounce_before_the_last_engagement_does_not_flag(
    account: Account, ann: Contact
) -> None:
    await record(account, (OPENED, at(-2)))

    stored = await record(account, (BOUNCED_HARD, at(-3)))

    assert stored.hard_bounced_at == at(-3)
    assert not stored.is_hard_bounced
    assert stored.subscription_status is SubscriptionStatus.SUBSCRIBED


@pytest.mark.parametrize("kind", [DELIVERED, OPENED, CLICKED])
async def test_a_later_delivery_or_engagement_clears_the_hard_bounce(
    account: Account, ann: Contact, kind: EmailEventKind
) -> None:
    await record(account, (BOUNCED_HARD, at(-5)))

    stored = await record(account, (kind, at(-4)))

    assert not stored.is_hard_bounced
    assert stored.hard_bounced_at == at(-5)
    # Clearing the bounce is no re-subscription.
    assert stored.subscription_status is SubscriptionStatus.UNSUBSCRIBED
    assert stored.unsubscribe_reason is UnsubscribeReason.BOUNCED


async def test_an_earlier_delivery_keeps_the_hard_bounce(account: Account, ann: Contact) -> None:
    await record(account, (BOUNCED_HARD, at(-5)))

    stored = await record(account, (DELIVERED, at(-6)))

    assert stored.is_hard_bounced


async def test_the_latest_hard_bounce_time_is_kept(account: Account, ann: Contact) -> None:
    await record(account, (BOUNCED_HARD, at(-2)))

    stored = await record(account, (BOUNCED_HARD, at(-7)))

    assert (stored.is_hard_bounced, stored.hard_bounced_at) == (True, at(-2))


# --- complaints and unsubscribes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason"),
    [(COMPLAINED, UnsubscribeReason.MARKED_SPAM), (UNSUBSCRIBED, UnsubscribeReason.OPTED_OUT)],
)
async def test_leaving_the_list_by_event(
    account: Account, ann: Contact, kind: EmailEventKind, reason: UnsubscribeReason
) -> None:
    await set_flags(ann, is_inactive=True, is_excluded=True)

    stored = await record(account, (kind, at(-1)))

    assert stored.subscription_status is SubscriptionStatus.UNSUBSCRIBED
    assert stored.unsubscribe_reason is reason
    assert (stored.is_inactive, stored.is_excluded) == (False, False)
    assert stored.subscribed_at == at(-365)


async def test_a_complaint_overrides_an_earlier_reason(account: Account, ann: Contact) -> None:
    await record(account, (UNSUBSCRIBED, at(-3)))

    stored = await record(account, (COMPLAINED, at(-1)))

    assert stored.subscription_status is SubscriptionStatus.UNSUBSCRIBED
    assert stored.unsubscribe_reason is UnsubscribeReason.MARKED_SPAM


async def test_an_unsubscribe_event_keeps_an_earlier_reason(account: Account, ann: Contact) -> None:
    await make_contact(account, ANN, subscription_status="UNSUBSCRIBED")  # MANUAL

    stored = await record(account, (UNSUBSCRIBED, at(-1)))

    assert stored.unsubscribe_reason is UnsubscribeReason.MANUAL


@pytest.mark.parametrize("kind", [COMPLAINED, UNSUBSCRIBED])
async def test_a_never_subscribed_contact_stays_never_subscribed(
    account: Account, kind: EmailEventKind
) -> None:
    await make_contact(account, ANN)

    stored = await record(account, (kind, at(-1)))

    assert stored.subscription_status is SubscriptionStatus.NEVER_SUBSCRIBED
    assert stored.unsubscribe_reason is None


@pytest.mark.parametrize("kind", [UNSUBSCRIBED, COMPLAINED, BOUNCED_HARD])
async def test_an_unsubscribe_older_than_the_latest_opt_in_does_nothing(
    account: Account, kind: EmailEventKind
) -> None:
    await make_contact(account, ANN, subscription_status="SUBSCRIBED", now=at(-30))
    await make_contact(account, ANN, subscription_status="UNSUBSCRIBED", now=at(-20))
    await make_contact(account, ANN, subscription_status="SUBSCRIBED", now=at(-10))

    stored = await record(account, (kind, at(-15)))

    assert stored.subscription_status is SubscriptionStatus.SUBSCRIBED
    assert stored.unsubscribe_reason is None
    assert stored.subscribed_at == at(-10)


async def test_events_touch_only_their_own_contact(account: Account, ann: Contact) -> None:
    bob = await make_contact(account, "bob@example.com", subscription_status="SUBSCRIBED")

    await record(account, (SENT, at(-2)), (OPENED, at(-1)), (COMPLAINED, at(-1)))

    stored = await load(account, bob.email)
    assert (stored.last_sent_at, stored.last_opened_at, stored.sends_since_engagement) == (
        None,
        None,
        0,
    )
    assert stored.subscription_status is SubscriptionStatus.SUBSCRIBED


async def test_concurrent_deliveries_of_one_webhook_count_once(
    account: Account, ann: Contact
) -> None:
    results = await asyncio.gather(
        *(
            record_events(account, [event(SENT, at(-1), external_id="m-1")], now=NOW)
            for _ in range(4)
        )
    )

    assert sorted((len(r.items), r.duplicates) for r in results) == [(0, 1), (0, 1), (0, 1), (1, 0)]
    assert await EmailEvent.filter(account=account).count() == 1
    assert (await load(account, ANN)).sends_since_engagement == 1


# --- known gaps --------------------------------------------------------------------------------
# The contact keeps only the latest times, not the latest delivery, so an older event that
# arrives after newer ones (in a later call) can't always be placed. These pin the gaps down
# until the summary can be recomputed from the stored events.


async def test_a_late_reported_old_hard_bounce_after_a_newer_delivery(
    account: Account, ann: Contact
) -> None:
    await record(account, (DELIVERED, at(-1)))

    stored = await record(account, (BOUNCED_HARD, at(-5)))

    assert not stored.is_hard_bounced  # the last delivery attempt succeeded


async def test_a_late_reported_old_open_after_newer_sends(account: Account, ann: Contact) -> None:
    await record(account, (SENT, at(-2)), (SENT, at(-1)))

    stored = await record(account, (OPENED, at(-5)))

    assert stored.sends_since_engagement == 2  # both sends came after that open


async def test_a_late_reported_old_open_leaves_an_inactive_contact_inactive(
    account: Account, ann: Contact
) -> None:
    await Contact.filter(id=ann.id).update(
        subscription_status="SUBSCRIBED", subscribed_at=at(-400), is_inactive=True
    )
    stored = await record(account, (OPENED, at(-200)))

    assert stored.is_inactive  # that open is outside the 90-day window
