"""The shared batch helpers: size bound, per-item validation, emails, text, times and enums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.enums import EmailRisk
from app.services.batch import MAX_BATCH, check_size, validate_all
from app.services.checks import CLOCK_SKEW, as_utc, check_time, normalize_email, parse_enum
from app.services.checks import clean_text as check_text
from app.services.errors import DomainError, ErrorCode, ItemError, ItemInvalid

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def invalid(call: object, *args: object, **kwargs: object) -> ItemInvalid:
    assert callable(call)
    with pytest.raises(ItemInvalid) as raised:
        call(*args, **kwargs)
    return raised.value


def test_check_size_allows_a_full_batch_and_no_more() -> None:
    check_size([0] * MAX_BATCH)
    with pytest.raises(DomainError) as raised:
        check_size([0] * (MAX_BATCH + 1))
    assert (raised.value.code, raised.value.field) == (ErrorCode.BATCH_TOO_LARGE, ("input",))
    assert str(MAX_BATCH + 1) in raised.value.message


def test_validate_all_keeps_the_valid_and_records_the_rest() -> None:
    def check(n: int) -> int:
        if n < 0:
            raise ItemInvalid("n", "negative", ErrorCode.OUT_OF_RANGE)
        return n * 10

    errors: list[ItemError] = []
    assert validate_all([1, -2, 3, -4], check, errors) == [(0, 10), (2, 30)]
    assert [(e.index, e.field, e.code) for e in errors] == [
        (1, "n", ErrorCode.OUT_OF_RANGE),
        (3, "n", ErrorCode.OUT_OF_RANGE),
    ]


def test_validate_all_lets_unexpected_errors_through() -> None:
    def check(n: int) -> int:
        raise KeyError(n)

    with pytest.raises(KeyError):
        validate_all([1], check, [])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann.Lee+tag@Mail.Example.CO.UK ", "Ann.Lee+tag@Mail.Example.CO.UK"),
        ("o'neil@example.ie", "o'neil@example.ie"),
        (f"{'a' * 64}@example.com", f"{'a' * 64}@example.com"),
    ],
)
def test_valid_emails_are_trimmed_and_keep_their_case(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "plain",
        "@example.com",
        "ann@",
        "ann@localhost",
        "ann@@example.com",
        "ann@exa mple.com",
        "an n@example.com",
        "ann@example.",
        "ann@.example.com",
        "ann@example..com",
        f"{'a' * 65}@example.com",
        f"a@{'b' * 320}.com",
    ],
)
def test_invalid_emails_are_refused(raw: str) -> None:
    error = invalid(normalize_email, raw)
    assert (error.field, error.code) == ("email", ErrorCode.INVALID_EMAIL)


@pytest.mark.parametrize("raw", ["", "   "])
def test_a_missing_email_is_required(raw: str) -> None:
    error = invalid(normalize_email, raw, "contact_email")
    assert (error.field, error.code) == ("contact_email", ErrorCode.REQUIRED)


def test_check_text() -> None:
    assert check_text(None, "title", 5) is None
    assert check_text("  abc  ", "title", 5) == "abc"
    assert check_text(" " + "x" * 5 + " ", "title", 5) == "xxxxx"  # measured after trimming
    assert check_text("", "title", 5) == ""
    assert invalid(check_text, "x" * 6, "title", 5).code is ErrorCode.TOO_LONG
    assert invalid(check_text, None, "title", 5, required=True).code is ErrorCode.REQUIRED
    error = invalid(check_text, "  ", "title", 5, required=True)
    assert (error.field, error.code) == ("title", ErrorCode.REQUIRED)


def test_as_utc() -> None:
    naive = datetime(2024, 1, 1, 9, 30)
    assert as_utc(naive) == datetime(2024, 1, 1, 9, 30, tzinfo=UTC)
    paris = datetime(2024, 1, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    converted = as_utc(paris)
    assert converted == datetime(2024, 1, 1, 9, 30, tzinfo=UTC)
    assert converted.utcoffset() == timedelta(0)


def test_check_time_allows_the_clock_skew_and_no_more() -> None:
    assert check_time(NOW + CLOCK_SKEW, "occurred_at", NOW) == NOW + CLOCK_SKEW
    assert check_time(NOW - timedelta(days=3650), "occurred_at", NOW) == NOW - timedelta(days=3650)
    error = invalid(check_time, NOW + CLOCK_SKEW + timedelta(seconds=1), "occurred_at", NOW)
    assert (error.field, error.code) == ("occurred_at", ErrorCode.TIME_IN_FUTURE)
    # Offsets are compared as instants: 13:04 at UTC+1 is 12:04 UTC, inside the skew.
    plus_one = datetime(2024, 6, 1, 13, 4, tzinfo=timezone(timedelta(hours=1)))
    assert check_time(plus_one, "occurred_at", NOW) == NOW + timedelta(minutes=4)


def test_parse_enum() -> None:
    assert parse_enum(EmailRisk, EmailRisk.VALID, "risk") is EmailRisk.VALID
    assert parse_enum(EmailRisk, "high_risk", "risk") is EmailRisk.HIGH_RISK
    error = invalid(parse_enum, EmailRisk, "risky", "risk")
    assert (error.field, error.code) == ("risk", ErrorCode.INVALID)
    assert "VALID, HIGH_RISK, UNDELIVERABLE" in error.message
    custom = invalid(parse_enum, EmailRisk, "?", "risk", ErrorCode.UNKNOWN_EVENT_KIND)
    assert custom.code is ErrorCode.UNKNOWN_EVENT_KIND
