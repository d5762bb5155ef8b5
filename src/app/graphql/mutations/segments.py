"""segmentCreate, segmentUpdate, segmentDelete, segmentTag, segmentRefreshCount."""

from __future__ import annotations

import strawberry

from app.graphql.context import Info
from app.graphql.errors import UserError, from_domain
from app.graphql.inputs.filter import ContactFilter
from app.graphql.inputs.plain import plain
from app.graphql.mutations.common import pk_of
from app.graphql.types.job import BulkJobType
from app.graphql.types.segment import SegmentType
from app.services import counts, tasks
from app.services import segments as service
from app.services.errors import DomainError
from app.services.jobs import start_recompute_job, start_tag_job


@strawberry.input
class SegmentInput:
    name: str
    description: str | None = None
    filter: ContactFilter


@strawberry.type
class SegmentPayload:
    segment: SegmentType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SegmentDeletePayload:
    deleted_segment_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BulkJobPayload:
    job: BulkJobType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SegmentMutations:
    @strawberry.mutation(description="Save a filter as a custom segment; its count is refreshed.")
    async def segment_create(self, info: Info, input: SegmentInput) -> SegmentPayload:
        try:
            segment = await service.create_segment(
                info.context.account,
                name=input.name,
                description=input.description,
                filter_input=plain(input.filter),
            )
        except DomainError as exc:
            return SegmentPayload(user_errors=[from_domain(exc)])
        return SegmentPayload(segment=SegmentType.from_model(segment))

    @strawberry.mutation
    async def segment_update(
        self, info: Info, id: strawberry.ID, input: SegmentInput
    ) -> SegmentPayload:
        try:
            segment = await service.update_segment(
                info.context.account,
                pk_of(id, "Segment"),
                name=input.name,
                description=input.description,
                filter_input=plain(input.filter),
            )
        except DomainError as exc:
            return SegmentPayload(user_errors=[from_domain(exc)])
        return SegmentPayload(segment=SegmentType.from_model(segment))

    @strawberry.mutation(description="Delete a custom segment for good; needs confirm: true.")
    async def segment_delete(
        self, info: Info, id: strawberry.ID, confirm: bool
    ) -> SegmentDeletePayload:
        try:
            await service.delete_segment(
                info.context.account, pk_of(id, "Segment"), confirm=confirm
            )
        except DomainError as exc:
            return SegmentDeletePayload(user_errors=[from_domain(exc)])
        return SegmentDeletePayload(deleted_segment_id=id)

    @strawberry.mutation(description="Tag (and untag) every member of the segment, as a job.")
    async def segment_tag(
        self,
        info: Info,
        id: strawberry.ID,
        add: list[str] | None = None,
        remove: list[str] | None = None,
    ) -> BulkJobPayload:
        try:
            job = await start_tag_job(
                info.context.account, pk_of(id, "Segment"), add or [], remove or []
            )
        except DomainError as exc:
            return BulkJobPayload(user_errors=[from_domain(exc)])
        return BulkJobPayload(job=BulkJobType.from_model(job))

    @strawberry.mutation(description="Ask for a fresh count; the count field shows it when done.")
    async def segment_refresh_count(self, info: Info, id: strawberry.ID) -> SegmentPayload:
        try:
            segment = await service.get_segment(info.context.account, pk_of(id, "Segment"))
        except DomainError as exc:
            return SegmentPayload(user_errors=[from_domain(exc)])
        # Marked first: if the task is lost, the sweep still refreshes it.
        await counts.mark_stale(info.context.account.id, segment.id)
        segment.count_stale = True
        await tasks.refresh_segment_count.send(info.context.account.id, segment.id)
        return SegmentPayload(segment=SegmentType.from_model(segment))

    @strawberry.mutation(
        description="Run the nightly work of this account now (flags, then every count), as a job."
    )
    async def account_recompute(self, info: Info) -> BulkJobPayload:
        job = await start_recompute_job(info.context.account)
        return BulkJobPayload(job=BulkJobType.from_model(job))
