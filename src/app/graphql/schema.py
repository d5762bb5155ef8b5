"""The GraphQL schema (see ../shared/API.md for the contract)."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.graphql import enums  # noqa: F401 - registers the domain enums
from app.graphql.cost import QueryCostLimiter
from app.graphql.execution import PlainFieldsExecutor
from app.graphql.masking import MaskFaults
from app.graphql.mutations.automation import AutomationMutations
from app.graphql.mutations.erasure import ErasureMutations
from app.graphql.mutations.ingest import IngestMutations
from app.graphql.mutations.segments import SegmentMutations
from app.graphql.queries import Query
from app.graphql.scalars import SCALARS
from app.graphql.types.account import AccountType
from app.graphql.types.contact import ContactType
from app.graphql.types.job import BulkJobType
from app.graphql.types.segment import SegmentType
from app.graphql.types.snapshot import SegmentSnapshotType
from app.graphql.types.tag import ProductType, TagType
from app.graphql.types.webhook import WebhookType
from app.limits import MAX_ALIASES, MAX_QUERY_DEPTH, MAX_TOKENS

# The limiters' validation rules, built once: ValidationCache keys on the rule classes, and each
# QueryDepthLimiter or MaxAliasesLimiter builds new ones, so limiters built per request would
# make every request miss the cache.
LIMIT_RULES = (
    *QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)


@strawberry.type
class Mutation(SegmentMutations, IngestMutations, ErasureMutations, AutomationMutations):
    pass


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # MaskFaults logs the unexpected ones with the request id; the rest are the caller's.
        return None


schema = Schema(
    config=StrawberryConfig(scalar_map=SCALARS),
    query=Query,
    mutation=Mutation,
    types=[
        AccountType,
        ContactType,
        SegmentType,
        TagType,
        ProductType,
        BulkJobType,
        SegmentSnapshotType,
        WebhookType,
    ],
    execution_context_class=PlainFieldsExecutor,
    extensions=[
        lambda: AddValidationRules(list(LIMIT_RULES)),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        QueryCostLimiter,  # after validation, before execution; depends on the variables
        MaskFaults,
    ],
)


def sdl() -> str:
    return schema.as_str() + "\n"
