"""Bearer tokens: `sgt_<key>_<secret>`. The key finds the row; only sha256(secret) is stored and
it is compared in constant time. Knows nothing of GraphQL."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from app import clock
from app.limits import MAX_TOKEN_LENGTH
from app.models import Account, ApiToken

PREFIX = "sgt"
_KEY_BYTES = 9  # 12 url-safe characters
_SECRET_BYTES = 32
USE_STAMP_EVERY = timedelta(hours=1)  # how stale last_used_at may get


@dataclass(frozen=True)
class NewToken:
    key: str
    secret_hash: str
    token: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> NewToken:
    # token_hex keeps "_" out of the parts, so the token splits unambiguously.
    key = secrets.token_hex(_KEY_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES).replace("_", "-")
    return NewToken(key=key, secret_hash=hash_secret(secret), token=f"{PREFIX}_{key}_{secret}")


# What new_token writes; anything else (a key too long for its column, NUL, non-ASCII) is
# refused before it reaches the database.
_TOKEN = re.compile(rf"^{PREFIX}_([0-9a-f]{{{2 * _KEY_BYTES}}})_([A-Za-z0-9-]{{1,64}})$")


def split_token(token: str) -> tuple[str, str] | None:
    match = _TOKEN.match(token.strip()) if len(token) <= MAX_TOKEN_LENGTH else None
    return (match.group(1), match.group(2)) if match else None


async def authenticate(token: str | None) -> Account | None:
    """The account a bearer token acts for, or None for a missing, malformed, unknown or revoked
    token."""
    if not token:
        return None
    parts = split_token(token)
    if parts is None:
        return None
    key, secret = parts
    row = await ApiToken.filter(key=key, revoked_at=None).select_related("account").first()
    if row is None:
        # Spend the same hashing work as a hit, so timing tells nothing about which keys exist.
        hmac.compare_digest(hash_secret(secret), "0" * 64)
        return None
    if not hmac.compare_digest(hash_secret(secret), row.secret_hash):
        return None
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at > USE_STAMP_EVERY:
        # Coarse on purpose: a write per request would cost more than knowing the minute.
        await ApiToken.filter(id=row.id).update(last_used_at=now)
    return row.account


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
