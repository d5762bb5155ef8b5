"""Per-item input checks of the ingestion services, before any database work."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app.enums import EmailEventKind, GrantSource, SubscriptionStatus, UnsubscribeReason
from app.services import contacts, events, products
from app.services.contacts import UNSET, ContactData, clean_tag_names
from app.services.errors import ErrorCode, ItemInvalid
from app.services.events import EventData
from app.services.products import GrantData

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def rejection(check: Any, item: object) -> tuple[str | None, ErrorCode]:
    with pytest.raises(ItemInvalid) as raised:
        check(item)
    return raised.value.field, raised.value.code


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"email": " "}, "email", ErrorCode.REQUIRED),
        ({"email": "a@b"}, "email", ErrorCode.INVALID_EMAIL),
        ({"first_name": "x" * 201}, "first_name", ErrorCode.TOO_LONG),
        ({"last_name": "x" * 201}, "last_name", ErrorCode.TOO_LONG),
        ({"country": "x" * 101}, "country", ErrorCode.TOO_LONG),
        ({"subscription_status": "ACTIVE"}, "subscription_status", ErrorCode.INVALID),
        ({"unsubscribe_reason": "BORED"}, "unsubscribe_reason", ErrorCode.INVALID),
        (
            {"subscription_status": "NEVER_SUBSCRIBED", "unsubscribe_reason": "MANUAL"},
            "unsubscribe_reason",
            ErrorCode.INVALID,
        ),
        ({"email_risk": "LOW"}, "email_risk", ErrorCode.INVALID),
        ({"birth_date": date.today() + timedelta(days=1)}, "birth_date", ErrorCode.INVALID),
        ({"custom_fields": ["not", "an", "object"]}, "custom_fields", ErrorCode.INVALID),
        ({"custom_fields": {"": 1}}, "custom_fields", ErrorCode.INVALID),
        ({"custom_fields": {" ": 1}}, "custom_fields", ErrorCode.INVALID),
        ({"custom_fields": {"k" * 101: 1}}, "custom_fields", ErrorCode.TOO_LONG),
        ({"tags": ["ok", " "]}, "tags", ErrorCode.REQUIRED),
        ({"tags": ["t" * 201]}, "tags", ErrorCode.TOO_LONG),
        # Hostile values: text a database can't store, numbers JSON can't carry, no bounds.
        ({"first_name": "A\u0000B"}, "first_name", ErrorCode.INVALID),
        ({"last_name": "\ud800"}, "last_name", ErrorCode.INVALID),
        ({"country": "F\u0007R"}, "country", ErrorCode.INVALID),
        ({"email": "ann\u200b@example.com"}, "email", ErrorCode.INVALID_EMAIL),
        ({"email": "ann@exa\u0000mple.com"}, "email", ErrorCode.INVALID),
        ({"birth_date": date(1800, 1, 1)}, "birth_date", ErrorCode.OUT_OF_RANGE),
        ({"custom_fields": {"score": float("nan")}}, "custom_fields", ErrorCode.INVALID),
        ({"custom_fields": {"score": float("inf")}}, "custom_fields", ErrorCode.INVALID),
        ({"custom_fields": {"big": 2**64}}, "custom_fields", ErrorCode.OUT_OF_RANGE),
        ({"custom_fields": {"k\u0000": 1}}, "custom_fields", ErrorCode.INVALID),
        ({"custom_fields": {"t": "x\ud800"}}, "custom_fields", ErrorCode.INVALID),
        ({"custom_fields": {"d": [[[[["deep"]]]]]}}, "custom_fields", ErrorCode.TOO_LONG),
        ({"custom_fields": {f"k{i}": i for i in range(101)}}, "custom_fields", ErrorCode.TOO_LONG),
        ({"custom_fields": {"long": "x" * 20_000}}, "custom_fields", ErrorCode.TOO_LONG),
        ({"tags": [f"t{i}" for i in range(101)]}, "tags", ErrorCode.TOO_LONG),
        ({"tags": ["a\u0000"]}, "tags", ErrorCode.INVALID),
    ],
)
def test_contact_item_rejections(fields: dict[str, Any], field: str, code: ErrorCode) -> None:
    item = ContactData(**{"email": "ann@example.com", **fields})
    assert rejection(lambda i: contacts._clean(i, NOW), item) == (field, code)


def test_a_clean_contact_holds_only_the_given_fields() -> None:
    clean = contacts._clean(
        ContactData(
            email=" Ann@Example.com ",
            last_name=None,
            country="",
            subscription_status="unsubscribed",
            unsubscribe_reason="opted_out",
            birth_date=date.today(),  # today is not the future
            custom_fields={"k" * 100: 1},
            tags=["B", "b", "a"],
        ),
        NOW,
    )

    assert (clean.email, clean.email_lower) == ("Ann@Example.com", "ann@example.com")
    assert clean.values == {
        "last_name": None,
        "country": None,
        "subscription_status": SubscriptionStatus.UNSUBSCRIBED,
        "unsubscribe_reason": UnsubscribeReason.OPTED_OUT,
        "birth_date": date.today(),
    }
    assert clean.custom_fields == {"k" * 100: 1}
    assert clean.tags == ["B", "a"]
    assert contacts._clean(ContactData(email="a@example.com"), NOW).custom_fields is None
    assert ContactData(email="a@example.com").first_name is UNSET


def test_clean_tag_names_keeps_the_first_spelling_and_order() -> None:
    assert clean_tag_names([" Vip", "news", "VIP ", "NEWS", "x"]) == ["Vip", "news", "x"]
    assert clean_tag_names([]) == []


def _grant(**fields: Any) -> GrantData:
    return GrantData(
        **{
            "email": "ann@example.com",
            "product_id": 1,
            "source": "PURCHASE",
            "amount_cents": 100,
            **fields,
        }
    )


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"email": "nope"}, "email", ErrorCode.INVALID_EMAIL),
        ({"source": "GIFT"}, "source", ErrorCode.INVALID),
        ({"amount_cents": None}, "amount_cents", ErrorCode.REQUIRED),
        ({"amount_cents": -1}, "amount_cents", ErrorCode.NEGATIVE_AMOUNT),
        ({"source": "GRANT", "amount_cents": -1}, "amount_cents", ErrorCode.NEGATIVE_AMOUNT),
        ({"source": "GRANT", "amount_cents": 5}, "amount_cents", ErrorCode.INVALID),
        ({"currency": "US"}, "currency", ErrorCode.INVALID),
        ({"currency": "U$D"}, "currency", ErrorCode.INVALID),
        ({"progress": 101}, "progress", ErrorCode.OUT_OF_RANGE),
        ({"progress": -1}, "progress", ErrorCode.OUT_OF_RANGE),
        (
            {"occurred_at": NOW + timedelta(minutes=5, seconds=1)},
            "occurred_at",
            ErrorCode.TIME_IN_FUTURE,
        ),
    ],
)
def test_grant_item_rejections(fields: dict[str, Any], field: str, code: ErrorCode) -> None:
    assert rejection(lambda item: products._clean_grant(item, NOW), _grant(**fields)) == (
        field,
        code,
    )


def test_a_clean_grant() -> None:
    clean = products._clean_grant(_grant(email="Ann@Example.com", currency=" eur "), NOW)
    assert (clean.email_lower, clean.source, clean.amount_cents) == (
        "ann@example.com",
        GrantSource.PURCHASE,
        100,
    )
    assert (clean.currency, clean.occurred_at, clean.progress) == ("EUR", NOW, None)

    free = products._clean_grant(_grant(source="grant", amount_cents=None, progress=100), NOW)
    assert (free.source, free.amount_cents, free.currency, free.progress) == (
        GrantSource.GRANT,
        0,
        "USD",
        100,
    )


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"email": ""}, "email", ErrorCode.REQUIRED),
        ({"kind": "BOUNCED"}, "kind", ErrorCode.UNKNOWN_EVENT_KIND),
        ({"occurred_at": None}, "occurred_at", ErrorCode.REQUIRED),
        ({"occurred_at": NOW + timedelta(minutes=6)}, "occurred_at", ErrorCode.TIME_IN_FUTURE),
        ({"campaign": "c" * 201}, "campaign", ErrorCode.TOO_LONG),
        ({"external_id": "e" * 201}, "external_id", ErrorCode.TOO_LONG),
    ],
)
def test_event_item_rejections(fields: dict[str, Any], field: str, code: ErrorCode) -> None:
    item = EventData(**{"email": "ann@example.com", "kind": "SENT", "occurred_at": NOW, **fields})
    assert rejection(lambda i: events._clean(i, NOW), item) == (field, code)


def test_a_clean_event_drops_blank_campaign_and_external_id() -> None:
    clean = events._clean(
        EventData(
            email="Ann@Example.com",
            kind="clicked",
            occurred_at=NOW.replace(tzinfo=None),
            campaign="  ",
            external_id=" e-1 ",
        ),
        NOW,
    )
    assert (clean.email_lower, clean.kind, clean.occurred_at) == (
        "ann@example.com",
        EmailEventKind.CLICKED,
        NOW,
    )
    assert (clean.campaign, clean.external_id) == (None, "e-1")


def test_two_spellings_of_one_address_are_one_contact() -> None:
    composed = contacts._clean(ContactData(email="jos\u00e9@example.com"), NOW)
    decomposed = contacts._clean(ContactData(email="jose\u0301@example.com"), NOW)
    assert composed.email_lower == decomposed.email_lower == "jos\u00e9@example.com"


def test_custom_fields_are_normalized_and_kept() -> None:
    item = contacts._clean(
        ContactData(email="a@x.io", custom_fields={" plan ": "pro", "n": 1.5, "l": [1, None]}), NOW
    )
    assert item.custom_fields == {"plan": "pro", "n": 1.5, "l": [1, None]}
