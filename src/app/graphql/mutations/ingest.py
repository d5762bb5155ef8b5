"""contactsUpsert, contactsTag, productsUpsert, offersGrant, emailEventsRecord,
accountSettingsUpdate: thin layers over the ingestion services, with per-item user errors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON

from app.enums import (
    EmailEventKind,
    EmailRisk,
    GrantSource,
    ProductKind,
    SubscriptionStatus,
    UnsubscribeReason,
)
from app.filters.ids import from_global_id
from app.graphql.context import Info
from app.graphql.errors import UserError, from_domain, from_items
from app.graphql.inputs.flat import flat_input
from app.graphql.mutations.common import pk_of
from app.graphql.types.account import AccountType
from app.graphql.types.contact import ContactType
from app.graphql.types.tag import ProductType
from app.services import contacts, events, products
from app.services.accounts import update_settings
from app.services.errors import DomainError


@flat_input
@strawberry.input
class ContactInput:
    email: str
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    subscription_status: SubscriptionStatus | None = UNSET
    unsubscribe_reason: UnsubscribeReason | None = UNSET
    email_risk: EmailRisk | None = UNSET
    birth_date: date | None = UNSET
    country: str | None = UNSET
    custom_fields: JSON | None = strawberry.field(
        default=UNSET, description="Merged into the stored object; a key set to null is removed."
    )
    tags: list[str] | None = strawberry.field(
        default=UNSET, description="Added; contactsTag removes."
    )


@flat_input
@strawberry.input
class ProductInput:
    external_id: str
    title: str
    kind: ProductKind | None = None


@flat_input
@strawberry.input
class OfferGrantInput:
    email: str
    product: strawberry.ID
    source: GrantSource
    amount_cents: int | None = None
    currency: str | None = None
    occurred_at: datetime | None = None
    progress: int | None = None


@flat_input
@strawberry.input
class EmailEventInput:
    email: str
    kind: EmailEventKind
    occurred_at: datetime
    campaign: str | None = None
    external_id: str | None = None


@strawberry.input
class AccountSettingsInput:
    inactivity_days: int | None = None
    soft_bounce_threshold: int | None = None
    unengaged_send_threshold: int | None = None


@strawberry.type
class ContactsUpsertPayload:
    contacts: list[ContactType]
    user_errors: list[UserError]


@strawberry.type
class ContactsPayload:
    contacts: list[ContactType]
    user_errors: list[UserError]


@strawberry.type
class ProductsPayload:
    products: list[ProductType]
    user_errors: list[UserError]


@strawberry.type
class GrantsPayload:
    count: int
    user_errors: list[UserError]


@strawberry.type
class EmailEventsPayload:
    recorded: int
    duplicates: int
    user_errors: list[UserError]


@strawberry.type
class AccountPayload:
    account: AccountType | None
    user_errors: list[UserError]


def _given(value: Any) -> Any:
    """Strawberry's UNSET (left out) becomes the services' UNSET; null stays null (clear)."""
    return contacts.UNSET if value is UNSET else value


def _contact_data(item: ContactInput) -> contacts.ContactData:
    custom = _given(item.custom_fields)
    return contacts.ContactData(
        email=item.email,
        first_name=_given(item.first_name),
        last_name=_given(item.last_name),
        subscription_status=_given(item.subscription_status) or contacts.UNSET,
        unsubscribe_reason=_given(item.unsubscribe_reason),
        email_risk=_given(item.email_risk) or contacts.UNSET,
        birth_date=_given(item.birth_date),
        country=_given(item.country),
        custom_fields=custom if custom is not None else contacts.UNSET,
        tags=list(item.tags or []),
    )


@strawberry.type
class IngestMutations:
    @strawberry.mutation(description="Create, or update the contact with this email; 1 000 a call.")
    async def contacts_upsert(self, info: Info, input: list[ContactInput]) -> ContactsUpsertPayload:
        try:
            result = await contacts.upsert_contacts(
                info.context.account, [_contact_data(item) for item in input]
            )
        except DomainError as exc:
            return ContactsUpsertPayload(contacts=[], user_errors=[from_domain(exc)])
        return ContactsUpsertPayload(
            contacts=[ContactType.from_model(c) for c in result.items],
            user_errors=from_items(result.errors),
        )

    @strawberry.mutation
    async def contacts_tag(
        self,
        info: Info,
        ids: list[strawberry.ID],
        add: list[str] | None = None,
        remove: list[str] | None = None,
    ) -> ContactsPayload:
        try:
            keys = [pk_of(i, "Contact", "ids") for i in ids]
            tagged = await contacts.tag_contacts(
                info.context.account, keys, add or [], remove or []
            )
        except DomainError as exc:
            return ContactsPayload(contacts=[], user_errors=[from_domain(exc)])
        return ContactsPayload(contacts=[ContactType.from_model(c) for c in tagged], user_errors=[])

    @strawberry.mutation
    async def products_upsert(self, info: Info, input: list[ProductInput]) -> ProductsPayload:
        items = [products.ProductData(p.external_id, p.title, p.kind) for p in input]
        try:
            result = await products.upsert_products(info.context.account, items)
        except DomainError as exc:
            return ProductsPayload(products=[], user_errors=[from_domain(exc)])
        return ProductsPayload(
            products=[ProductType.from_model(p) for p in result.items],
            user_errors=from_items(result.errors),
        )

    @strawberry.mutation(description="A purchase or a granted offer, per item.")
    async def offers_grant(self, info: Info, input: list[OfferGrantInput]) -> GrantsPayload:
        items = [
            products.GrantData(
                email=g.email,
                # An ID that names no product of this account is reported per item.
                product_id=from_global_id(str(g.product), "Product") or 0,
                source=g.source,
                amount_cents=g.amount_cents,
                currency=g.currency,
                occurred_at=g.occurred_at,
                progress=g.progress,
            )
            for g in input
        ]
        try:
            result = await products.grant_offers(info.context.account, items)
        except DomainError as exc:
            return GrantsPayload(count=0, user_errors=[from_domain(exc)])
        return GrantsPayload(count=len(result.items), user_errors=from_items(result.errors))

    @strawberry.mutation(description="Email events as a provider's webhook reports them.")
    async def email_events_record(
        self, info: Info, input: list[EmailEventInput]
    ) -> EmailEventsPayload:
        items = [
            events.EventData(e.email, e.kind, e.occurred_at, e.campaign, e.external_id)
            for e in input
        ]
        try:
            result = await events.record_events(info.context.account, items)
        except DomainError as exc:
            return EmailEventsPayload(recorded=0, duplicates=0, user_errors=[from_domain(exc)])
        return EmailEventsPayload(
            recorded=len(result.items),
            duplicates=result.duplicates,
            user_errors=from_items(result.errors),
        )

    @strawberry.mutation(description="Inactivity window and risk thresholds; flags are recomputed.")
    async def account_settings_update(
        self, info: Info, input: AccountSettingsInput
    ) -> AccountPayload:
        try:
            account = await update_settings(
                info.context.account,
                inactivity_days=input.inactivity_days,
                soft_bounce_threshold=input.soft_bounce_threshold,
                unengaged_send_threshold=input.unengaged_send_threshold,
            )
        except DomainError as exc:
            return AccountPayload(account=None, user_errors=[from_domain(exc)])
        return AccountPayload(account=AccountType.from_model(account), user_errors=[])
