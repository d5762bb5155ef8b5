"""Email events: recorded once per external id, and summarised on the contact in the same
transaction, so segment queries never aggregate raw events for these fields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tortoise.transactions import in_transaction

from app import clock
from app.db import connection, dialect
from app.engagement import refresh_contacts
from app.enums import EmailEventKind, SubscriptionStatus, UnsubscribeReason
from app.filters.sql import Sql, join, placeholders, render, sql, time_param
from app.models import Account, Contact
from app.services.batch import BatchResult, check_size, validate_all
from app.services.checks import check_time, clean_text, normalize_email, parse_enum
from app.services.counts import mark_counts_stale
from app.services.errors import ErrorCode, ItemError, ItemInvalid
from app.text import fold

ENGAGEMENT = (EmailEventKind.OPENED, EmailEventKind.CLICKED)

# The contact fields that apply_event may change.
ENGAGEMENT_FIELDS = [
    "last_opened_at",
    "last_clicked_at",
    "last_engaged_at",
    "last_sent_at",
    "last_soft_bounce_at",
    "hard_bounced_at",
    "subscription_status",
    "unsubscribe_reason",
]


@dataclass
class EventData:
    email: str
    kind: EmailEventKind | str
    occurred_at: datetime
    campaign: str | None = None
    external_id: str | None = None


@dataclass
class CleanEvent:
    """An event as checked and recorded."""

    email_lower: str
    kind: EmailEventKind
    occurred_at: datetime
    campaign: str | None
    external_id: str | None


def _later(current: datetime | None, moment: datetime) -> datetime:
    return moment if current is None or moment > current else current


def _after(moment: datetime, reference: datetime | None) -> bool:
    return reference is None or moment > reference


class Recipient(Protocol):
    """What apply_event reads and writes of a contact (a Contact, or the lean row below)."""

    subscription_status: SubscriptionStatus
    unsubscribe_reason: UnsubscribeReason | None
    subscribed_at: datetime | None
    last_engaged_at: datetime | None
    last_sent_at: datetime | None
    last_opened_at: datetime | None
    last_clicked_at: datetime | None
    last_soft_bounce_at: datetime | None
    hard_bounced_at: datetime | None


@dataclass
class _Recipient:
    """A contact as recording its events needs it: its id, its subscription, and the last
    engagement a hard bounce is compared with. The other times start empty: they are only
    compared within the batch, and SQL writes the real ones from the events afterwards."""

    id: int
    subscription_status: SubscriptionStatus
    unsubscribe_reason: UnsubscribeReason | None
    subscribed_at: datetime | None
    last_engaged_at: datetime | None
    last_sent_at: datetime | None = None
    last_opened_at: datetime | None = None
    last_clicked_at: datetime | None = None
    last_soft_bounce_at: datetime | None = None
    hard_bounced_at: datetime | None = None


async def _lock(account: Account, emails: set[str]) -> dict[str, _Recipient]:
    """The contacts by folded email, locked as app.services.contacts.lock_contacts does (id
    order, FOR NO KEY UPDATE), read as plain rows: a thousand ORM objects cost more than the
    rest of the batch's Python."""
    kind = dialect()
    statement = (
        sql(
            "SELECT id, email_lower, subscription_status, unsubscribe_reason, subscribed_at, "
            "last_engaged_at FROM contacts WHERE account_id = ? AND email_lower IN (",
            account.id,
        )
        + placeholders(sorted(emails))
        + Sql(") ORDER BY id" + (" FOR NO KEY UPDATE" if kind == "postgres" else ""))
    )
    rows = await connection().execute_query_dict(render(statement, kind), list(statement.params))
    return {
        row["email_lower"]: _Recipient(
            id=int(row["id"]),
            subscription_status=SubscriptionStatus(row["subscription_status"]),
            unsubscribe_reason=(
                UnsubscribeReason(row["unsubscribe_reason"]) if row["unsubscribe_reason"] else None
            ),
            subscribed_at=_time(row["subscribed_at"]),
            last_engaged_at=_time(row["last_engaged_at"]),
        )
        for row in rows
    }


