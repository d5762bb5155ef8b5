"""Webhooks and their deliveries. A webhook's secret is shown once, by `webhookCreate`, and is
never a field here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from app.enums import DeliveryStatus, WebhookEvent
from app.filters.ids import to_global_id
from app.graphql.context import Info
from app.graphql.nodes import account_nodes
from app.graphql.pagination import Edge, id_page, page_info, page_request
from app.graphql.types.segment import SegmentType
from app.models import Webhook, WebhookDelivery
from app.services import webhooks

WEBHOOKS_KEY = "webhooks"
DELIVERIES_KEY = "deliveries"


@strawberry.type(name="WebhookDelivery")
class WebhookDeliveryType:
    id: strawberry.ID
    event: WebhookEvent
    status: DeliveryStatus
    attempts: int
    last_attempt_at: datetime | None
    response_status: int | None = strawberry.field(
        description="The HTTP status of the last attempt's answer, if one came."
    )
    error: str | None = strawberry.field(description="Why the last attempt failed, if it did.")
    created_at: datetime
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due, while the delivery is PENDING."
    )

    @classmethod
    def from_model(cls, delivery: WebhookDelivery) -> WebhookDeliveryType:
        return cls(
            id=strawberry.ID(to_global_id("WebhookDelivery", delivery.id)),
            event=delivery.event,
            status=delivery.status,
            attempts=delivery.attempts,
            last_attempt_at=delivery.last_attempt_at,
            response_status=delivery.response_status,
            error=delivery.error,
            created_at=delivery.created_at,
            next_attempt_at=delivery.next_attempt_at,
        )


@strawberry.type
class WebhookDeliveryEdge(Edge[WebhookDeliveryType]):
    pass


@strawberry.type
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: relay.PageInfo
    account_id: strawberry.Private[int]
    webhook_id: strawberry.Private[int]

    @strawberry.field(description="How many deliveries the webhook has, over all pages.")
    async def total_count(self) -> int:
        return await WebhookDelivery.filter(
            account_id=self.account_id, webhook_id=self.webhook_id
        ).count()


@strawberry.type(name="Webhook")
class WebhookType(relay.Node):
    id: relay.NodeID[int]
    url: str
    events: list[WebhookEvent]
    all_segments: bool = strawberry.field(
        description="Whether it hears about every segment (it was given none)."
    )
    created_at: datetime
    segment_ids: strawberry.Private[list[int]]

    @strawberry.field(
        description="The segments it hears about that still exist; empty when it hears about "
        "every segment (see allSegments)."
    )
    async def segments(self, info: Info) -> list[SegmentType]:
        if not self.segment_ids:
            return []
        by_id = {s.id: s for s in await info.context.loaders.segments()}
        return [SegmentType.from_model(by_id[pk]) for pk in self.segment_ids if pk in by_id]

    @strawberry.field(description="Its deliveries, newest first.")
    async def deliveries(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> WebhookDeliveryConnection:
        request = page_request(first, after, None, None, DELIVERIES_KEY)
        account_id, webhook_id = info.context.account.id, int(self.id)

        async def fetch(after_id: int | None, limit: int) -> list[WebhookDelivery]:
            return await webhooks.list_deliveries(account_id, webhook_id, after_id, limit)

        rows, win = await id_page(request, DELIVERIES_KEY, fetch)
        edges = [
            WebhookDeliveryEdge(cursor=cursor, node=WebhookDeliveryType.from_model(delivery))
            for cursor, delivery in rows
        ]
        return WebhookDeliveryConnection(
            edges=edges,
            page_info=page_info(edges, win),
            account_id=account_id,
            webhook_id=webhook_id,
        )

    @classmethod
    def from_model(cls, webhook: Webhook) -> WebhookType:
        segment_ids = [int(pk) for pk in webhook.segment_ids or []]
        return cls(
            id=webhook.id,
            url=webhook.url,
            events=[WebhookEvent(event) for event in webhook.events or []],
            all_segments=not segment_ids,
            created_at=webhook.created_at,
            segment_ids=segment_ids,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await account_nodes(Webhook, info, node_ids, cls.from_model)


@strawberry.type
class WebhookEdge(Edge[WebhookType]):
    pass


@strawberry.type
class WebhookConnection:
    edges: list[WebhookEdge]
    page_info: relay.PageInfo
    account_id: strawberry.Private[int]

    @strawberry.field(description="How many webhooks the account has.")
    async def total_count(self) -> int:
        return await Webhook.filter(account_id=self.account_id).count()


async def webhook_connection(info: Info, first: int | None, after: str | None) -> WebhookConnection:
    """The account's webhooks, newest first."""
    request = page_request(first, after, None, None, WEBHOOKS_KEY)
    account_id = info.context.account.id

    async def fetch(after_id: int | None, limit: int) -> list[Webhook]:
        return await webhooks.list_webhooks(account_id, after_id, limit)

    rows, win = await id_page(request, WEBHOOKS_KEY, fetch)
    edges = [
        WebhookEdge(cursor=cursor, node=WebhookType.from_model(webhook)) for cursor, webhook in rows
    ]
    return WebhookConnection(edges=edges, page_info=page_info(edges, win), account_id=account_id)
