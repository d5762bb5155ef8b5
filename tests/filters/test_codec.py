"""The codec: the input shape round-trips, stored JSON is stable, every error names its path."""

from __future__ import annotations

from typing import Any

import pytest

from app.filters import ast, codec
from app.filters.errors import FilterError
from app.filters.ids import to_global_id

PRODUCT = to_global_id("Product", 7)
SEGMENT = to_global_id("Segment", 3)

EVERY_CATEGORY: dict[str, Any] = {
    "and": [
        {"email": {"endsWith": "@example.com"}},
        {"firstName": {"in": ["Ada", "Grace"]}},
        {"lastName": {"isEmpty": False}},
        {"country": {"neq": "FR"}},
        {"createdAt": {"after": "2026-01-01T00:00:00+00:00", "moreThanDaysAgo": 3}},
        {"birthDate": {"isEmpty": True}},
        {"age": {"gte": 18, "lt": 65}},
        {"subscriptionStatus": {"in": ["SUBSCRIBED", "NEVER_SUBSCRIBED"]}},
        {"emailRisk": {"in": ["HIGH_RISK"]}},
        {"isCustomer": True},
        {"isInactive": False},
        {"isHardBounced": False},
        {"isExcluded": False},
        {
            "or": [
                {"tags": {"hasAny": ["vip"], "hasNone": ["spam"]}},
                {"tags": {"hasAll": ["a", "b"]}},
            ]
        },
        {"products": {"ownsAny": [PRODUCT], "ownsNone": [to_global_id("Product", 8)]}},
        {"productProgress": {"product": PRODUCT, "percent": {"gte": 50}}},
        {
            "purchases": {
                "product": PRODUCT,
                "count": {"gte": 2},
                "totalCents": {"lt": 10000},
                "window": {"withinLastDays": 365},
            }
        },
        {
            "not": {
                "emailActivity": {
                    "event": "CLICKED",
                    "campaign": "launch",
                    "window": {
                        "since": "2026-01-01T00:00:00+00:00",
                        "until": "2026-02-01T00:00:00+00:00",
                    },
                }
            }
        },
        {
            "emailActivity": {
                "event": "OPENED",
                "count": {"lt": 1},
                "window": {"withinLastDays": 90},
            }
        },
        {"customField": {"key": "plan", "string": {"eq": "pro"}}},
        {"customField": {"key": "score", "number": {"gt": 3}}},
        {"customField": {"key": "renewal", "date": {"withinLastDays": 30}}},
        {"customField": {"key": "coupon", "exists": True}},
        {"segment": {"in": SEGMENT}},
    ]
}


def test_every_category_round_trips_in_the_input_shape() -> None:
    tree = codec.parse(EVERY_CATEGORY)
    assert codec.to_input(tree) == EVERY_CATEGORY
    assert codec.decode(codec.encode(tree)) == tree


def test_stored_json_is_stable_and_versioned() -> None:
    tree = codec.parse(EVERY_CATEGORY)
    first = codec.encode(tree)
    assert first == codec.encode(codec.decode(first))
    assert first.startswith('{"filter":') and first.endswith(',"version":1}')
    # Key order in the input does not change the bytes stored.
    shuffled = {"customField": {"exists": True, "key": "coupon"}}
    assert codec.encode(codec.parse(shuffled)) == codec.encode(
        codec.parse({"customField": {"key": "coupon", "exists": True}})
    )


def test_naive_times_are_utc_and_nulls_are_absent() -> None:
    tree = codec.parse({"createdAt": {"before": "2026-03-01T10:00:00", "after": None}})
    assert codec.to_input(tree) == {"createdAt": {"before": "2026-03-01T10:00:00+00:00"}}


def test_an_unknown_version_is_refused() -> None:
    with pytest.raises(FilterError, match="version"):
        codec.decode('{"filter": {"isCustomer": true}, "version": 99}')


