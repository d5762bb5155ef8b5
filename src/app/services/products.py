"""Products (by external id), and offers granted or bought: ownership, purchases, total spent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app import clock, limits
from app.db import id_set
from app.enums import GrantSource, ProductKind
from app.models import Account, Contact, OwnedProduct, Product, Purchase
from app.services.batch import BatchResult, check_size, validate_all
from app.services.checks import check_int, check_time, clean_text, normalize_email, parse_enum
from app.services.contacts import lock_contacts
from app.services.counts import mark_counts_stale
from app.services.errors import ErrorCode, ItemError, ItemInvalid
from app.text import fold

DEFAULT_CURRENCY = "USD"


@dataclass
class ProductData:
    external_id: str
    title: str
    kind: ProductKind | str | None = None


@dataclass
class GrantData:
    """A purchase (source PURCHASE, amount required) or a free grant of a product."""

    email: str
    product_id: int
    source: GrantSource | str
    amount_cents: int | None = None
    currency: str | None = None
    occurred_at: datetime | None = None
    progress: int | None = None


async def upsert_products(account: Account, items: Sequence[ProductData]) -> BatchResult[Product]:
    check_size(items)
    result: BatchResult[Product] = BatchResult()

    def clean(item: ProductData) -> ProductData:
        external_id = clean_text(
            item.external_id, "external_id", limits.MAX_SHORT_TEXT, required=True
        )
        title = clean_text(item.title, "title", limits.MAX_TITLE, required=True)
        kind = parse_enum(ProductKind, item.kind, "kind") if item.kind is not None else None
        return ProductData(str(external_id), str(title), kind)

    valid = validate_all(items, clean, result.errors)
    if not valid:
        return result
    latest = {item.external_id: item for _, item in valid}  # the last spelling wins
    async with in_transaction():
        existing = {
            p.external_id: p
            for p in await Product.filter(account=account, external_id__in=list(latest))
        }
        created = [
            Product(
                account=account,
                external_id=item.external_id,
                title=item.title,
                kind=item.kind or ProductKind.OFFER,
            )
            for ext, item in latest.items()
            if ext not in existing
        ]
        if created:
            await Product.bulk_create(created, ignore_conflicts=True)
        for ext, product in existing.items():
            item = latest[ext]
            product.title = item.title
            if item.kind is not None:
                product.kind = ProductKind(item.kind)
        if existing:
            await Product.bulk_update(list(existing.values()), ["title", "kind", "updated_at"])
        saved = {
            p.external_id: p
            for p in await Product.filter(account=account, external_id__in=list(latest))
        }
    result.items = [saved[ext] for ext in latest]
    return result


@dataclass
class _CleanGrant:
    email_lower: str
    product_id: int
    source: GrantSource
    amount_cents: int
    currency: str
    occurred_at: datetime
    progress: int | None


def _clean_grant(item: GrantData, now: datetime) -> _CleanGrant:
    email = normalize_email(item.email)
    source = parse_enum(GrantSource, item.source, "source")
    amount = item.amount_cents
    if source is GrantSource.PURCHASE and amount is None:
        raise ItemInvalid("amount_cents", "A purchase needs an amount.", ErrorCode.REQUIRED)
    if amount is not None and amount < 0:
        raise ItemInvalid("amount_cents", "An amount can't be negative.", ErrorCode.NEGATIVE_AMOUNT)
    if amount is not None:
        check_int(amount, "amount_cents", 0, limits.MAX_CENTS)
    if source is GrantSource.GRANT and amount:
        raise ItemInvalid("amount_cents", "A granted offer has no amount; use source PURCHASE.")
    currency = (
        clean_text(item.currency, "currency", limits.MAX_SHORT_TEXT) or DEFAULT_CURRENCY
    ).upper()
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        raise ItemInvalid("currency", f"{currency!r} is not a three-letter currency code.")
    if item.progress is not None and not 0 <= item.progress <= 100:
        raise ItemInvalid("progress", "Progress is a percentage, 0 to 100.", ErrorCode.OUT_OF_RANGE)
    occurred = check_time(item.occurred_at, "occurred_at", now) if item.occurred_at else now
    return _CleanGrant(
        fold(email), item.product_id, source, amount or 0, currency, occurred, item.progress
    )


async def grant_offers(
    account: Account, items: Sequence[GrantData], now: datetime | None = None
) -> BatchResult[OwnedProduct]:
    """Record ownership (and purchases); the contact becomes a customer and its total spent
    grows in the same transaction."""
    check_size(items)
    now = now or clock.now()
    result: BatchResult[OwnedProduct] = BatchResult()
    valid = validate_all(items, lambda item: _clean_grant(item, now), result.errors)
    if not valid:
        return result
    async with in_transaction():
        contacts = await lock_contacts(account, {g.email_lower for _, g in valid})
        products = await id_set(
            Product.filter(account=account, id__in={g.product_id for _, g in valid})
        )
        grants: list[_CleanGrant] = []
        for index, grant in valid:
            if grant.email_lower not in contacts:
                result.errors.append(
                    ItemError(
                        index,
                        "email",
                        "No contact with this email; create it first.",
                        ErrorCode.CONTACT_NOT_FOUND,
                    )
                )
            elif grant.product_id not in products:
                result.errors.append(
                    ItemError(
                        index,
                        "product",
                        "No such product in this account.",
                        ErrorCode.PRODUCT_NOT_FOUND,
                    )
                )
            else:
                grants.append(grant)
        result.errors.sort(key=lambda err: err.index)
        if not grants:
            return result
        result.items = await _record(account, contacts, grants)
        await mark_counts_stale(account.id)
    return result


async def _record(
    account: Account, contacts: dict[str, Contact], grants: list[_CleanGrant]
) -> list[OwnedProduct]:
    contact_ids = {contacts[g.email_lower].id for g in grants}
    owned = {
        (o.contact_id, o.product_id): o  # type: ignore[attr-defined]
        for o in await OwnedProduct.filter(account=account, contact_id__in=contact_ids)
    }
    purchases: list[Purchase] = []
    spent: dict[int, int] = {}
    touched: dict[tuple[int, int], OwnedProduct] = {}
    for grant in grants:
        contact_id = contacts[grant.email_lower].id
        key = (contact_id, grant.product_id)
        row = owned.get(key)
        if row is None:
            row = OwnedProduct(
                account=account,
                contact_id=contact_id,
                product_id=grant.product_id,
                source=grant.source,
                granted_at=grant.occurred_at,
                progress=grant.progress or 0,
            )
            owned[key] = row
        else:
            if grant.progress is not None:
                row.progress = grant.progress
            if grant.source is GrantSource.PURCHASE:
                row.source = GrantSource.PURCHASE
            row.granted_at = min(row.granted_at, grant.occurred_at)
        touched[key] = row
        if grant.source is GrantSource.PURCHASE:
            purchases.append(
                Purchase(
                    account=account,
                    contact_id=contact_id,
                    product_id=grant.product_id,
                    amount_cents=grant.amount_cents,
                    currency=grant.currency,
                    occurred_at=grant.occurred_at,
                )
            )
            spent[contact_id] = spent.get(contact_id, 0) + grant.amount_cents
    fresh = [row for row in touched.values() if row.pk is None]
    stale = [row for row in touched.values() if row.pk is not None]
    if fresh:
        await OwnedProduct.bulk_create(fresh, ignore_conflicts=True)
    if stale:
        await OwnedProduct.bulk_update(stale, ["progress", "source", "granted_at"])
    if purchases:
        await Purchase.bulk_create(purchases)
    await Contact.filter(account=account, id__in=contact_ids).update(is_customer=True)
    for contact_id, cents in sorted(spent.items()):
        # An increment in SQL, so concurrent purchases for one contact both count.
        await Contact.filter(id=contact_id).update(total_spent_cents=F("total_spent_cents") + cents)
    return [
        row
        for row in await OwnedProduct.filter(account=account, contact_id__in=contact_ids)
        if (row.contact_id, row.product_id) in touched  # type: ignore[attr-defined]
    ]
