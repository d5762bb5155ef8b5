"""Contacts and contact connections (used by `contacts` and `Segment.members`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from app.enums import EmailRisk, SubscriptionStatus, UnsubscribeReason
from app.filters import ast, query
from app.graphql.context import Info
from app.graphql.nodes import account_nodes
from app.graphql.pagination import (
    Edge,
    encode_cursor,
    page_info,
    page_request,
    sort_value,
    window,
)
from app.graphql.types.tag import OwnedProductType, TagType
from app.models import Contact

if TYPE_CHECKING:
    from app.graphql.types.segment import SegmentType


@strawberry.enum
class ContactOrderField(Enum):
    CREATED_AT = "created_at"
    EMAIL = "email"
    LAST_OPENED_AT = "last_opened_at"
    TOTAL_SPENT = "total_spent_cents"


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input
class ContactOrder:
    field: ContactOrderField
    direction: OrderDirection = OrderDirection.ASC

    def to_order(self) -> query.Order:
        return query.Order(self.field.value, self.direction is OrderDirection.DESC)


@strawberry.type(name="Contact")
class ContactType(relay.Node):
    id: relay.NodeID[int]
    email: str
    first_name: str | None
    last_name: str | None
    created_at: datetime
    subscription_status: SubscriptionStatus
    unsubscribe_reason: UnsubscribeReason | None
    email_risk: EmailRisk
    is_customer: bool
    is_inactive: bool
    is_hard_bounced: bool
    is_excluded: bool
    flags_stamp: strawberry.Private[datetime | None]
    last_opened_at: datetime | None
    last_clicked_at: datetime | None
    total_spent_cents: int
    birth_date: date | None
    country: str | None
    custom_fields: JSON

    @strawberry.field(description="When the engagement rules last evaluated the flags.")
    def flags_computed_at(self, info: Info) -> datetime | None:
        # A nightly run stamps the account, and only the contacts whose flags it changed.
        whole = info.context.account.flags_evaluated_at
        own = self.flags_stamp
        if whole is None or own is None:
            return own or whole
        return max(own, whole)

    @strawberry.field
    async def tags(self, info: Info) -> list[TagType]:
        tags = await info.context.loaders.tags_by_contact.load(int(self.id))
        return [TagType.from_model(tag) for tag in tags]

    @strawberry.field
    async def products(self, info: Info) -> list[OwnedProductType]:
        owned = await info.context.loaders.owned_by_contact.load(int(self.id))
        return [OwnedProductType.from_model(row) for row in owned]

    @strawberry.field(description="Every segment, default or custom, that holds the contact now.")
    async def segments(
        self, info: Info
    ) -> list[Annotated[SegmentType, strawberry.lazy("app.graphql.types.segment")]]:
        from app.graphql.types.segment import SegmentType

        held = await info.context.loaders.segments_by_contact.load(int(self.id))
        return [SegmentType.from_model(segment) for segment in held]

    @classmethod
    def from_model(cls, c: Contact) -> ContactType:
        return cls(
            id=c.id,
            email=c.email,
            first_name=c.first_name,
            last_name=c.last_name,
            created_at=c.created_at,
            subscription_status=c.subscription_status,
            unsubscribe_reason=c.unsubscribe_reason,
            email_risk=c.email_risk,
            is_customer=c.is_customer,
            is_inactive=c.is_inactive,
            is_hard_bounced=c.is_hard_bounced,
            is_excluded=c.is_excluded,
            flags_stamp=c.flags_computed_at,
            last_opened_at=c.last_opened_at,
            last_clicked_at=c.last_clicked_at,
            total_spent_cents=c.total_spent_cents,
            birth_date=c.birth_date,
            country=c.country,
            custom_fields=cast(JSON, c.custom_fields),
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await account_nodes(Contact, info, node_ids, cls.from_model)


@strawberry.type
class ContactEdge(Edge[ContactType]):
    pass


@strawberry.type
class ContactConnection:
    edges: list[ContactEdge]
    page_info: relay.PageInfo
    tree: strawberry.Private[ast.Filter | None]

    @strawberry.field(description="How many contacts match, over all pages.")
    async def total_count(self, info: Info) -> int:
        return await query.count_matching(info.context.account.id, self.tree, now=info.context.now)


async def contact_connection(
    info: Info,
    tree: ast.Filter | None,
    order_by: ContactOrder | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> ContactConnection:
    """A page of the contacts matching `tree`: one query for the page's ids, one for the rows."""
    order = order_by.to_order() if order_by else query.Order("created_at")
    order_key = f"{order.field}:{'desc' if order.descending else 'asc'}"
    request = page_request(first, after, last, before, order_key)
    account = info.context.account
    rows = (
        await query.page(
            account.id,
            tree,
            now=info.context.now,
            order=order,
            limit=request.size + 1,
            after=request.cursor,
            backward=request.backward,
        )
        if request.size
        else []
    )
    win = window(rows, request)
    ids = [int(row["id"]) for row in win.rows]
    contacts = {c.id: c for c in await Contact.filter(account=account, id__in=ids)} if ids else {}
    edges = [
        ContactEdge(
            cursor=encode_cursor(
                order_key, sort_value(row["sort_value"], order_key), int(row["id"])
            ),
            node=ContactType.from_model(contacts[int(row["id"])]),
        )
        for row in win.rows
        if int(row["id"]) in contacts
    ]
    return ContactConnection(edges=edges, page_info=page_info(edges, win), tree=tree)