def _time(value: datetime | str | None) -> datetime | None:
    # SQLite hands stored times back as text.
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def apply_event(contact: Recipient, kind: EmailEventKind, at: datetime) -> None:
    """One event's effect on the contact's latest times and subscription. Events may arrive out
    of order: each rule compares with the times already stored rather than assuming `at` is the
    latest. The counters and the flags are not set here: `refresh_contacts` recounts them from
    the events and applies the engagement rules (app.engagement) once the batch is stored."""
    if kind is EmailEventKind.SENT:
        contact.last_sent_at = _later(contact.last_sent_at, at)
    elif kind in ENGAGEMENT:
        if kind is EmailEventKind.OPENED:
            contact.last_opened_at = _later(contact.last_opened_at, at)
        else:
            contact.last_clicked_at = _later(contact.last_clicked_at, at)
        contact.last_engaged_at = _later(contact.last_engaged_at, at)
    elif kind is EmailEventKind.BOUNCED_HARD:
        contact.hard_bounced_at = _later(contact.hard_bounced_at, at)
        if _after(at, contact.last_engaged_at):
            _unsubscribe(contact, at, UnsubscribeReason.BOUNCED)
    elif kind is EmailEventKind.BOUNCED_SOFT:
        contact.last_soft_bounce_at = _later(contact.last_soft_bounce_at, at)
    elif kind is EmailEventKind.COMPLAINED:
        _unsubscribe(contact, at, UnsubscribeReason.MARKED_SPAM, override=True)
    elif kind is EmailEventKind.UNSUBSCRIBED:
        _unsubscribe(contact, at, UnsubscribeReason.OPTED_OUT)


def _unsubscribe(
    contact: Recipient, at: datetime, reason: UnsubscribeReason, *, override: bool = False
) -> None:
    # An event from before the latest opt-in doesn't undo that opt-in.
    if contact.subscribed_at is not None and at < contact.subscribed_at:
        return
    if contact.subscription_status is SubscriptionStatus.SUBSCRIBED:
        contact.subscription_status = SubscriptionStatus.UNSUBSCRIBED
        contact.unsubscribe_reason = reason
    elif override and contact.subscription_status is SubscriptionStatus.UNSUBSCRIBED:
        contact.unsubscribe_reason = reason


def _clean(item: EventData, now: datetime) -> CleanEvent:
    email = normalize_email(item.email)
    kind = parse_enum(EmailEventKind, item.kind, "kind", ErrorCode.UNKNOWN_EVENT_KIND)
    if item.occurred_at is None:
        raise ItemInvalid("occurred_at", "occurredAt is required.", ErrorCode.REQUIRED)
    occurred = check_time(item.occurred_at, "occurred_at", now)
    campaign = clean_text(item.campaign, "campaign", 200) or None
    external_id = clean_text(item.external_id, "external_id", 200) or None
    return CleanEvent(fold(email), kind, occurred, campaign, external_id)


