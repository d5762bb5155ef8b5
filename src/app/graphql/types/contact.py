"""Contacts and contact connections (used by `contacts` and `Segment.members`)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from app.enums import EmailRisk, SubscriptionStatus, UnsubscribeReason
from app.filters import ast, query
from app.filters.sql import Sql, placeholders, sql
from app.graphql.context import Info
from app.graphql.execution import prefetchable
from app.graphql.nodes import account_nodes
from app.graphql.pagination import (
    Edge,
    PageRequest,
    encode_cursor,
    page_info,
    page_request,
    sort_value,
    window,
)
from app.graphql.rows import select_columns
from app.graphql.selection import selects
from app.graphql.types.tag import OwnedProductType, TagType
from app.models import Contact

if TYPE_CHECKING:
    from app.graphql.types.segment import SegmentType


# What a Contact shows: a page reads these columns, not whole models.
CONTACT_COLUMNS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "created_at",
    "subscription_status",
    "unsubscribe_reason",
    "email_risk",
    "is_customer",
    "is_inactive",
    "is_hard_bounced",
    "is_excluded",
    "flags_computed_at",
    "last_opened_at",
    "last_clicked_at",
    "total_spent_cents",
    "birth_date",
    "country",
    "custom_fields",
)


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

    # The relations a page asked for, read for the whole page at once (contact_connection):
    # then these fields answer at once, without awaiting anything.
    prefetched: strawberry.Private[dict[str, list[Any] | Exception]] = dataclasses.field(
        default_factory=dict
    )

    @strawberry.field
    @prefetchable("tags")
    def tags(self, info: Info) -> list[TagType]:
        return cast(list[TagType], self._related("tags", info))

    @strawberry.field
    @prefetchable("products")
    def products(self, info: Info) -> list[OwnedProductType]:
        return cast(list[OwnedProductType], self._related("products", info))

    @strawberry.field(description="Every segment, default or custom, that holds the contact now.")
    @prefetchable("segments")
    def segments(
        self, info: Info
    ) -> list[Annotated[SegmentType, strawberry.lazy("app.graphql.types.segment")]]:
        return cast(list["SegmentType"], self._related("segments", info))

    def _related(self, relation: str, info: Info) -> list[Any] | Awaitable[list[Any]]:
        """The prefetched list, else an awaitable of it through the request's DataLoader
        (graphql-core awaits what a resolver returns)."""
        found = self.prefetched.get(relation)
        if isinstance(found, Exception):
            raise found  # the page's query for it failed: each contact reports it, as before
        if found is not None:
            return found
        return _one(RELATIONS[relation](info, [int(self.id)]))

    @classmethod
    def from_model(cls, c: Contact) -> ContactType:
        return cls.from_row({column: getattr(c, column) for column in CONTACT_COLUMNS})

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ContactType:
        """From the CONTACT_COLUMNS of a contact (see app.graphql.rows)."""
        return cls(
            id=row["id"],
            email=row["email"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            created_at=row["created_at"],
            subscription_status=row["subscription_status"],
            unsubscribe_reason=row["unsubscribe_reason"],
            email_risk=row["email_risk"],
            is_customer=row["is_customer"],
            is_inactive=row["is_inactive"],
            is_hard_bounced=row["is_hard_bounced"],
            is_excluded=row["is_excluded"],
            flags_stamp=row["flags_computed_at"],
            last_opened_at=row["last_opened_at"],
            last_clicked_at=row["last_clicked_at"],
            total_spent_cents=row["total_spent_cents"],
            birth_date=row["birth_date"],
            country=row["country"],
            custom_fields=cast(JSON, row["custom_fields"]),
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
    # Counts the connection's contacts when they are not those matching `tree` (a snapshot's).
    counter: strawberry.Private[Callable[[], Awaitable[int]] | None] = None

    @strawberry.field(description="How many contacts match, over all pages.")
    async def total_count(self, info: Info) -> int:
        if self.counter is not None:
            return await self.counter()
        return await query.count_matching(info.context.account.id, self.tree, now=info.context.now)


async def contact_rows(account_id: int, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The CONTACT_COLUMNS of these contacts, by id: rows, not models (a page needs columns)."""
    if not ids:
        return {}
    where = sql("account_id = ? AND id IN (", account_id) + placeholders(ids) + Sql(")")
    found = await select_columns(Contact, CONTACT_COLUMNS, where)
    return {int(row["id"]): row for row in found}


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
    contacts = await contact_rows(account.id, ids)
    rows = [row for row in win.rows if int(row["id"]) in contacts]
    # Every edge's cursor when the request reads them; else only the ends' (pageInfo).
    every_cursor = selects(info, ("edges", "cursor"))
    last = len(rows) - 1
    edges = [
        ContactEdge(
            cursor=encode_cursor(
                order_key, sort_value(row["sort_value"], order_key), int(row["id"])
            )
            if every_cursor or i in (0, last)
            else "",
            node=ContactType.from_row(contacts[int(row["id"])]),
        )
        for i, row in enumerate(rows)
    ]
    await prefetch(info, [edge.node for edge in edges])
    return ContactConnection(edges=edges, page_info=page_info(edges, win), tree=tree)


