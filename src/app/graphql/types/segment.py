"""Segments: the six defaults and custom ones, with their cached count, history, members and
explanations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from app.enums import DefaultSegment, MembershipChangeKind, SegmentKind
from app.filters.ids import from_global_id
from app.graphql.context import Info
from app.graphql.errors import PublicError
from app.graphql.nodes import account_nodes
from app.graphql.types.contact import ContactConnection, ContactOrder, contact_connection
from app.graphql.types.membership import MembershipChangeConnection, changes_connection
from app.models import Segment
from app.services import counts
from app.services import segments as service
from app.services.errors import DomainError

MAX_HISTORY_DAYS = 366


@strawberry.type
class SegmentCount:
    value: int | None = strawberry.field(description="Null until the segment is first counted.")
    computed_at: datetime | None
    is_stale: bool


@strawberry.type
class SegmentCountPoint:
    date: date
    count: int


@strawberry.type
class ConditionResult:
    path: list[str]
    description: str
    matches: bool


@strawberry.type
class SegmentExplanation:
    matches: bool
    conditions: list[ConditionResult]


@strawberry.type(name="Segment")
class SegmentType(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str | None
    kind: SegmentKind
    default_key: DefaultSegment | None
    created_at: datetime | None
    updated_at: datetime | None
    model: strawberry.Private[Segment]

    @strawberry.field(description="The saved filter, shaped as the ContactFilter input.")
    def filter(self) -> JSON | None:
        return cast(JSON | None, service.filter_input(self.model))

    @strawberry.field(
        description="The cached count: reading it never counts; the workers keep it fresh."
    )
    def count(self, info: Info) -> SegmentCount:
        state = counts.count_state(self.model, info.context.now)
        return SegmentCount(
            value=state.value, computed_at=state.computed_at, is_stale=state.is_stale
        )

    @strawberry.field(description="One point a day, oldest first.")
    async def history(self, info: Info, days: int | None = 90) -> list[SegmentCountPoint]:
        days = 90 if days is None else days
        if not 1 <= days <= MAX_HISTORY_DAYS:
            raise PublicError(f"days must be between 1 and {MAX_HISTORY_DAYS}.")
        points = await counts.history(self.model, days, info.context.now.astimezone(UTC).date())
        return [SegmentCountPoint(date=day, count=count) for day, count in points]

    @strawberry.field
    async def members(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order_by: ContactOrder | None = None,
    ) -> ContactConnection:
        tree = service.segment_filter(self.model)
        return await contact_connection(info, tree, order_by, first, after, last, before)

    @strawberry.field(
        description="Who entered and left the segment, oldest first: each computation of its "
        "members (the nightly run, a count refresh) records the difference from the previous one."
    )
    async def changes(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        since: datetime | None = None,
        kind: MembershipChangeKind | None = None,
    ) -> MembershipChangeConnection:
        return await changes_connection(info, self.model.id, first, after, since, kind)

    @strawberry.field(description="Does the segment hold this contact, and why, per condition.")
    async def explain(self, info: Info, contact_id: strawberry.ID) -> SegmentExplanation:
        pk = from_global_id(str(contact_id), "Contact")
        if pk is None:
            raise PublicError("contactId is not the ID of a contact.", "NOT_FOUND")
        try:
            result = await service.explain(info.context.account, self.model, pk, info.context.now)
        except DomainError as exc:
            raise PublicError(exc.message, str(exc.code)) from None
        return SegmentExplanation(
            matches=result.matches,
            conditions=[
                ConditionResult(path=list(c.path), description=c.description, matches=c.matches)
                for c in result.conditions
            ],
        )

    @classmethod
    def from_model(cls, segment: Segment) -> SegmentType:
        return cls(
            id=segment.id,
            name=segment.name,
            description=segment.description,
            kind=segment.kind,
            default_key=segment.default_key,
            created_at=segment.created_at,
            updated_at=segment.updated_at,
            model=segment,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await account_nodes(Segment, info, node_ids, cls.from_model)
