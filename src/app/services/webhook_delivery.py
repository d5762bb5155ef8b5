"""Sending a webhook's deliveries: one task per webhook at a time (its send lease), oldest first,
each attempt signed and recorded. A failed attempt schedules the next one with a growing,
jittered delay and stops this webhook's sending until then, so a receiver that is down costs
one attempt per retry step, not one per delivery, and never holds up other webhooks.

At least once: a worker that dies mid-attempt leaves the delivery PENDING and the lease to
expire; the sweep sends the task again and the same body (the same `id`) goes out again."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from tortoise.expressions import Q

from app import clock, settings
from app.enums import DeliveryStatus
from app.models import Webhook, WebhookDelivery
from app.services import tasks
from app.services.webhook_address import AddressRefused, check_url
from app.settings import Settings

log = logging.getLogger(__name__)

USER_AGENT = "Segments-Webhooks/1"
SIGNATURE_HEADER = "Segments-Signature"
MAX_RETRY_DELAY_S = 3600


def sign(secret: str, timestamp: int, body: str) -> str:
    """The signature header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def retry_delay(attempts: int, base_s: int, rng: random.Random | None = None) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base * 2^(attempts-1), capped at an
    hour, of which a random half is taken off (receivers coming back are not hit all at once)."""
    full = min(base_s * 2 ** min(max(attempts - 1, 0), 30), MAX_RETRY_DELAY_S)
    return timedelta(seconds=full / 2 + (rng or random).uniform(0, full / 2))


def lease_length(config: Settings) -> timedelta:
    """Longer than one attempt (the resolution and the request share `webhook_timeout_s`,
    the writes around it take a moment); renewed before each attempt."""
    return timedelta(seconds=2 * config.webhook_timeout_s + 5)


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    response_status: int | None = None
    error: str | None = None


async def attempt(client: httpx.AsyncClient, url: str, secret: str, body: str) -> Outcome:
    """POST the body once to a checked address of the URL's host; what came of it."""
    config = settings.current()
    limit = config.webhook_timeout_s
    try:
        async with asyncio.timeout(limit):
            target = await check_url(url, config)
            parsed = httpx.URL(url)
            headers = {
                "Host": parsed.netloc.decode("ascii"),
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: sign(secret, int(clock.now().timestamp()), body),
            }
            # Connect to the address just checked; TLS still names (and verifies) the host.
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            async with client.stream(
                "POST",
                parsed.copy_with(host=target.addresses[0]),
                content=body.encode(),
                headers=headers,
                extensions=extensions,
            ) as response:
                status = response.status_code  # the body is never read
    except AddressRefused as exc:
        return Outcome(False, error=f"address not allowed: {exc}")
    except (TimeoutError, httpx.TimeoutException):
        return Outcome(False, error=f"timed out after {limit} s")
    except httpx.ConnectError:
        return Outcome(False, error="could not connect")
    except httpx.HTTPError as exc:
        return Outcome(False, error=f"request failed ({type(exc).__name__})")
    finally:
        client.cookies.clear()
    if 200 <= status < 300:
        return Outcome(True, status)
    if 300 <= status < 400:
        return Outcome(False, status, f"redirect ({status}) not followed")
    return Outcome(False, status, f"HTTP {status}")


def new_client(config: Settings) -> httpx.AsyncClient:
    # No proxies from the environment (they would connect elsewhere than the checked address).
    return httpx.AsyncClient(
        follow_redirects=False, trust_env=False, timeout=httpx.Timeout(config.webhook_timeout_s)
    )


