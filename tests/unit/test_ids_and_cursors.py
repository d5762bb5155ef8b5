"""Global IDs and cursors decode to exactly what the API gave out, or to nothing: never a
fault, never another row."""

from __future__ import annotations

import base64
import json

import pytest

from app.filters.ids import MAX_PK, from_global_id, parse_pk, to_global_id
from app.graphql.errors import PublicError
from app.graphql.pagination import decode_cursor, encode_cursor


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("text", ["\u0663", "+3", "03", "-1", "0", "3.0", " 3", str(2**64), ""])
def test_a_key_has_one_spelling(text: str) -> None:
    assert parse_pk(text) is None


def test_keys_within_bigint() -> None:
    assert parse_pk("3") == 3
    assert parse_pk(str(MAX_PK)) == MAX_PK
    assert parse_pk(str(MAX_PK + 1)) is None


@pytest.mark.parametrize(
    "value",
    [
        _b64("Contact:\u0663"),  # an Arabic-Indic three
        _b64("Contact:99999999999999999999"),
        _b64("Contact:abc"),
        _b64("Segment:3"),
        "not base64!",
        "\u00e9\u00e9\u00e9",
        base64.b64encode(b"\xff\xfe:3").decode(),
    ],
)
def test_malformed_global_ids_name_nothing(value: str) -> None:
    assert from_global_id(value, "Contact") is None


def test_a_global_id_round_trips() -> None:
    assert from_global_id(to_global_id("Contact", 42), "Contact") == 42


def _cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode()


@pytest.mark.parametrize(
    ("cursor", "order"),
    [
        (_cursor("email:asc", 5, 1), "email:asc"),  # a number where the email goes
        (_cursor("created_at:asc", "yesterday", 1), "created_at:asc"),
        (_cursor("created_at:asc", "2026-01-01T00:00:00", 1), "created_at:asc"),  # no offset
        (_cursor("created_at:asc", "0001-01-01T00:00:00+14:00", 1), "created_at:asc"),
        (_cursor("created_at:asc", None, 1), "created_at:asc"),  # never empty
        (_cursor("total_spent_cents:desc", "5", 1), "total_spent_cents:desc"),
        (_cursor("total_spent_cents:desc", 2**70, 1), "total_spent_cents:desc"),
        (_cursor("total_spent_cents:desc", True, 1), "total_spent_cents:desc"),
        (_cursor("email:asc", "a\u0000b", 1), "email:asc"),
        (_cursor("tags", "vip", True), "tags"),
        (_cursor("tags", "vip", 2**64), "tags"),
        (_cursor("tags", "vip", 1.5), "tags"),
        (_cursor("products", None, "3"), "products"),
        ("\u00e9t\u00e9", "products"),
        (base64.urlsafe_b64encode(b"[" * 5000).decode(), "products"),
        (_cursor("products", None), "products"),
    ],
)
def test_a_cursor_of_the_wrong_shape_is_refused(cursor: str, order: str) -> None:
    with pytest.raises(PublicError):
        decode_cursor(cursor, order)


def test_cursors_round_trip_for_each_ordering() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for order, value in [
        ("created_at:asc", moment),
        ("last_opened_at:desc", None),
        ("email:asc", "ann@x.io"),
        ("total_spent_cents:asc", 1500),
        ("tags", "vip"),
        ("segments", None),
    ]:
        position = decode_cursor(encode_cursor(order, value, 7), order)
        assert (position.value, position.id) == (value, 7)
