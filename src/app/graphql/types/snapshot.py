"""Segment snapshots: a segment's members frozen for a campaign send, paged by contact id."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from app.graphql.context import Info
from app.graphql.nodes import account_nodes
from app.graphql.pagination import page_request
from app.graphql.types.contact import ContactConnection, id_page_connection
from app.graphql.types.segment import SegmentType
from app.models import SegmentSnapshot
from app.services import snapshots

ORDER_KEY = "snapshot_members"


@strawberry.type(name="SegmentSnapshot")
class SegmentSnapshotType(relay.Node):
    id: relay.NodeID[int]
    count: int = strawberry.field(description="The members frozen when it was taken.")
    created_at: datetime
    expires_at: datetime = strawberry.field(description="When it is removed, with its members.")
    segment_pk: strawberry.Private[int | None]

    @strawberry.field(description="The segment it froze; null once that segment is deleted.")
    async def segment(self, info: Info) -> SegmentType | None:
        if self.segment_pk is None:
            return None
        found = {s.id: s for s in await info.context.loaders.segments()}.get(self.segment_pk)
        return SegmentType.from_model(found) if found is not None else None

    @strawberry.field(
        description="The frozen members that still exist, by contact id: the same pages "
        "however the segment and its contacts change (an erased contact drops out)."
    )
    async def members(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> ContactConnection:
        request = page_request(first, after, None, None, ORDER_KEY)
        account_id, snapshot_id = info.context.account.id, int(self.id)
        ids = (
            await snapshots.member_ids(
                account_id,
                snapshot_id,
                after_contact_id=request.cursor.id if request.cursor else None,
                limit=request.size + 1,
            )
            if request.size
            else []
        )

        async def counter() -> int:
            return await snapshots.count_members(account_id, snapshot_id)

        return await id_page_connection(info, ids, request, ORDER_KEY, counter)

    @classmethod
    def from_model(cls, snapshot: SegmentSnapshot) -> SegmentSnapshotType:
        return cls(
            id=snapshot.id,
            count=snapshot.count,
            created_at=snapshot.created_at,
            expires_at=snapshot.expires_at,
            segment_pk=snapshot.segment_id,  # type: ignore[attr-defined]
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await account_nodes(SegmentSnapshot, info, node_ids, cls.from_model)
