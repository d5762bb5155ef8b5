"""Store a generated dataset (tests/filters/reference.py records) under one account with bulk
inserts, and map its symbolic ids (contacts, products, segments) to the database's."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from app import db
from app.enums import GrantSource, SegmentKind
from app.filters import ast, codec
from app.models import Contact, Product, Segment, Tag
from app.text import fold

from . import reference
from .reference import Dataset

STORED_AT = datetime(2026, 6, 15, 11, 0, tzinfo=UTC)  # created_at of rows that aren't contacts

CONTACT_COLUMNS = (
    "account_id", "email", "email_lower", "first_name", "last_name", "created_at", "updated_at",
    "subscription_status", "email_risk", "is_customer", "is_inactive", "is_hard_bounced",
    "is_excluded", "sends_since_engagement", "soft_bounces", "total_spent_cents", "birth_date",
    "country", "custom_fields",
)  # fmt: skip


@dataclass
class Ids:
    """Symbolic id -> database id."""

    contacts: dict[int, int] = field(default_factory=dict)
    products: dict[int, int] = field(default_factory=dict)
    segments: dict[int, int] = field(default_factory=dict)

    def remap(self, tree: ast.Filter) -> ast.Filter:
        """The filter with the database's product and segment ids."""
        match tree:
            case ast.And(children):
                return ast.And(tuple(self.remap(c) for c in children))
            case ast.Or(children):
                return ast.Or(tuple(self.remap(c) for c in children))
            case ast.Not(child):
                return ast.Not(self.remap(child))
            case ast.ProductMatch(owns_any, owns_all, owns_none):
                return ast.ProductMatch(
                    *(self._products(x) for x in (owns_any, owns_all, owns_none))
                )
            case ast.ProductProgress(product, percent):
                return ast.ProductProgress(self.products[product], percent)
            case ast.PurchaseMatch(product=int(product)):
                return dataclasses.replace(tree, product=self.products[product])
            case ast.SegmentIn(pk):
                return ast.SegmentIn(self.segments[pk])
        return tree

    def _products(self, ids: tuple[int, ...] | None) -> tuple[int, ...] | None:
        return None if ids is None else tuple(self.products[i] for i in ids)


class _Values:
    """Column values as Tortoise writes them: native for asyncpg's COPY; on SQLite, what
    Tortoise's sqlite3 adapters make of them (isoformat(" ") times, ISO days) and the JSON
    field's own encoding."""

    def __init__(self) -> None:
        self.postgres = db.is_postgres()
        self._json = Contact._meta.fields_map["custom_fields"]

    def time(self, moment: datetime) -> datetime | str:
        return moment if self.postgres else moment.isoformat(" ")

    def day(self, value: date | None) -> date | str | None:
        return value if self.postgres or value is None else value.isoformat()

    def json(self, value: dict[str, Any]) -> Any:
        return self._json.to_db_value(value, Contact)


def _contact_row(account_id: int, c: reference.Contact, v: _Values) -> tuple[Any, ...]:
    return (
        account_id, c.email, fold(c.email), c.first_name, c.last_name, v.time(c.created_at),
        v.time(c.created_at), c.subscription_status.value, c.email_risk.value, c.is_customer,
        c.is_inactive, c.is_hard_bounced, c.is_excluded, 0, 0,
        sum(amount for _, amount, _ in c.purchases), v.day(c.birth_date), c.country,
        v.json(c.custom_fields),
    )  # fmt: skip


async def insert(dataset: Dataset, account_id: int) -> Ids:
    """Store the dataset under the account (which already has its default segments)."""
    v = _Values()
    ids = Ids()
    at = v.time(STORED_AT)

    await db.bulk_insert(
        "products",
        ("account_id", "external_id", "title", "kind", "created_at", "updated_at"),
        [(account_id, f"p{p}", f"Product {p}", "OFFER", at, at) for p in dataset.products],
    )
    rows = await Product.filter(account_id=account_id).values_list("id", "external_id")
    by_external = {external: pk for pk, external in rows}
    ids.products = {p: by_external[f"p{p}"] for p in dataset.products}

    await db.bulk_insert(
        "tags",
        ("account_id", "name", "name_lower", "created_at"),
        [(account_id, name, fold(name), at) for name in dataset.tags],
    )
    tag_rows = await Tag.filter(account_id=account_id).values_list("id", "name_lower")
    tag_ids = {name_lower: pk for pk, name_lower in tag_rows}

    contacts = dataset.contacts
    await db.bulk_insert(
        "contacts", CONTACT_COLUMNS, [_contact_row(account_id, c, v) for c in contacts]
    )
    contact_rows = await Contact.filter(account_id=account_id).values_list("id", "email_lower")
    by_email = {email_lower: pk for pk, email_lower in contact_rows}
    ids.contacts = {c.id: by_email[fold(c.email)] for c in contacts}

    await db.bulk_insert(
        "contact_tags",
        ("account_id", "contact_id", "tag_id", "created_at"),
        [
            (account_id, ids.contacts[c.id], tag_ids[fold(t)], at)
            for c in contacts
            for t in sorted(c.tags)
        ],
    )
    await db.bulk_insert(
        "owned_products",
        ("account_id", "contact_id", "product_id", "source", "granted_at", "progress"),
        [
            (account_id, ids.contacts[c.id], ids.products[p], GrantSource.GRANT.value, at, progress)
            for c in contacts
            for p, progress in sorted(c.owned.items())
        ],
    )
    await db.bulk_insert(
        "purchases",
        ("account_id", "contact_id", "product_id", "amount_cents", "currency", "occurred_at"),
        [
            (account_id, ids.contacts[c.id], ids.products[p], amount, "USD", v.time(when))
            for c in contacts
            for p, amount, when in c.purchases
        ],
    )
    await db.bulk_insert(
        "email_events",
        ("account_id", "contact_id", "kind", "campaign", "occurred_at"),
        [
            (account_id, ids.contacts[c.id], kind.value, campaign, v.time(when))
            for c in contacts
            for kind, campaign, when in c.events
        ],
    )

    defaults = await Segment.filter(account_id=account_id, kind=SegmentKind.DEFAULT).values_list(
        "id", "default_key"
    )
    by_key = {key: pk for pk, key in defaults}
    # Custom segments in order: each one's filter may reference only the ones before it.
    for pk, segment in sorted(dataset.segments.items()):
        if segment.kind is SegmentKind.DEFAULT:
            assert segment.default_key is not None
            ids.segments[pk] = by_key[segment.default_key]
            continue
        assert segment.tree is not None
        stored = await Segment.create(
            account_id=account_id,
            name=segment.name,
            name_lower=fold(segment.name),
            kind=SegmentKind.CUSTOM,
            filter_json=codec.encode(ids.remap(segment.tree)),
        )
        ids.segments[pk] = stored.id
    return ids
