"""The GraphQL schema (see ../shared/API.md for the contract)."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache

from app.graphql.context import Info
from app.graphql.types.account import AccountType


@strawberry.type
class Query:
    @strawberry.field(description="The token's account and its settings.")
    def viewer(self, info: Info) -> AccountType:
        return AccountType.from_model(info.context.account)


schema = strawberry.Schema(
    query=Query,
    extensions=[
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        MaskErrors,
    ],
)
