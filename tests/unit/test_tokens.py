"""Token format, parsing and the Authorization header (no database)."""

from __future__ import annotations

import hashlib

import pytest

from app.auth import PREFIX, bearer_token, hash_secret, new_token, split_token


def test_new_tokens_are_well_formed_and_distinct() -> None:
    tokens = [new_token() for _ in range(50)]

    for fresh in tokens:
        prefix, key, secret = fresh.token.split("_")
        assert prefix == PREFIX
        assert key == fresh.key and len(key) == 18
        assert int(key, 16) >= 0  # hexadecimal
        assert len(secret) >= 43  # 32 random bytes
        assert fresh.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in fresh.secret_hash
        assert split_token(fresh.token) == (key, secret)
    assert len({t.key for t in tokens}) == len({t.token for t in tokens}) == 50


def test_hash_secret_is_sha256_hex() -> None:
    assert hash_secret("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert len(hash_secret("")) == 64


@pytest.mark.parametrize(
    "token",
    [
        "",
        "sgt",
        "sgt_key",
        "sgt_key_",
        "sgt__secret",
        "abc_key_secret",
        "SGT_key_secret",
        "sgt_a_b_c",
    ],
)
def test_malformed_tokens_do_not_split(token: str) -> None:
    assert split_token(token) is None


def test_split_token_trims_whitespace() -> None:
    key = "0123456789abcdef01"
    assert split_token(f"  sgt_{key}_s3cret\n") == (key, "s3cret")


@pytest.mark.parametrize(
    "token",
    [
        "sgt_k3y_s3cret",  # a key is 18 hex digits, as new_token writes it
        "sgt_" + "a" * 5000 + "_s3cret",
        "sgt_0123456789abcdef01_s3\u0000cret",
        "sgt_0123456789abcdef01_" + "s" * 65,
        "sgt_0123456789ABCDEF01_s3cret",
        "sgt_\u0660123456789abcdef0_s3cret",
    ],
)
def test_tokens_not_of_our_shape_are_never_looked_up(token: str) -> None:
    assert split_token(token) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer sgt_a_b", "sgt_a_b"),
        ("bearer   sgt_a_b  ", "sgt_a_b"),
        ("BEARER sgt_a_b", "sgt_a_b"),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer   ", None),
        ("Basic dXNlcjpwYXNz", None),
        ("sgt_a_b", None),
    ],
)
def test_bearer_token(header: str | None, expected: str | None) -> None:
    assert bearer_token(header) == expected