async def record_events(
    account: Account, items: Sequence[EventData], now: datetime | None = None
) -> BatchResult[CleanEvent]:
    """Store the events and update their contacts; an already recorded external id (in the
    database or earlier in the batch) is counted as a duplicate and has no effect."""
    check_size(items)
    now = now or clock.now()
    result: BatchResult[CleanEvent] = BatchResult()
    valid = validate_all(items, lambda item: _clean(item, now), result.errors)
    if not valid:
        return result
    async with in_transaction():
        contacts = await _lock(account, {e.email_lower for _, e in valid})
        seen: set[str] = set()  # ids of this batch; the unique index decides about the rest
        fresh: list[tuple[_Recipient, CleanEvent]] = []
        for index, event in valid:
            contact = contacts.get(event.email_lower)
            if contact is None:
                result.errors.append(
                    ItemError(
                        index,
                        "email",
                        "No contact with this email; create it first.",
                        ErrorCode.CONTACT_NOT_FOUND,
                    )
                )
                continue
            if event.external_id is not None:
                if event.external_id in seen:
                    result.duplicates += 1
                    continue
                seen.add(event.external_id)
            fresh.append((contact, event))
        result.errors.sort(key=lambda err: err.index)
        stored = await _insert(account, fresh)
        # An id another request recorded since we looked: a duplicate, as if we had seen it.
        kept = [p for p in fresh if p[1].external_id is None or p[1].external_id in stored]
        result.duplicates += len(fresh) - len(kept)
        fresh = kept
        if not fresh:
            return result
        before = {c.id: (c.subscription_status, c.unsubscribe_reason) for c, _ in fresh}
        for contact, event in sorted(fresh, key=lambda pair: pair[1].occurred_at):
            apply_event(contact, event.kind, event.occurred_at)
        await _save_subscriptions(account, [c for c, _ in fresh], before)
        # The latest times and the counters are the events' own: SQL reads them back.
        await refresh_contacts(account, list(before), now)
        await mark_counts_stale(account.id)
    result.items = [event for _, event in fresh]
    return result


async def _save_subscriptions(
    account: Account,
    contacts: Sequence[_Recipient],
    before: dict[int, tuple[SubscriptionStatus, UnsubscribeReason | None]],
) -> None:
    """Write the subscriptions the batch changed (few): one UPDATE per new state."""
    groups: dict[tuple[SubscriptionStatus, UnsubscribeReason | None], set[int]] = {}
    for contact in contacts:
        state = (contact.subscription_status, contact.unsubscribe_reason)
        if state != before[contact.id]:
            groups.setdefault(state, set()).add(contact.id)
    for (status, reason), ids in sorted(groups.items(), key=lambda g: min(g[1])):
        await Contact.filter(account=account, id__in=sorted(ids)).update(
            subscription_status=status, unsubscribe_reason=reason
        )


_INSERT_ROWS = 500  # SQLite: six parameters a row, well within its limit


async def _insert(account: Account, fresh: list[tuple[_Recipient, CleanEvent]]) -> set[str]:
    """Insert the events, skipping any whose external id exists by now (recorded before, or
    by a concurrent batch since): the unique index decides. The external ids it stored."""
    columns = "account_id, contact_id, kind, campaign, occurred_at, external_id"
    conflict = " ON CONFLICT (account_id, external_id) DO NOTHING RETURNING external_id"
    kind = dialect()
    if kind == "postgres":
        # Six arrays, whatever the batch's size: one statement that parses and binds fast.
        statement = sql(
            f"INSERT INTO email_events ({columns}) SELECT ?, * FROM unnest("
            "?::bigint[], ?::text[], ?::text[], ?::timestamptz[], ?::text[])" + conflict,
            account.id,
            [contact.id for contact, _ in fresh],
            [event.kind.value for _, event in fresh],
            [event.campaign for _, event in fresh],
            [event.occurred_at for _, event in fresh],
            [event.external_id for _, event in fresh],
        )
        statements = [statement]
    else:
        statements = [
            Sql(f"INSERT INTO email_events ({columns}) VALUES ")
            + join(
                ", ",
                (
                    sql(
                        "(?, ?, ?, ?, ?, ?)",
                        account.id,
                        contact.id,
                        event.kind.value,
                        event.campaign,
                        time_param(event.occurred_at, kind),
                        event.external_id,
                    )
                    for contact, event in fresh[start : start + _INSERT_ROWS]
                ),
            )
            + Sql(conflict)
            for start in range(0, len(fresh), _INSERT_ROWS)
        ]
    stored: set[str] = set()
    for statement in statements:
        rows = await connection().execute_query_dict(
            render(statement, kind), list(statement.params)
        )
        stored.update(row["external_id"] for row in rows if row["external_id"] is not None)
    return stored
