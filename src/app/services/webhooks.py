"""Webhooks: created with a secret shown once, deleted with their deliveries, listed by id."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from app import clock, settings
from app.db import id_set
from app.enums import WebhookEvent
from app.limits import MAX_WEBHOOKS
from app.models import Segment, Webhook, WebhookDelivery
from app.services.errors import DomainError, ErrorCode
from app.services.webhook_address import AddressRefused, check_url
from app.services.webhook_events import listening, skip_unheard_changes

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
LISTED_DELIVERY_FIELDS = (
    "id",
    "account_id",
    "webhook_id",
    "event",
    "event_id",
    "status",
    "attempts",
    "next_attempt_at",
    "last_attempt_at",
    "response_status",
    "error",
    "created_at",
)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_hex(32)


async def create_webhook(
    account_id: int, url: str, events: Sequence[WebhookEvent], segment_ids: Sequence[int]
) -> tuple[Webhook, str]:
    """A new webhook of the account and its secret (which only this call returns). An id in
    `segment_ids` that names no segment of the account (0 for an ID naming nothing) is an error
    at its index."""
    if not events:
        raise DomainError(ErrorCode.REQUIRED, "Choose at least one event.", ("input", "events"))
    if len(set(events)) != len(events):
        raise DomainError(ErrorCode.INVALID, "An event is listed twice.", ("input", "events"))
    await _check_segments(account_id, segment_ids)
    try:
        await check_url(url, settings.current())
    except AddressRefused as exc:
        raise DomainError(ErrorCode.URL_NOT_ALLOWED, str(exc), ("input", "url")) from None
    if await Webhook.filter(account_id=account_id).count() >= MAX_WEBHOOKS:
        raise DomainError(
            ErrorCode.LIMIT_REACHED,
            f"An account can have at most {MAX_WEBHOOKS} webhooks; delete one first.",
            ("input", "url"),
        )
    secret = new_secret()
    webhook = await Webhook.create(
        account_id=account_id,
        url=url,
        events=[WebhookEvent(e).value for e in events],
        segment_ids=list(dict.fromkeys(segment_ids)),
        secret=secret,
        created_at=clock.now(),
    )
    if WebhookEvent.SEGMENT_MEMBERSHIP_CHANGED in events:
        await _start_listening(webhook)
    return webhook, secret


async def _start_listening(webhook: Webhook) -> None:
    """A new webhook hears the changes recorded after it: the segments it is the first to
    listen to have their markers moved past what came before."""
    account_id = webhook.account_id  # type: ignore[attr-defined]
    event = WebhookEvent.SEGMENT_MEMBERSHIP_CHANGED
    others = listening(await Webhook.filter(account_id=account_id).exclude(id=webhook.id), event)
    if any(not hook.segment_ids for hook in others):
        return  # every segment already has a listener
    heard = {pk for hook in others for pk in hook.segment_ids}
    mine = webhook.segment_ids or await id_set(Segment.filter(account_id=account_id))
    await skip_unheard_changes(account_id, sorted(int(pk) for pk in mine if pk not in heard))


async def _check_segments(account_id: int, segment_ids: Sequence[int]) -> None:
    wanted = {pk for pk in segment_ids if pk > 0}
    found = await id_set(Segment.filter(account_id=account_id, id__in=wanted)) if wanted else set()
    for index, pk in enumerate(segment_ids):
        if pk not in found:
            raise DomainError(
                ErrorCode.NOT_FOUND, "No such segment.", ("input", "segments", str(index))
            )


async def delete_webhook(account_id: int, webhook_id: int, *, confirm: bool) -> None:
    """Delete the webhook and its deliveries (ON DELETE CASCADE); a delivery under way
    finishes its attempt and records nothing."""
    if not confirm:
        raise DomainError(
            ErrorCode.CONFIRMATION_REQUIRED,
            "Deleting a webhook drops its pending deliveries: send confirm: true to delete it.",
            ("confirm",),
        )
    deleted = await Webhook.filter(account_id=account_id, id=webhook_id).delete()
    if not deleted:
        raise DomainError(ErrorCode.NOT_FOUND, "No such webhook.", ("id",))


async def list_webhooks(account_id: int, after_id: int | None, limit: int) -> list[Webhook]:
    """The account's webhooks, newest first, after the one with `after_id` (keyset by id)."""
    query = Webhook.filter(account_id=account_id)
    if after_id is not None:
        query = query.filter(id__lt=after_id)
    return await query.order_by("-id").limit(limit)


async def list_deliveries(
    account_id: int, webhook_id: int, after_id: int | None, limit: int
) -> list[WebhookDelivery]:
    """A webhook's deliveries, newest first, after the one with `after_id` (keyset by id)."""
    query = WebhookDelivery.filter(account_id=account_id, webhook_id=webhook_id)
    if after_id is not None:
        query = query.filter(id__lt=after_id)
    # Without the body (up to a thousand ids each): a page shows none of it.
    return await query.order_by("-id").limit(limit).only(*LISTED_DELIVERY_FIELDS)
