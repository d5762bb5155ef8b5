"""Contacts: upsert by email (case-insensitive), tag and untag."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app import clock, limits
from app.db import connection, dialect
from app.engagement import apply_rules
from app.enums import EmailRisk, SubscriptionStatus, UnsubscribeReason
from app.filters.sql import Sql, placeholders, render, sql
from app.models import Account, Contact, ContactTag, Tag
from app.services.batch import BatchResult, check_size, validate_all
from app.services.checks import (
    check_date,
    check_time,
    clean_custom_fields,
    clean_text,
    normalize_email,
    parse_enum,
)
from app.services.counts import mark_counts_stale
from app.services.errors import DomainError, ErrorCode, ItemError, ItemInvalid
from app.text import fold

# Tries of the upsert transaction when a concurrent call creates one of its emails first.
_UPSERT_ATTEMPTS = 3


class _Unset(Enum):
    UNSET = "UNSET"


UNSET = _Unset.UNSET
Unset = Literal[_Unset.UNSET]


@dataclass
class ContactData:
    """One contact to create or update. UNSET leaves a stored value alone; None clears it."""

    email: str
    first_name: str | Unset | None = UNSET
    last_name: str | Unset | None = UNSET
    subscription_status: SubscriptionStatus | str | Unset = UNSET
    unsubscribe_reason: UnsubscribeReason | str | Unset | None = UNSET
    email_risk: EmailRisk | str | Unset = UNSET
    birth_date: date | Unset | None = UNSET
    country: str | Unset | None = UNSET
    # Merged into the stored object; a key given as null is removed.
    custom_fields: dict[str, Any] | Unset = UNSET
    tags: list[str] = field(default_factory=list)
    # Known from elsewhere (an import): when the contact opted in, and since when it exists.
    # The opt-in time is used when this call subscribes the contact; the creation time moves
    # a stored one earlier, never later.
    subscribed_at: datetime | Unset = UNSET
    created_at: datetime | Unset = UNSET
    # A SUBSCRIBED that the data only implies (an import of a subscriber list) never
    # re-subscribes a contact who unsubscribed here.
    keep_unsubscribed: bool = False


@dataclass
class _CleanContact:
    email: str
    email_lower: str
    values: dict[str, Any]
    custom_fields: dict[str, Any] | None
    tags: list[str]
    keep_unsubscribed: bool = False


def clean_tag_names(names: Sequence[str], field_name: str = "tags") -> list[str]:
    """Clean, non-empty, case-insensitively unique tag names, first spelling kept; at most
    MAX_TAGS_PER_CALL of them."""
    if len(names) > limits.MAX_TAGS_PER_CALL:
        raise ItemInvalid(
            field_name,
            f"At most {limits.MAX_TAGS_PER_CALL} tags at a time; got {len(names)}.",
            ErrorCode.TOO_LONG,
        )
    seen: dict[str, str] = {}
    for raw in names:
        name = clean_text(raw, field_name, limits.MAX_NAME) or ""
        if not name:
            raise ItemInvalid(field_name, "Tag names may not be empty.", ErrorCode.REQUIRED)
        seen.setdefault(fold(name), name)
    return list(seen.values())


def _clean(item: ContactData, now: datetime) -> _CleanContact:
    email = normalize_email(item.email)
    values: dict[str, Any] = {}
    for name, limit in (
        ("first_name", limits.MAX_NAME),
        ("last_name", limits.MAX_NAME),
        ("country", limits.MAX_COUNTRY),
    ):
        raw = getattr(item, name)
        if raw is not UNSET:
            values[name] = clean_text(raw, name, limit) or None
    status: SubscriptionStatus | None = None
    if item.subscription_status is not UNSET:
        status = parse_enum(SubscriptionStatus, item.subscription_status, "subscription_status")
        values["subscription_status"] = status
    if item.unsubscribe_reason is not UNSET and item.unsubscribe_reason is not None:
        reason = parse_enum(UnsubscribeReason, item.unsubscribe_reason, "unsubscribe_reason")
        if status is not None and status is not SubscriptionStatus.UNSUBSCRIBED:
            raise ItemInvalid(
                "unsubscribe_reason",
                "An unsubscribe reason only goes with subscriptionStatus UNSUBSCRIBED.",
            )
        values["unsubscribe_reason"] = reason
    if item.email_risk is not UNSET:
        values["email_risk"] = parse_enum(EmailRisk, item.email_risk, "email_risk")
    if item.birth_date is not UNSET:
        if item.birth_date is not None:
            check_date(item.birth_date, "birth_date")
            if item.birth_date > clock.now().date():
                raise ItemInvalid("birth_date", "A birth date can't be in the future.")
        values["birth_date"] = item.birth_date
    for name in ("created_at", "subscribed_at"):
        moment = getattr(item, name)
        if moment is not UNSET:
            values[name] = check_time(moment, name, now)
    custom: dict[str, Any] | None = None
    if item.custom_fields is not UNSET:
        custom = clean_custom_fields(item.custom_fields)
    tags = clean_tag_names(item.tags)
    return _CleanContact(email, fold(email), values, custom, tags, item.keep_unsubscribed)


def _apply(contact: Contact, clean: _CleanContact, now: datetime) -> None:
    """Set the given profile fields, keeping the subscription bookkeeping consistent. Checks
    before it changes anything, so a rejected item leaves the contact as it was."""
    values = dict(clean.values)
    status = values.pop("subscription_status", None)
    reason = values.pop("unsubscribe_reason", None)
    subscribed_at = values.pop("subscribed_at", None)
    created_at = values.pop("created_at", None)
    if (
        clean.keep_unsubscribed
        and status is SubscriptionStatus.SUBSCRIBED
        and contact.subscription_status is SubscriptionStatus.UNSUBSCRIBED
    ):
        status = None
    effective = status or contact.subscription_status
    if reason is not None and effective is not SubscriptionStatus.UNSUBSCRIBED:
        raise ItemInvalid(
            "unsubscribe_reason", "An unsubscribe reason only goes with an unsubscribed contact."
        )
    merged: dict[str, Any] | None = None
    if clean.custom_fields is not None:
        merged = dict(contact.custom_fields or {})
        for key, value in clean.custom_fields.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        merged = clean_custom_fields(merged)  # the bounds hold for the merged whole too
    for name, value in values.items():
        setattr(contact, name, value)
    if status is not None and status is not contact.subscription_status:
        contact.subscription_status = status
        contact.unsubscribe_reason = None
        if status is SubscriptionStatus.SUBSCRIBED:
            contact.subscribed_at = subscribed_at or now
        if status is SubscriptionStatus.UNSUBSCRIBED:
            contact.unsubscribe_reason = UnsubscribeReason.MANUAL
    if reason is not None:
        contact.unsubscribe_reason = reason
    if merged is not None:
        contact.custom_fields = merged
    if created_at is not None and created_at < contact.created_at:
        contact.created_at = created_at


_PROFILE_FIELDS = [
    "email",
    "first_name",
    "last_name",
    "subscription_status",
    "subscribed_at",
    "unsubscribe_reason",
    "email_risk",
    "birth_date",
    "country",
    "custom_fields",
    "updated_at",
]


async def upsert_contacts(
    account: Account, items: Sequence[ContactData], now: datetime | None = None
) -> BatchResult[Contact]:
    """Create or update contacts by email, in input order; an email given twice is merged."""
    check_size(items)
    now = now or clock.now()
    result: BatchResult[Contact] = BatchResult()
    valid = validate_all(items, lambda item: _clean(item, now), result.errors)
    if not valid:
        return result
    checked = list(result.errors)
    for attempt in range(1, _UPSERT_ATTEMPTS + 1):
        result.errors = list(checked)
        try:
            result.items = await _upsert(account, valid, now, result.errors)
            break
        except IntegrityError:
            # A concurrent call created one of these emails after we looked (PostgreSQL
            # reports the clash once that call has committed): look again and update it.
            if attempt == _UPSERT_ATTEMPTS:
                raise
    result.errors.sort(key=lambda err: err.index)
    return result


async def _upsert(
    account: Account, valid: list[tuple[int, _CleanContact]], now: datetime, errors: list[ItemError]
) -> list[Contact]:
    """One attempt, in one transaction: the saved contacts in input order; items that
    `_apply` rejects go to `errors`."""
    async with in_transaction():
        existing = await lock_contacts(account, {clean.email_lower for _, clean in valid})
        new: dict[str, Contact] = {}
        order: list[str] = []
        tags_by_email: dict[str, list[str]] = {}
        for index, clean in valid:
            contact = existing.get(clean.email_lower) or new.get(clean.email_lower)
            if contact is None:
                contact = Contact(
                    account=account,
                    email=clean.email,
                    email_lower=clean.email_lower,
                    custom_fields={},
                    created_at=now,
                    updated_at=now,
                )
                new[clean.email_lower] = contact
            try:
                _apply(contact, clean, now)
            except ItemInvalid as exc:
                errors.append(ItemError(index, exc.field, exc.message, exc.code))
                if contact.email_lower not in tags_by_email:
                    new.pop(clean.email_lower, None)
                continue
            if clean.email_lower not in tags_by_email:
                order.append(clean.email_lower)
            tags_by_email.setdefault(clean.email_lower, []).extend(clean.tags)
        if new:
            # In email order, so two calls creating the same emails wait rather than deadlock.
            created = sorted(new.values(), key=lambda c: c.email_lower)
            await Contact.bulk_create(created, batch_size=500)
        if existing:
            for contact in existing.values():
                contact.updated_at = now
            moved = any("created_at" in clean.values for _, clean in valid)
            fields = [*_PROFILE_FIELDS, "created_at"] if moved else _PROFILE_FIELDS
            await Contact.bulk_update(list(existing.values()), fields, batch_size=500)
        ids: dict[str, int] = dict(
            await Contact.filter(account=account, email_lower__in=order).values_list(
                "email_lower", "id"
            )
        )
        await _link_tags(
            account, {ids[e]: names for e, names in tags_by_email.items() if names and e in ids}
        )
        # A subscription or risk change can move a flag: the rules decide, at once.
        await apply_rules(account, list(ids.values()), now)
        # Segments last, as every write path does: contacts, then segments, never the reverse.
        await mark_counts_stale(account.id)
        saved = {
            c.email_lower: c for c in await Contact.filter(account=account, id__in=ids.values())
        }
    return [saved[e] for e in order if e in saved]


async def lock_contacts(account: Account, emails: Iterable[str]) -> dict[str, Contact]:
    """The account's contacts with these (folded) emails, locked for the caller's transaction.

    The one lock order of every write path: contacts first, in id order, then their child
    rows (sorted), then the account's segments (counts marked stale) last. The lock is FOR NO
    KEY UPDATE: it keeps two writers of one contact apart without blocking inserts that only
    reference it (tag links, events, purchases)."""
    query = Contact.filter(account=account, email_lower__in=set(emails)).order_by("id")
    return {c.email_lower: c for c in await query.select_for_update(no_key=True)}


async def hold_contacts(account: Account, contact_ids: Sequence[int]) -> list[int]:
    """Of these contacts, the ones that still exist, kept from erasure until the caller's
    transaction ends: for writers that add rows referencing contacts they don't otherwise
    lock. FOR KEY SHARE, the lock inserting a reference takes anyway, but taken first and in
    id order; it leaves other writers of the contacts free."""
    if not contact_ids:
        return []
    statement = (
        sql("SELECT id FROM contacts WHERE account_id = ? AND id IN (", account.id)
        + placeholders(sorted(set(contact_ids)))
        + Sql(") ORDER BY id" + (" FOR KEY SHARE" if dialect() == "postgres" else ""))
    )
    rows = await connection().execute_query_dict(
        render(statement, dialect()), list(statement.params)
    )
    return [int(row["id"]) for row in rows]


async def ensure_tags(account: Account, names: Iterable[str]) -> dict[str, Tag]:
    """The account's tags for these names (by lower-cased name), creating the missing ones;
    a new tag is named by the first spelling given, as in `clean_tag_names`."""
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(fold(name), name)
    if not wanted:
        return {}
    found = {
        t.name_lower: t for t in await Tag.filter(account=account, name_lower__in=list(wanted))
    }
    missing = [
        Tag(account=account, name=name, name_lower=lower)
        for lower, name in sorted(wanted.items())
        if lower not in found
    ]
    if missing:
        await Tag.bulk_create(missing, ignore_conflicts=True)
        found = {
            t.name_lower: t for t in await Tag.filter(account=account, name_lower__in=list(wanted))
        }
    return found


async def _link_tags(account: Account, names_by_contact: dict[int, list[str]]) -> None:
    if not names_by_contact:
        return
    tags = await ensure_tags(account, (n for names in names_by_contact.values() for n in names))
    pairs = sorted(
        {
            (contact_id, tags[fold(name)].id)
            for contact_id, names in names_by_contact.items()
            for name in names
        }
    )
    links = [ContactTag(account=account, contact_id=c, tag_id=t) for c, t in pairs]
    await ContactTag.bulk_create(links, batch_size=1000, ignore_conflicts=True)


def tag_changes(add: Sequence[str], remove: Sequence[str]) -> tuple[list[str], list[str]]:
    """The tags to add and to remove, checked: valid names, at least one, none in both."""
    try:
        add_names = clean_tag_names(add, "add")
        remove_names = clean_tag_names(remove, "remove")
    except ItemInvalid as exc:
        raise DomainError(exc.code, exc.message, (exc.field or "add",)) from None
    if not add_names and not remove_names:
        raise DomainError(ErrorCode.REQUIRED, "Give tags to add or to remove.", ("add",))
    both = {fold(n) for n in add_names} & {fold(n) for n in remove_names}
    if both:
        raise DomainError(
            ErrorCode.INVALID,
            f"A tag can't be both added and removed: {', '.join(sorted(both))}.",
            ("remove",),
        )
    return add_names, remove_names


async def tag_contacts(
    account: Account,
    contact_ids: Sequence[int],
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> list[Contact]:
    """Add and remove tags on the given contacts. Every id must be one of the account's."""
    check_size(contact_ids, "ids")
    add_names, remove_names = tag_changes(add, remove)
    ids = list(dict.fromkeys(contact_ids))
    contacts = await Contact.filter(account=account, id__in=ids)
    if len(contacts) != len(ids):
        known = {c.id for c in contacts}
        missing = [i for i in ids if i not in known]
        raise DomainError(
            ErrorCode.NOT_FOUND, f"No contact with id {missing[0]} in this account.", ("ids",)
        )
    async with in_transaction():
        if len(await hold_contacts(account, ids)) != len(ids):
            raise DomainError(ErrorCode.NOT_FOUND, "A contact was deleted meanwhile.", ("ids",))
        await _link_tags(account, {c.id: add_names for c in contacts} if add_names else {})
        if remove_names:
            tag_ids = await Tag.filter(
                account=account, name_lower__in=[fold(n) for n in remove_names]
            ).values_list("id", flat=True)
            await ContactTag.filter(
                account=account, contact_id__in=ids, tag_id__in=tag_ids
            ).delete()
        await mark_counts_stale(account.id)
    by_id = {c.id: c for c in contacts}
    return [by_id[i] for i in ids]
