"""Small helpers shared by the service tests: a fixed clock, terse constructors, and readers that
fetch what the services stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from app.enums import EmailEventKind, GrantSource
from app.models import (
    Account,
    Contact,
    ContactTag,
    EmailEvent,
    OwnedProduct,
    Product,
    Purchase,
    Tag,
)
from app.services.batch import BatchResult
from app.services.contacts import ContactData, upsert_contacts
from app.services.errors import ErrorCode
from app.services.events import CleanEvent, EventData, record_events
from app.services.products import GrantData, ProductData, grant_offers, upsert_products

# A fixed "now" for every service call that accepts one; well in the past, so the real clock
# (used for birth dates) never interferes.
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def at(days: float = 0, *, minutes: float = 0) -> datetime:
    """NOW shifted by the given offset (negative is the past)."""
    return NOW + timedelta(days=days, minutes=minutes)


def errors_of(result: BatchResult[Any]) -> list[tuple[int, str | None, ErrorCode]]:
    """The (index, field, code) triples of a batch result, in order."""
    return [(e.index, e.field, e.code) for e in result.errors]


async def upsert_ok(account: Account, *items: ContactData, now: datetime = NOW) -> list[Contact]:
    """Upsert contacts that must all be valid; returns what the service returned."""
    result = await upsert_contacts(account, list(items), now=now)
    assert result.errors == []
    return result.items


async def make_contact(
    account: Account, email: str, *, now: datetime = NOW, **fields: Any
) -> Contact:
    [contact] = await upsert_ok(account, ContactData(email=email, **fields), now=now)
    return contact


async def load(account: Account, email: str) -> Contact:
    """The stored contact for this email (any case), fresh from the database."""
    return await Contact.get(account=account, email_lower=email.lower())


async def set_flags(contact: Contact, **values: Any) -> None:
    """Write fields directly, as the nightly flag computation would."""
    await Contact.filter(id=contact.id).update(**values)


async def tag_names(contact: Contact) -> set[str]:
    return set(await ContactTag.filter(contact_id=contact.id).values_list("tag__name", flat=True))


async def make_product(account: Account, external_id: str = "course-1", **fields: Any) -> Product:
    result = await upsert_products(
        account,
        [ProductData(external_id=external_id, title=fields.pop("title", external_id), **fields)],
    )
    assert result.errors == []
    [product] = result.items
    return product


def purchase(email: str, product: Product, cents: int, **fields: Any) -> GrantData:
    return GrantData(
        email=email,
        product_id=product.id,
        source=GrantSource.PURCHASE,
        amount_cents=cents,
        **fields,
    )


def grant(email: str, product: Product, **fields: Any) -> GrantData:
    return GrantData(email=email, product_id=product.id, source=GrantSource.GRANT, **fields)


async def grant_ok(account: Account, *items: GrantData, now: datetime = NOW) -> list[OwnedProduct]:
    result = await grant_offers(account, list(items), now=now)
    assert result.errors == []
    return result.items


def event(
    kind: EmailEventKind | str, when: datetime, email: str = "ann@example.com", **fields: Any
) -> EventData:
    return EventData(email=email, kind=kind, occurred_at=when, **fields)


async def record_ok(
    account: Account, *items: EventData, now: datetime = NOW
) -> BatchResult[CleanEvent]:
    result = await record_events(account, list(items), now=now)
    assert result.errors == []
    return result


async def snapshot(account: Account) -> dict[str, list[dict[str, Any]]]:
    """Every row the ingestion services may write for an account, for before/after comparison."""
    tables: Sequence[tuple[str, Any]] = (
        ("contacts", Contact),
        ("tags", Tag),
        ("contact_tags", ContactTag),
        ("products", Product),
        ("owned_products", OwnedProduct),
        ("purchases", Purchase),
        ("email_events", EmailEvent),
    )
    return {
        name: await model.filter(account=account).order_by("id").values() for name, model in tables
    }
