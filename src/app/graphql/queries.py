"""The root query fields."""

from __future__ import annotations

import strawberry
from strawberry import relay

from app.filters.ids import from_global_id
from app.graphql.context import Info
from app.graphql.errors import PublicError
from app.graphql.inputs.filter import ContactFilter
from app.graphql.inputs.plain import plain
from app.graphql.lists import (
    ProductConnection,
    SegmentConnection,
    TagConnection,
    product_connection,
    segment_connection,
    tag_connection,
)
from app.graphql.types.account import AccountType
from app.graphql.types.campaign import CampaignConnection, campaign_connection
from app.graphql.types.contact import (
    ContactConnection,
    ContactOrder,
    ContactType,
    contact_connection,
)
from app.graphql.types.custom_field import CustomFieldKeyType
from app.graphql.types.job import BulkJobType
from app.graphql.types.webhook import WebhookConnection, webhook_connection
from app.models import BulkJob
from app.services import custom_fields
from app.services import segments as service
from app.services.errors import DomainError

NODE_TYPES = (
    "Account",
    "Contact",
    "Segment",
    "Tag",
    "Product",
    "BulkJob",
    "SegmentSnapshot",
    "Webhook",
)


@strawberry.type
class SegmentPreview:
    count: int
    sample: list[ContactType]


@strawberry.type
class Query:
    @strawberry.field(description="Anything the account may see, by global ID; null otherwise.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        try:
            global_id = relay.GlobalID.from_id(str(id))
        except Exception:  # a malformed ID names nothing
            return None
        if global_id.type_name not in NODE_TYPES:
            return None
        # Only the spelling the API gives out: not one with padding or spaces decoding skips.
        pk = from_global_id(str(id), global_id.type_name)
        if pk is None:
            return None
        return await global_id.resolve_node(info, required=False)

    @strawberry.field(description="The token's account and its settings.")
    def viewer(self, info: Info) -> AccountType:
        return AccountType.from_model(info.context.account)

    @strawberry.field
    async def contacts(
        self,
        info: Info,
        filter: ContactFilter | None = None,
        order_by: ContactOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> ContactConnection:
        tree = None
        if filter is not None:
            try:
                tree = await service.parse_filter(info.context.account, plain(filter))
            except DomainError as exc:
                path = ".".join(exc.field[2:]) or "filter"
                raise PublicError(f"filter.{path}: {exc.message}", "INVALID_FILTER") from None
        return await contact_connection(info, tree, order_by, first, after, last, before)

    @strawberry.field(description="The six default segments first, then custom ones by name.")
    async def segments(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> SegmentConnection:
        return await segment_connection(info, first, after)

    @strawberry.field(description="A live count and a sample, for the builder before saving.")
    async def segment_preview(
        self, info: Info, filter: ContactFilter, sample: int | None = 10
    ) -> SegmentPreview:
        try:
            result = await service.preview(
                info.context.account,
                plain(filter),
                10 if sample is None else sample,
                info.context.now,
            )
        except DomainError as exc:
            path = ".".join(exc.field[2:]) if exc.field[:2] == ("input", "filter") else ""
            raise PublicError(
                f"filter.{path}: {exc.message}" if path else exc.message, str(exc.code)
            ) from None
        return SegmentPreview(
            count=result.count, sample=[ContactType.from_model(c) for c in result.sample]
        )

    @strawberry.field
    async def tags(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> TagConnection:
        return await tag_connection(info, first, after)

    @strawberry.field
    async def products(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> ProductConnection:
        return await product_connection(info, first, after)

    @strawberry.field(
        description="The custom field keys the account's contacts hold, with the kinds of "
        "value under each: a builder's choices for `customField`."
    )
    async def custom_field_keys(self, info: Info) -> list[CustomFieldKeyType]:
        found = await custom_fields.custom_field_keys(info.context.account.id)
        return [CustomFieldKeyType.from_domain(key) for key in found]

    @strawberry.field(
        description="The campaigns the account's email events name, newest first: a "
        "builder's choices for `emailActivity.campaign`."
    )
    async def campaigns(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> CampaignConnection:
        return await campaign_connection(info, first, after)

    @strawberry.field(description="The account's webhooks, newest first.")
    async def webhooks(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> WebhookConnection:
        return await webhook_connection(info, first, after)

    @strawberry.field
    async def bulk_job(self, info: Info, id: strawberry.ID) -> BulkJobType | None:
        pk = from_global_id(str(id), "BulkJob")
        job = await BulkJob.get_or_none(account=info.context.account, id=pk) if pk else None
        return BulkJobType.from_model(job) if job else None
