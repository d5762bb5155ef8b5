"""segmentSnapshotCreate, webhookCreate, webhookDelete."""

from __future__ import annotations

import strawberry

from app.enums import WebhookEvent
from app.filters.ids import from_global_id
from app.graphql.context import Info
from app.graphql.errors import UserError, from_domain, user_error
from app.graphql.mutations.common import pk_of
from app.graphql.types.snapshot import SegmentSnapshotType
from app.graphql.types.webhook import WebhookType
from app.services import snapshots, webhooks
from app.services.errors import DomainError, ErrorCode


@strawberry.input
class WebhookInput:
    url: str
    events: list[WebhookEvent]
    segments: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The segments it hears about; empty or omitted: every segment."
    )


@strawberry.type
class SegmentSnapshotPayload:
    snapshot: SegmentSnapshotType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookPayload:
    webhook: WebhookType | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The key of the deliveries' signatures: shown here, once, and never again.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookDeletePayload:
    deleted_webhook_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AutomationMutations:
    @strawberry.mutation(
        description="Freeze the segment's members now, for a campaign send; the snapshot "
        "expires after the account's retention."
    )
    async def segment_snapshot_create(
        self, info: Info, id: strawberry.ID
    ) -> SegmentSnapshotPayload:
        try:
            snapshot = await snapshots.create_snapshot(
                info.context.account.id, pk_of(id, "Segment")
            )
        except DomainError as exc:
            return SegmentSnapshotPayload(user_errors=[from_domain(exc)])
        return SegmentSnapshotPayload(snapshot=SegmentSnapshotType.from_model(snapshot))

    @strawberry.mutation(
        description="Subscribe a URL to events; the payload shows the signing secret, once."
    )
    async def webhook_create(self, info: Info, input: WebhookInput) -> WebhookPayload:
        given = input.segments or []
        keys = [from_global_id(str(gid), "Segment") for gid in given]
        bad = [
            user_error(ErrorCode.NOT_FOUND, "No such segment.", ("input", "segments", str(i)))
            for i, pk in enumerate(keys)
            if pk is None
        ]
        if bad:
            return WebhookPayload(user_errors=bad)
        try:
            webhook, secret = await webhooks.create_webhook(
                info.context.account.id,
                input.url,
                list(input.events),
                [pk for pk in keys if pk is not None],
            )
        except DomainError as exc:
            return WebhookPayload(user_errors=[from_domain(exc)])
        return WebhookPayload(webhook=WebhookType.from_model(webhook), secret=secret)

    @strawberry.mutation(description="Delete a webhook and its deliveries; needs confirm: true.")
    async def webhook_delete(
        self, info: Info, id: strawberry.ID, confirm: bool
    ) -> WebhookDeletePayload:
        try:
            await webhooks.delete_webhook(
                info.context.account.id, pk_of(id, "Webhook"), confirm=confirm
            )
        except DomainError as exc:
            return WebhookDeletePayload(user_errors=[from_domain(exc)])
        return WebhookDeletePayload(deleted_webhook_id=id)
