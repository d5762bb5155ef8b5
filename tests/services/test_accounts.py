"""Accounts and bearer tokens: creation with the default segments, token checks, settings."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

import pytest

import app.auth
from app.auth import authenticate, hash_secret, split_token
from app.enums import DefaultSegment, SegmentKind
from app.models import Account, ApiToken, Segment
from app.services.accounts import create_account, issue_token, update_settings
from app.services.errors import DomainError, ErrorCode


async def test_a_new_accounts_token_authenticates_it(db: str) -> None:
    created = await create_account("  Ada's courses ")

    assert created.account.name == "Ada's courses"
    assert created.token.startswith("sgt_")
    found = await authenticate(created.token)
    assert found is not None and found.id == created.account.id
    # Surrounding whitespace is forgiven.
    found = await authenticate(f" {created.token}\n")
    assert found is not None and found.id == created.account.id


async def test_only_a_hash_of_the_secret_is_stored(db: str) -> None:
    created = await create_account("Hashing")
    key, secret = split_token(created.token) or pytest.fail("the token does not parse")

    [row] = await ApiToken.filter(account=created.account).values()
    assert row["key"] == key
    assert row["secret_hash"] == hash_secret(secret)
    assert row["name"] == "default"
    assert row["revoked_at"] is None
    for column, value in row.items():
        assert secret not in str(value), column
        assert created.token not in str(value), column


async def test_create_account_makes_the_six_default_segments(db: str) -> None:
    created = await create_account("Segments")

    rows = await Segment.filter(account=created.account).values(
        "default_key", "name", "name_lower", "kind", "filter_json"
    )
    assert sorted(rows, key=lambda r: r["name"]) == sorted(
        (
            {
                "default_key": key,
                "name": name,
                "name_lower": name.lower(),
                "kind": SegmentKind.DEFAULT,
                "filter_json": None,
            }
            for key, name in [
                (DefaultSegment.ALL_CONTACTS, "All Contacts"),
                (DefaultSegment.CUSTOMERS, "Customers"),
                (DefaultSegment.SUBSCRIBED, "Subscribed"),
                (DefaultSegment.INACTIVE, "Inactive"),
                (DefaultSegment.HARD_BOUNCED, "Hard Bounced"),
                (DefaultSegment.EXCLUDED, "Excluded"),
            ]
        ),
        key=lambda r: r["name"],
    )


async def test_new_accounts_have_the_default_engagement_settings(account: Account) -> None:
    stored = await Account.get(id=account.id)

    assert (
        stored.inactivity_days,
        stored.soft_bounce_threshold,
        stored.unengaged_send_threshold,
    ) == (
        90,
        3,
        10,
    )


@pytest.mark.parametrize(
    ("name", "code"),
    [("", ErrorCode.REQUIRED), ("   ", ErrorCode.REQUIRED), ("x" * 201, ErrorCode.TOO_LONG)],
)
async def test_account_names_are_checked(db: str, name: str, code: ErrorCode) -> None:
    before = await Account.all().count()

    with pytest.raises(DomainError) as raised:
        await create_account(name)

    assert (raised.value.code, raised.value.field) == (code, ("name",))
    assert await Account.all().count() == before


# --- authenticate ------------------------------------------------------------------------------


def _with_secret(token: str, secret: str) -> str:
    prefix, key, _ = token.split("_")
    return f"{prefix}_{key}_{secret}"


async def test_bad_tokens_give_no_account(account: Account) -> None:
    token = await issue_token(account, "ci")
    _, key, secret = token.split("_")
    bad = [
        None,
        "",
        "   ",
        _with_secret(token, secret[:-1] + ("A" if secret[-1] != "A" else "B")),  # wrong secret
        _with_secret(token, hash_secret(secret)),  # the stored hash is not the secret
        f"sgt_{'0' * len(key)}_{secret}",  # unknown key
        f"xyz_{key}_{secret}",  # wrong prefix
        f"sgt_{key}",  # no secret
        f"sgt__{secret}",  # no key
        f"sgt_{key}_",  # empty secret
        f"{token}_extra",  # too many parts
        f"Bearer {token}",  # a header, not a token
    ]

    assert await authenticate(token) is not None
    for candidate in bad:
        assert await authenticate(candidate) is None, candidate


async def test_a_revoked_token_gives_no_account(account: Account) -> None:
    kept = await issue_token(account, "kept")
    revoked = await issue_token(account, "revoked")
    key = revoked.split("_")[1]

    await ApiToken.filter(key=key).update(revoked_at=datetime.now(UTC))

    assert await authenticate(revoked) is None
    assert await authenticate(kept) is not None


async def test_each_token_gives_its_own_account(account: Account, other_account: Account) -> None:
    mine = await issue_token(account)
    theirs = await issue_token(other_account)

    assert mine != theirs
    assert (await authenticate(mine)).id == account.id  # type: ignore[union-attr]
    assert (await authenticate(theirs)).id == other_account.id  # type: ignore[union-attr]


async def test_secrets_are_compared_in_constant_time(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(app.auth.hmac, "compare_digest", spy)
    token = await issue_token(account)
    key, secret = token.split("_")[1:]
    stored = (await ApiToken.get(key=key)).secret_hash

    assert await authenticate(token) is not None
    assert calls == [(hash_secret(secret), stored)]

    calls.clear()
    assert await authenticate(_with_secret(token, "wrong")) is None
    assert calls == [(hash_secret("wrong"), stored)]

    calls.clear()
    assert await authenticate(f"sgt_{'f' * len(key)}_{secret}") is None  # unknown key
    assert len(calls) == 1  # the same work as a hit


# --- settings ----------------------------------------------------------------------------------


async def test_update_settings_changes_only_what_is_given(account: Account) -> None:
    await update_settings(account, inactivity_days=30)
    await update_settings(account, soft_bounce_threshold=5, unengaged_send_threshold=None)

    stored = await Account.get(id=account.id)
    assert (
        stored.inactivity_days,
        stored.soft_bounce_threshold,
        stored.unengaged_send_threshold,
    ) == (
        30,
        5,
        10,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"inactivity_days": 0},
        {"inactivity_days": 3651},
        {"soft_bounce_threshold": 0},
        {"unengaged_send_threshold": 10001},
    ],
)
async def test_out_of_range_settings_are_refused(account: Account, changes: dict[str, int]) -> None:
    # A valid inactivity_days beside the bad value: all or nothing.
    with pytest.raises(DomainError) as raised:
        await update_settings(account, **{"inactivity_days": 45, **changes})

    [name] = changes
    assert (raised.value.code, raised.value.field) == (ErrorCode.OUT_OF_RANGE, ("input", name))
    stored = await Account.get(id=account.id)
    assert (stored.inactivity_days, stored.soft_bounce_threshold) == (90, 3)
    # The caller's object, which it may hand back beside the error, is unchanged too.
    assert (account.inactivity_days, account.soft_bounce_threshold) == (90, 3)


async def test_authenticating_stamps_the_tokens_last_use_at_most_hourly(db: str) -> None:
    from datetime import UTC, datetime, timedelta

    from app.auth import authenticate
    from app.models import ApiToken
    from app.services.accounts import create_account

    created = await create_account("Stamped")
    token = await ApiToken.get(account=created.account)
    assert token.last_used_at is None
    assert await authenticate(created.token) is not None
    await token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and datetime.now(UTC) - first < timedelta(minutes=1)
    await authenticate(created.token)
    await token.refresh_from_db()
    assert token.last_used_at == first  # not rewritten within the hour
