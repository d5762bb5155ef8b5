"""An account's API tokens: listed, issued and revoked. Only a hash of each secret is stored
(app.auth), and every request looks its token up, so a revoked token is refused at once."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from app import clock
from app.auth import PREFIX, split_token
from app.models import Account, ApiToken
from app.services.accounts import issue_token
from app.services.checks import clean_text, single_value
from app.services.errors import DomainError, ErrorCode

MAX_TOKEN_NAME = 100  # the column's length


async def list_tokens(account: Account) -> list[ApiToken]:
    return await ApiToken.filter(account=account).order_by("id")


async def create_token(account: Account, name: str) -> tuple[ApiToken, str]:
    """A new token and its secret, which is shown once and never stored."""
    with single_value("name"):
        name = clean_text(name, "name", MAX_TOKEN_NAME, required=True) or ""
    token = await issue_token(account, name)
    key, _ = split_token(token) or ("", "")
    return await ApiToken.get(key=key), token


async def revoke_token(account: Account, token_id: int) -> tuple[ApiToken, bool]:
    """Revoke one of the account's tokens; says whether it was live (revoking it again
    changes nothing)."""
    row = await ApiToken.get_or_none(id=token_id, account=account)
    if row is None:
        raise DomainError(
            ErrorCode.NOT_FOUND, f"No token {token_id} in this account.", ("tokenId",)
        )
    if row.revoked_at is not None:
        return row, False
    row.revoked_at = clock.now()
    await row.save(update_fields=["revoked_at"])
    return row, True


async def replace_tokens(account: Account, name: str) -> str:
    """Revoke the account's live tokens of this name and issue a new one, at once."""
    async with in_transaction():
        await ApiToken.filter(account=account, name=name, revoked_at=None).update(
            revoked_at=clock.now()
        )
        return await issue_token(account, name)


def prefix(row: ApiToken) -> str:
    """What identifies a token without revealing it: `sgt_<key>`, the part before the secret."""
    return f"{PREFIX}_{row.key}"