async def id_page_connection(
    info: Info,
    ids: list[int],
    request: PageRequest,
    order_key: str,
    counter: Callable[[], Awaitable[int]],
) -> ContactConnection:
    """A forward page of contacts already chosen by id, in order (`ids`: up to one more than
    the page, as `window` expects), each edge's cursor its contact's id: a snapshot's members.
    Read like `contact_connection`'s: one query for the rows, one per selected relation."""
    win = window([{"id": pk} for pk in ids], request)
    contacts = await contact_rows(info.context.account.id, [row["id"] for row in win.rows])
    edges = [
        ContactEdge(
            cursor=encode_cursor(order_key, None, row["id"]),
            node=ContactType.from_row(contacts[row["id"]]),
        )
        for row in win.rows
        if row["id"] in contacts
    ]
    await prefetch(info, [edge.node for edge in edges])
    return ContactConnection(
        edges=edges, page_info=page_info(edges, win), tree=None, counter=counter
    )


async def prefetch(
    info: Info, nodes: list[ContactType], below: tuple[str, ...] = ("edges", "node")
) -> None:
    """Reads the relations the page selects for all its contacts now, with the queries the
    DataLoaders batch (one per relation, as when each contact asked) but without a future per
    contact: the page then completes without an await per contact. A failed query is kept and
    raised by each contact's field. `below`: where the contacts sit under the current field."""
    wanted = [name for name in RELATIONS if selects(info, (*below, name))]
    if not nodes or not wanted:
        return
    ids = [int(node.id) for node in nodes]
    loaded = await asyncio.gather(
        *(RELATIONS[name](info, ids) for name in wanted), return_exceptions=True
    )
    for name, lists in zip(wanted, loaded, strict=True):
        if isinstance(lists, BaseException):
            if not isinstance(lists, Exception):
                raise lists
            for node in nodes:
                node.prefetched[name] = lists
            continue
        for node, items in zip(nodes, lists, strict=True):
            node.prefetched[name] = items


async def _tags_of(info: Info, ids: list[int]) -> list[list[Any]]:
    return list(await info.context.loaders.read_tags(ids))


async def _products_of(info: Info, ids: list[int]) -> list[list[Any]]:
    found = await info.context.loaders.read_owned(ids)
    return [[OwnedProductType.from_model(row) for row in owned] for owned in found]


async def _segments_of(info: Info, ids: list[int]) -> list[list[Any]]:
    from app.graphql.types.segment import SegmentType

    found = await info.context.loaders.read_segments(ids)
    return [[SegmentType.from_model(segment) for segment in held] for held in found]


# A contact's relations: each loads the lists of a batch of contacts.
RELATIONS: dict[str, Callable[[Info, list[int]], Awaitable[list[list[Any]]]]] = {
    "tags": _tags_of,
    "products": _products_of,
    "segments": _segments_of,
}


async def _one(lists: Awaitable[list[list[Any]]]) -> list[Any]:
    return (await lists)[0]
