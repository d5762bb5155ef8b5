"""Hand-built checks of the reference evaluator (tests/filters/reference.py), so that a wrong
reference can't make the property tests agree with a wrong compiler."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from app.enums import (
    DefaultSegment,
    EmailEventKind,
    EmailRisk,
    SegmentKind,
    SubscriptionStatus,
)
from app.filters import ast, codec
from app.filters.ids import to_global_id as _gid

from .reference import Contact, Dataset, SegmentDef, evaluate, explain, members

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
DAY = timedelta(days=1)


def holds(data: dict[str, Any], contact: Contact, now: datetime = NOW, **extra: Any) -> bool:
    dataset = Dataset(contacts=[contact], **extra)
    return evaluate(codec.parse(data), contact, dataset, now)


def person(**fields: Any) -> Contact:
    return Contact(id=1, email=fields.pop("email", "a@x.io"), **fields)


# ---------------------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("value", "condition", "expected"),
    [
        ("Été", {"eq": "éTÉ"}, True),
        ("Straße", {"eq": "STRASSE"}, False),  # fold lowers one character at a time
        ("Straße", {"eq": "STRAßE"}, True),
        ("ΣΑΛΆΤΑ", {"eq": "σαλάτα"}, True),
        (None, {"eq": "x"}, False),
        (None, {"neq": "x"}, True),
        ("", {"neq": "x"}, True),
        ("X", {"neq": "x"}, False),
        ("100%", {"contains": "0%"}, True),
        ("1000", {"contains": "0%"}, False),  # % is a literal character
        ("a_b", {"contains": "A_"}, True),
        ("axb", {"contains": "a_"}, False),  # so is _
        ("a\\b", {"startsWith": "A\\"}, True),
        ("ab", {"startsWith": "b"}, False),
        ("ab", {"endsWith": "B"}, True),
        (None, {"contains": "a"}, False),
        (None, {"notContains": "a"}, True),
        ("bab", {"notContains": "A"}, False),
        ("bcb", {"notContains": "A"}, True),
        ("FR", {"in": ["de", "fr"]}, True),
        ("FR", {"in": ["de"]}, False),
        (None, {"in": ["de"]}, False),
        (None, {"isEmpty": True}, True),
        ("", {"isEmpty": True}, True),
        (" ", {"isEmpty": True}, False),
        ("x", {"isEmpty": False}, True),
        ("", {"isEmpty": False}, False),
        (None, {"isEmpty": False}, False),
    ],
)
def test_strings(value: str | None, condition: dict[str, Any], expected: bool) -> None:
    assert holds({"firstName": condition}, person(first_name=value)) is expected
    assert holds({"country": condition}, person(country=value)) is expected


def test_email_is_compared_folded() -> None:
    assert holds({"email": {"eq": "ÉVA@x.io"}}, person(email="éva@X.IO"))
    assert holds({"email": {"endsWith": "@X.io"}}, person(email="éva@x.IO"))


# ---------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("created", "condition", "expected"),
    [
        (NOW - 30 * DAY, {"withinLastDays": 30}, True),  # now - N days <= t
        (NOW - 30 * DAY - US, {"withinLastDays": 30}, False),
        (NOW, {"withinLastDays": 0}, True),  # t <= now
        (NOW + US, {"withinLastDays": 30}, False),
        (NOW - 30 * DAY, {"moreThanDaysAgo": 30}, False),  # t < now - N days
        (NOW - 30 * DAY - US, {"moreThanDaysAgo": 30}, True),
        (NOW, {"before": NOW.isoformat()}, False),  # exclusive
        (NOW - US, {"before": NOW.isoformat()}, True),
        (NOW, {"after": NOW.isoformat()}, False),  # exclusive
        (NOW + US, {"after": NOW.isoformat()}, True),
        (NOW, {"after": "2026-06-15T13:00:00+01:00"}, False),  # same instant, other offset
        (NOW, {"isEmpty": False}, True),
        (NOW, {"isEmpty": True}, False),
        (NOW - 5 * DAY, {"withinLastDays": 10, "moreThanDaysAgo": 3}, True),
        (NOW - 2 * DAY, {"withinLastDays": 10, "moreThanDaysAgo": 3}, False),
        (NOW - 5 * DAY, {"withinLastDays": 10, "isEmpty": False}, True),
    ],
)
def test_created_at(created: datetime, condition: dict[str, Any], expected: bool) -> None:
    assert holds({"createdAt": condition}, person(created_at=created)) is expected


@pytest.mark.parametrize(
    ("birth", "condition", "expected"),
    [
        (None, {"isEmpty": True}, True),
        (None, {"isEmpty": False}, False),
        (None, {"before": "2030-01-01T00:00:00Z"}, False),  # a bound on no value is false
        (None, {"withinLastDays": 36500}, False),
        # A day counts as midnight UTC of that day.
        (date(2026, 6, 14), {"before": "2026-06-14T00:00:00Z"}, False),
        (date(2026, 6, 14), {"before": "2026-06-14T00:00:00.000001Z"}, True),
        (date(2026, 6, 14), {"after": "2026-06-13T23:59:59.999999Z"}, True),
        (date(2026, 6, 14), {"after": "2026-06-14T00:00:00Z"}, False),
        (date(2026, 6, 14), {"after": "2026-06-14T01:00:00+02:00"}, True),  # 13 June, 23:00 UTC
        (date(2026, 6, 14), {"withinLastDays": 1}, False),  # now - 1 day is 14 June, noon
        (date(2026, 6, 15), {"withinLastDays": 1}, True),
        (date(2026, 6, 14), {"withinLastDays": 2}, True),
        (date(2026, 6, 14), {"moreThanDaysAgo": 1}, True),
        (date(2026, 6, 15), {"moreThanDaysAgo": 0}, True),  # midnight is before noon
    ],
)
def test_birth_date(birth: date | None, condition: dict[str, Any], expected: bool) -> None:
    assert holds({"birthDate": condition}, person(birth_date=birth)) is expected


@pytest.mark.parametrize(
    ("birth", "now", "years"),
    [
        (date(2000, 6, 15), NOW, 26),
        (date(2000, 6, 16), NOW, 25),
        (date(2000, 6, 14), NOW, 26),
        (date(2000, 2, 29), datetime(2027, 2, 28, 23, 59, 59, 999999, tzinfo=UTC), 26),
        (date(2000, 2, 29), datetime(2027, 3, 1, tzinfo=UTC), 27),
        (date(2000, 2, 29), datetime(2028, 2, 29, 12, tzinfo=UTC), 28),
        (date(2000, 2, 29), datetime(2028, 2, 28, 12, tzinfo=UTC), 27),
        # 1 March, 01:00 at UTC+2 is still 28 February in UTC.
        (date(2000, 3, 1), datetime(2027, 3, 1, 1, tzinfo=timezone(timedelta(hours=2))), 26),
        (NOW.date(), NOW, 0),
    ],
)
def test_age(birth: date, now: datetime, years: int) -> None:
    contact = person(birth_date=birth)
    assert holds({"age": {"eq": years}}, contact, now)
    assert not holds({"age": {"eq": years + 1}}, contact, now)
    assert holds({"age": {"gte": years, "lt": years + 1}}, contact, now)
    assert not holds({"age": {"gt": years}}, contact, now)


def test_age_needs_a_birth_date() -> None:
    assert not holds({"age": {"gte": 0}}, person())
    assert not holds({"age": {"lte": 200}}, person())


# ---------------------------------------------------------------------------- enums, flags


def test_enums_and_flags() -> None:
    contact = person(
        subscription_status=SubscriptionStatus.SUBSCRIBED,
        email_risk=EmailRisk.HIGH_RISK,
        is_customer=True,
    )
    assert holds({"subscriptionStatus": {"in": ["UNSUBSCRIBED", "SUBSCRIBED"]}}, contact)
    assert not holds({"subscriptionStatus": {"in": ["NEVER_SUBSCRIBED"]}}, contact)
    assert holds({"emailRisk": {"in": ["HIGH_RISK"]}}, contact)
    assert not holds({"emailRisk": {"in": ["VALID", "UNDELIVERABLE"]}}, contact)
    assert holds({"isCustomer": True}, contact)
    assert holds({"isInactive": False}, contact)
    assert not holds({"isHardBounced": True}, contact)
    assert holds({"isExcluded": False}, contact)


# ---------------------------------------------------------------------------- tags, products


def test_tags_compare_folded() -> None:
    contact = person(tags={"VIP", "Été"})
    assert holds({"tags": {"hasAny": ["vip", "ghost"]}}, contact)
    assert holds({"tags": {"hasAll": ["vip", "ÉTÉ"]}}, contact)
    assert not holds({"tags": {"hasAll": ["vip", "ghost"]}}, contact)
    assert holds({"tags": {"hasNone": ["ghost"]}}, contact)
    assert not holds({"tags": {"hasNone": ["ghost", "Vip"]}}, contact)
    assert holds({"tags": {"hasAny": ["vip"], "hasNone": ["ghost"]}}, contact)
    assert not holds({"tags": {"hasAny": ["vi_"]}}, contact)
    assert holds({"tags": {"hasNone": ["vip"]}}, person())
    assert not holds({"tags": {"hasAny": ["vip"]}}, person())


def test_products_and_progress() -> None:
    contact = person(owned={1: 40, 2: 100})
    p1, p2, p3 = (_gid("Product", pk) for pk in (1, 2, 3))
    assert holds({"products": {"ownsAny": [p3, p1]}}, contact)
    assert holds({"products": {"ownsAll": [p1, p2]}}, contact)
    assert not holds({"products": {"ownsAll": [p1, p3]}}, contact)
    assert holds({"products": {"ownsNone": [p3]}}, contact)
    assert not holds({"products": {"ownsNone": [p2, p3]}}, contact)
    assert holds({"productProgress": {"product": p1, "percent": {"gte": 40}}}, contact)
    assert not holds({"productProgress": {"product": p1, "percent": {"gt": 40}}}, contact)
    assert holds({"productProgress": {"product": p2, "percent": {"eq": 100}}}, contact)
    # Not owned: false, whatever the bound.
    assert not holds({"productProgress": {"product": p3, "percent": {"gte": 0}}}, contact)
    assert not holds({"productProgress": {"product": p3, "percent": {"lt": 1}}}, contact)


# ---------------------------------------------------------------------------- purchases


def test_purchases() -> None:
    p1, p2 = _gid("Product", 1), _gid("Product", 2)
    contact = person(purchases=[(1, 1000, NOW - 10 * DAY), (1, 500, NOW - 40 * DAY), (2, 0, NOW)])
    nobody = person()
    assert holds({"purchases": {}}, contact)
    assert not holds({"purchases": {}}, nobody)
    assert holds({"purchases": {"count": {"eq": 0}}}, nobody)
    assert holds({"purchases": {"totalCents": {"eq": 0}}}, nobody)
    assert holds({"purchases": {"totalCents": {"lt": 1}, "count": {"lt": 1}}}, nobody)
    assert holds({"purchases": {"count": {"eq": 3}, "totalCents": {"eq": 1500}}}, contact)
    assert holds({"purchases": {"product": p1, "count": {"eq": 2}}}, contact)
    assert holds({"purchases": {"product": p2, "totalCents": {"eq": 0}}}, contact)
    assert holds({"purchases": {"product": p2}}, contact)  # a free purchase is a purchase
    in_30 = {"withinLastDays": 30}
    assert holds({"purchases": {"window": in_30, "count": {"eq": 2}}}, contact)
    assert holds(
        {"purchases": {"window": in_30, "product": p1, "totalCents": {"eq": 1000}}}, contact
    )
    exactly = {"withinLastDays": 40}
    assert holds({"purchases": {"window": exactly, "product": p1, "count": {"eq": 2}}}, contact)
    since = {"since": (NOW - 10 * DAY).isoformat()}
    assert holds({"purchases": {"window": since, "count": {"eq": 2}}}, contact)  # inclusive
    until = {"until": (NOW - 10 * DAY).isoformat()}
    assert holds({"purchases": {"window": until, "count": {"eq": 1}}}, contact)  # exclusive
    assert not holds({"purchases": {"window": {"until": (NOW - 40 * DAY).isoformat()}}}, contact)


# ---------------------------------------------------------------------------- email activity


def test_email_activity() -> None:
    opened, clicked = EmailEventKind.OPENED, EmailEventKind.CLICKED
    contact = person(
        events=[
            (opened, "Spring Sale", NOW - 1 * DAY),
            (opened, "spring sale", NOW - 90 * DAY),
            (opened, None, NOW + DAY),
            (clicked, "Spring Sale", NOW - 100 * DAY),
        ]
    )
    assert holds({"emailActivity": {"event": "OPENED"}}, contact)
    assert not holds({"emailActivity": {"event": "SENT"}}, contact)
    assert holds({"emailActivity": {"event": "SENT", "count": {"eq": 0}}}, contact)
    assert holds({"emailActivity": {"event": "OPENED", "count": {"eq": 3}}}, contact)
    window = {"withinLastDays": 90}
    assert holds(
        {"emailActivity": {"event": "OPENED", "window": window, "count": {"eq": 2}}}, contact
    )
    # The campaign compares exactly, case and all.
    spring = {"event": "OPENED", "campaign": "Spring Sale"}
    assert holds({"emailActivity": {**spring, "count": {"eq": 1}}}, contact)
    assert holds(
        {"emailActivity": {**spring, "campaign": "SPRING SALE", "count": {"eq": 0}}}, contact
    )
    assert holds(
        {"emailActivity": {"event": "CLICKED", "count": {"lt": 1}, "window": window}}, contact
    )
    assert holds({"emailActivity": {"event": "OPENED", "count": {"lt": 1}}}, person())


# ---------------------------------------------------------------------------- custom fields


@pytest.mark.parametrize(
    ("value", "condition", "expected"),
    [
        (3, {"number": {"eq": 3}}, True),
        (3.0, {"number": {"eq": 3}}, True),
        (2.5, {"number": {"gt": 2, "lte": 3}}, True),
        (2.5, {"number": {"gte": 2, "lt": 3}}, True),
        (2.5, {"number": {"gte": 3}}, False),
        (True, {"number": {"eq": 1}}, False),  # a boolean is no number
        ("3", {"number": {"eq": 3}}, False),  # nor is a string
        (None, {"number": {"gte": -100}}, False),
        ("Gold", {"string": {"eq": "gold"}}, True),
        (3, {"string": {"neq": "gold"}}, True),  # a number counts as no (string) value
        (3, {"string": {"isEmpty": True}}, True),
        (3, {"string": {"contains": "3"}}, False),
        ("", {"string": {"isEmpty": True}}, True),
        ("x", {"exists": True}, True),
        (0, {"exists": True}, True),
        (False, {"exists": True}, True),
        ("", {"exists": True}, True),
        (None, {"exists": True}, False),  # null counts as absent
        (None, {"exists": False}, True),
        ("2026-06-01", {"date": {"before": "2026-06-01T00:00:01Z"}}, True),
        ("2026-06-01T23:00:00+05:00", {"date": {"after": "2026-06-01T00:00:00Z"}}, False),
        ("2026-06-01 whatever", {"date": {"isEmpty": False}}, True),
        ("2026-6-01", {"date": {"isEmpty": True}}, True),  # not YYYY-MM-DD: no value
        ("x2026-06-01", {"date": {"isEmpty": True}}, True),
        (20260601, {"date": {"isEmpty": True}}, True),
        ("2026-06-14", {"date": {"withinLastDays": 1}}, False),
        ("2026-06-15", {"date": {"withinLastDays": 1}}, True),
        ([1, 2], {"exists": True}, True),
        ([1, 2], {"string": {"isEmpty": True}}, True),
    ],
)
def test_custom_fields(value: Any, condition: dict[str, Any], expected: bool) -> None:
    contact = person(custom_fields={"plan": value})
    assert holds({"customField": {"key": "plan", **condition}}, contact) is expected


def test_custom_field_keys_are_exact() -> None:
    contact = person(custom_fields={"plan": "gold"})
    assert not holds({"customField": {"key": "Plan", "exists": True}}, contact)
    assert holds({"customField": {"key": "Plan", "string": {"isEmpty": True}}}, contact)
    assert holds({"customField": {"key": "missing", "exists": False}}, contact)


# ---------------------------------------------------------------------------- segments, groups


def _segments(custom: dict[int, ast.Filter]) -> dict[int, SegmentDef]:
    segments = {i: SegmentDef(SegmentKind.DEFAULT, key) for i, key in enumerate(DefaultSegment, 1)}
    segments.update({pk: SegmentDef(SegmentKind.CUSTOM, tree=t) for pk, t in custom.items()})
    return segments


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {"ALL_CONTACTS"}),
        ({"is_customer": True}, {"ALL_CONTACTS", "CUSTOMERS"}),
        ({"subscription_status": SubscriptionStatus.SUBSCRIBED}, {"ALL_CONTACTS", "SUBSCRIBED"}),
        (
            {"subscription_status": SubscriptionStatus.SUBSCRIBED, "is_inactive": True},
            {"ALL_CONTACTS", "SUBSCRIBED", "INACTIVE"},
        ),
        # The rules never set these for a non-subscriber; the segments read the flags alone.
        (
            {"is_inactive": True, "is_excluded": True},
            {"ALL_CONTACTS", "INACTIVE", "EXCLUDED"},
        ),
        (
            {
                "subscription_status": SubscriptionStatus.SUBSCRIBED,
                "is_excluded": True,
                "is_hard_bounced": True,
            },
            {"ALL_CONTACTS", "SUBSCRIBED", "EXCLUDED", "HARD_BOUNCED"},
        ),
    ],
)
def test_default_segments(fields: dict[str, Any], expected: set[str]) -> None:
    contact = person(**fields)
    segments = _segments({})
    held = {
        key.value
        for pk, definition in segments.items()
        if (key := definition.default_key) is not None
        and holds({"segment": {"in": _gid("Segment", pk)}}, contact, segments=segments)
    }
    assert held == expected


def test_custom_segments_nest_and_not_is_the_complement() -> None:
    vip = codec.parse({"tags": {"hasAny": ["vip"]}})
    vip_customers = codec.parse(
        {"and": [{"segment": {"in": _gid("Segment", 11)}}, {"segment": {"in": _gid("Segment", 2)}}]}
    )
    segments = _segments({11: vip, 12: vip_customers})
    contacts = [
        Contact(id=1, email="a@x.io", tags={"VIP"}, is_customer=True),
        Contact(id=2, email="b@x.io", tags={"VIP"}),
        Contact(id=3, email="c@x.io", first_name=None),
    ]
    dataset = Dataset(contacts=contacts, segments=segments)
    assert members(codec.parse({"segment": {"in": _gid("Segment", 12)}}), dataset, NOW) == {1}
    assert members(
        codec.parse({"not": {"segment": {"in": _gid("Segment", 12)}}}), dataset, NOW
    ) == {
        2,
        3,
    }
    # `not` over a condition on a missing value holds (plain complement).
    assert members(codec.parse({"not": {"firstName": {"eq": "x"}}}), dataset, NOW) == {1, 2, 3}
    assert members(None, dataset, NOW) == {1, 2, 3}
    either = codec.parse({"or": [{"isCustomer": True}, {"firstName": {"isEmpty": True}}]})
    assert members(either, dataset, NOW) == {1, 2, 3}
    both = codec.parse({"and": [{"isCustomer": True}, {"tags": {"hasNone": ["vip"]}}]})
    assert members(both, dataset, NOW) == set()


def test_explain_lists_every_node_in_pre_order_with_input_paths() -> None:
    tree = codec.parse(
        {
            "and": [
                {"isCustomer": True},
                {"not": {"or": [{"firstName": {"eq": "ann"}}, {"age": {"gte": 18}}]}},
            ]
        }
    )
    contact = person(is_customer=True, first_name="Ann")
    assert explain(tree, contact, Dataset(contacts=[contact]), NOW) == [
        ((), False),
        (("and", "0"), True),
        (("and", "1"), False),
        (("and", "1", "not"), True),
        (("and", "1", "not", "or", "0"), True),
        (("and", "1", "not", "or", "1"), False),
    ]
