"""Bulk jobs, polled for progress."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from app.enums import JobStatus
from app.graphql.context import Info
from app.graphql.nodes import account_nodes
from app.models import BulkJob


@strawberry.type(name="BulkJob")
class BulkJobType(relay.Node):
    id: relay.NodeID[int]
    kind: str
    status: JobStatus
    processed: int
    total: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_model(cls, job: BulkJob) -> BulkJobType:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            processed=job.processed,
            total=job.total,
            error=job.error,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await account_nodes(BulkJob, info, node_ids, cls.from_model)