def _nest(depth: int) -> dict[str, Any]:
    tree: dict[str, Any] = {"isCustomer": True}
    for _ in range(depth - 1):
        tree = {"not": tree}
    return tree


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({}, (), "exactly one"),
        ({"isCustomer": True, "isExcluded": True}, (), "exactly one"),
        ({"nope": 1}, ("nope",), "Unknown field"),
        ({"and": []}, ("and",), "at least one"),
        ({"or": [{"isCustomer": True}, {"email": {}}]}, ("or", "1", "email"), "exactly one"),
        ({"email": {"eq": "a", "neq": "b"}}, ("email",), "exactly one"),
        ({"email": {"eq": "  "}}, ("email", "eq"), "empty"),
        ({"email": {"in": []}}, ("email", "in"), "non-empty list"),
        ({"email": {"in": ["x"] * 1001}}, ("email", "in"), "at most 1000"),
        ({"age": {}}, ("age",), "at least one"),
        ({"age": {"gt": 5, "lt": 6}}, ("age",), "contradict"),
        ({"createdAt": {"isEmpty": True, "withinLastDays": 3}}, ("createdAt",), "combined"),
        ({"createdAt": {"withinLastDays": 3, "moreThanDaysAgo": 5}}, ("createdAt",), "more than"),
        ({"createdAt": {"before": "2026-01-01", "after": "2026-02-01"}}, ("createdAt",), "later"),
        ({"createdAt": {"withinLastDays": -1}}, ("createdAt", "withinLastDays"), "between"),
        ({"createdAt": {"before": "yesterday"}}, ("createdAt", "before"), "ISO-8601"),
        (
            {"subscriptionStatus": {"in": ["MAYBE"]}},
            ("subscriptionStatus", "in", "0"),
            "not one of",
        ),
        ({"tags": {"hasAll": ["VIP"], "hasNone": ["vip"]}}, ("tags", "hasNone"), "both"),
        ({"products": {"ownsAny": ["not-an-id"]}}, ("products", "ownsAny", "0"), "ID of a Product"),
        ({"products": {"ownsAny": [SEGMENT]}}, ("products", "ownsAny", "0"), "ID of a Product"),
        ({"productProgress": {"product": PRODUCT}}, ("productProgress", "percent"), "required"),
        ({"purchases": {"count": {"lt": 0}}}, ("purchases", "count"), "contradict"),
        (
            {"productProgress": {"product": PRODUCT, "percent": {"gte": 101}}},
            ("productProgress", "percent"),
            "contradict",
        ),
        (
            {"customField": {"key": "k", "number": {"gt": 2, "lt": 2}}},
            ("customField", "number"),
            "contradict",
        ),
        ({"emailActivity": {"count": {"gte": 1}}}, ("emailActivity", "event"), "required"),
        ({"emailActivity": {"event": "READ"}}, ("emailActivity", "event"), "not one of"),
        (
            {"emailActivity": {"event": "SENT", "window": {}}},
            ("emailActivity", "window"),
            "at least",
        ),
        ({"customField": {"key": "k"}}, ("customField",), "exactly one"),
        ({"customField": {"string": {"eq": "x"}}}, ("customField", "key"), "required"),
        ({"segment": {}}, ("segment", "in"), "required"),
        ({"isCustomer": "yes"}, ("isCustomer",), "true or false"),
        (_nest(11), ("not",) * 10, "at most 10 levels"),
        # Values no database stores, which would otherwise break every read of the segment.
        ({"firstName": {"eq": "A\u0000B"}}, ("firstName", "eq"), "NUL"),
        ({"tags": {"hasAny": ["ok", "\udc80"]}}, ("tags", "hasAny", "1"), "surrogate"),
        ({"country": {"contains": "F\u001bR"}}, ("country", "contains"), "control"),
        ({"createdAt": {"before": "0001-01-01T00:00:00+14:00"}}, ("createdAt", "before"), "1900"),
        ({"createdAt": {"after": "9999-12-31T23:59:59-14:00"}}, ("createdAt", "after"), "2200"),
    ],
)
def test_errors_name_the_offending_path(data: Any, path: tuple[str, ...], message: str) -> None:
    with pytest.raises(FilterError) as caught:
        codec.parse(data)
    assert caught.value.path == path
    assert message in caught.value.message


def test_number_ranges_may_lie_between_integers() -> None:
    tree = codec.parse({"customField": {"key": "k", "number": {"gt": 2, "lt": 3}}})
    assert isinstance(tree, ast.CustomFieldMatch) and tree.number == ast.IntCondition(gt=2, lt=3)
    codec.parse({"customField": {"key": "k", "number": {"gte": 2, "lte": 2}}})


def test_depth_ten_is_allowed_and_201_conditions_are_not() -> None:
    assert isinstance(codec.parse(_nest(10)), ast.Not)
    many = {"or": [{"isCustomer": True}] * 200}
    assert codec.count_conditions(codec.parse(many)) == 200
    with pytest.raises(FilterError, match="at most 200 conditions") as caught:
        codec.parse({"or": [*many["or"], {"isExcluded": True}]})
    assert caught.value.path == ()
