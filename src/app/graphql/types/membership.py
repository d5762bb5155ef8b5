"""Who entered and left a segment (`Segment.changes`): the change log, oldest first, with
keyset cursors on the change's id. A change outlives its contact: `contactId` stays,
`contact` turns null."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry import relay

from app.enums import MembershipChangeKind
from app.filters.ids import to_global_id
from app.graphql.context import Info
from app.graphql.errors import PublicError
from app.graphql.execution import prefetchable
from app.graphql.pagination import Edge, id_page, page_info, page_request
from app.graphql.selection import selects
from app.graphql.types.contact import ContactType, contact_rows, prefetch
from app.limits import MAX_DATE, MIN_DATE
from app.models import MembershipChange
from app.services import membership
from app.services.checks import as_utc

ORDER_KEY = "changes"


@strawberry.type(name="MembershipChange")
class MembershipChangeType:
    contact_id: strawberry.ID = strawberry.field(
        description="The contact's global ID; kept once the contact is deleted."
    )
    kind: MembershipChangeKind
    at: datetime
    contact_pk: strawberry.Private[int]
    # The page's contacts, read at once with the page (see `changes_connection`).
    prefetched: strawberry.Private[dict[str, Any]] = dataclasses.field(default_factory=dict)

    @strawberry.field(description="The contact; null once it is deleted.")
    @prefetchable("contact")
    def contact(self, info: Info) -> ContactType | None:
        found = self.prefetched.get("contact", _MISSING)
        if isinstance(found, Exception):
            raise found
        if found is not _MISSING:
            return cast(ContactType | None, found)
        return cast(ContactType | None, _load_contact(info, self.contact_pk))

    @classmethod
    def from_model(cls, change: MembershipChange) -> MembershipChangeType:
        return cls(
            contact_id=strawberry.ID(to_global_id("Contact", change.contact_id)),
            kind=change.kind,
            at=change.at,
            contact_pk=change.contact_id,
        )


_MISSING = object()


async def _load_contact(info: Info, pk: int) -> ContactType | None:
    rows = await contact_rows(info.context.account.id, [pk])
    return ContactType.from_row(rows[pk]) if pk in rows else None


@strawberry.type
class MembershipChangeEdge(Edge[MembershipChangeType]):
    pass


@strawberry.type
class MembershipChangeConnection:
    edges: list[MembershipChangeEdge]
    page_info: relay.PageInfo
    account_id: strawberry.Private[int]
    segment_id: strawberry.Private[int]
    since: strawberry.Private[datetime | None]
    kind: strawberry.Private[MembershipChangeKind | None]

    @strawberry.field(description="How many changes match, over all pages.")
    async def total_count(self) -> int:
        found = MembershipChange.filter(account_id=self.account_id, segment_id=self.segment_id)
        if self.since is not None:
            found = found.filter(at__gte=self.since)
        if self.kind is not None:
            found = found.filter(kind=self.kind)
        return await found.count()


def check_since(since: datetime | None) -> datetime | None:
    """`since` in UTC (a time without offset is UTC), within the API's dates."""
    if since is None:
        return None
    try:
        moment = as_utc(since)
        in_range = MIN_DATE <= moment.date() <= MAX_DATE
    except OverflowError:
        in_range = False
    if not in_range:
        raise PublicError(f"since must be between {MIN_DATE} and {MAX_DATE}.", "OUT_OF_RANGE")
    return moment


async def changes_connection(
    info: Info,
    segment_id: int,
    first: int | None,
    after: str | None,
    since: datetime | None,
    kind: MembershipChangeKind | None,
) -> MembershipChangeConnection:
    """A page of the segment's changes, oldest first; with their contacts (and the contacts'
    relations) in one query each when the request selects them."""
    request = page_request(first, after, None, None, ORDER_KEY)
    since = check_since(since)
    account_id = info.context.account.id

    async def fetch(after_id: int | None, limit: int) -> list[MembershipChange]:
        return await membership.changes_page(
            account_id, segment_id, after_id=after_id, limit=limit, since=since, kind=kind
        )

    changes, win = await id_page(request, ORDER_KEY, fetch)
    edges = [
        MembershipChangeEdge(cursor=cursor, node=MembershipChangeType.from_model(change))
        for cursor, change in changes
    ]
    if edges and selects(info, ("edges", "node", "contact")):
        nodes = [edge.node for edge in edges]
        rows = await contact_rows(account_id, sorted({node.contact_pk for node in nodes}))
        contacts = {pk: ContactType.from_row(row) for pk, row in rows.items()}
        for node in nodes:
            node.prefetched["contact"] = contacts.get(node.contact_pk)
        await prefetch(info, list(contacts.values()), ("edges", "node", "contact"))
    return MembershipChangeConnection(
        edges=edges,
        page_info=page_info(edges, win),
        account_id=account_id,
        segment_id=segment_id,
        since=since,
        kind=kind,
    )
