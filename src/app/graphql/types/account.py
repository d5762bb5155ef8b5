"""The Account type: the token's account and the settings its engagement rules use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry import relay

from app.graphql.context import Info
from app.models import Account as AccountModel


@strawberry.type
class AccountSettings:
    inactivity_days: int
    soft_bounce_threshold: int
    unengaged_send_threshold: int


@strawberry.type(name="Account")
class AccountType(relay.Node):
    id: relay.NodeID[int]
    name: str
    settings: AccountSettings

    @classmethod
    def from_model(cls, account: AccountModel) -> AccountType:
        return cls(
            id=account.id,
            name=account.name,
            settings=AccountSettings(
                inactivity_days=account.inactivity_days,
                soft_bounce_threshold=account.soft_bounce_threshold,
                unengaged_send_threshold=account.unengaged_send_threshold,
            ),
        )

    @classmethod
    def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        # An account sees only itself.
        account = info.context.account
        return [cls.from_model(account) if str(account.id) == str(i) else None for i in node_ids]