async def deliver(webhook_id: int) -> None:
    """Send the webhook's due deliveries in order, holding its send lease; stop at the first
    failure (its retry is scheduled) or when none is due."""
    config = settings.current()
    lease = Lease(webhook_id, lease_length(config))
    hook = await Webhook.get_or_none(id=webhook_id)
    if hook is None or not await lease.claim():
        return  # deleted, or another task sends it
    account_id: int = hook.account_id  # type: ignore[attr-defined]
    try:
        async with new_client(config) as client:
            while await lease.renew():
                delivery = await _oldest_pending(account_id, webhook_id)
                if delivery is None or not _due(delivery, clock.now()):
                    break  # none left, or the oldest waits for its retry (already scheduled)
                retry_at = await _send_one(client, hook, delivery, config)
                if retry_at is not None:
                    await tasks.deliver_webhook.send_later(
                        max(retry_at - clock.now(), timedelta(seconds=1)), webhook_id
                    )
                    return
    finally:
        held_to_the_end = await lease.release()
    # A delivery written while this task was finishing had its own task turned away by the
    # lease: look once more now that it is free.
    if held_to_the_end:
        head = await _oldest_pending(account_id, webhook_id)
        if head is not None and _due(head, clock.now()):
            await tasks.deliver_webhook.send(webhook_id)


async def _oldest_pending(account_id: int, webhook_id: int) -> WebhookDelivery | None:
    return (
        await WebhookDelivery.filter(
            account_id=account_id, webhook_id=webhook_id, status=DeliveryStatus.PENDING
        )
        .order_by("id")
        .first()
    )


def _due(delivery: WebhookDelivery, now: datetime) -> bool:
    return delivery.next_attempt_at is None or delivery.next_attempt_at <= now


async def _send_one(
    client: httpx.AsyncClient, hook: Webhook, delivery: WebhookDelivery, config: Settings
) -> datetime | None:
    """One attempt, recorded; when the delivery will be tried again (None: it is done)."""
    started = clock.now()
    attempts = delivery.attempts + 1
    # Counted before sending: an attempt cut short by a dying worker still shows.
    await WebhookDelivery.filter(id=delivery.id).update(attempts=attempts, last_attempt_at=started)
    outcome = await attempt(client, hook.url, hook.secret, delivery.body)
    now = clock.now()
    retry_at: datetime | None = None
    if outcome.delivered:
        status = DeliveryStatus.DELIVERED
    elif now - delivery.created_at >= timedelta(seconds=config.webhook_retry_for_s):
        status = DeliveryStatus.FAILED
    else:
        status = DeliveryStatus.PENDING
        retry_at = now + retry_delay(attempts, config.webhook_retry_base_s)
    await WebhookDelivery.filter(id=delivery.id).update(
        status=status,
        response_status=outcome.response_status,
        error=outcome.error,
        next_attempt_at=retry_at,
    )
    if not outcome.delivered:
        log.info(
            "webhook %s delivery %s attempt %d: %s", hook.id, delivery.id, attempts, outcome.error
        )
    return retry_at


class Lease:
    """The webhook's `sending_until`: taken if free or expired, renewed and released only while
    it still holds the value this holder wrote (a holder whose lease expired and was taken
    over stops at its next renewal)."""

    def __init__(self, webhook_id: int, length: timedelta) -> None:
        self.webhook_id, self.length = webhook_id, length
        self.until: datetime | None = None

    async def claim(self) -> bool:
        now = clock.now()
        until = now + self.length
        taken = await Webhook.filter(
            Q(sending_until__isnull=True) | Q(sending_until__lt=now), id=self.webhook_id
        ).update(sending_until=until)
        self.until = until if taken else None
        return bool(taken)

    async def renew(self) -> bool:
        if self.until is None:
            return False
        until = clock.now() + self.length
        renewed = await Webhook.filter(id=self.webhook_id, sending_until=self.until).update(
            sending_until=until
        )
        self.until = until if renewed else None
        return bool(renewed)

    async def release(self) -> bool:
        """Give the lease up; whether it was still held."""
        if self.until is None:
            return False
        released = await Webhook.filter(id=self.webhook_id, sending_until=self.until).update(
            sending_until=None
        )
        self.until = None
        return bool(released)


async def due_webhooks(now: datetime, limit: int = 1000) -> list[int]:
    """Webhooks with a delivery due and nobody sending them (for the sweep)."""
    due = (
        await WebhookDelivery.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .distinct()
        .limit(limit)
        .values_list("webhook_id", flat=True)
    )
    ids = [int(str(pk)) for pk in due]
    if not ids:
        return []
    free = await Webhook.filter(
        Q(sending_until__isnull=True) | Q(sending_until__lt=now), id__in=ids
    ).values_list("id", flat=True)
    return sorted(int(str(pk)) for pk in free)
