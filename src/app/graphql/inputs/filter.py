"""`ContactFilter` and its condition inputs, exactly as the contract writes them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET

from app.enums import EmailEventKind, EmailRisk, SubscriptionStatus


@strawberry.input(one_of=True, description="One conditional; strings compare case-insensitively.")
class StringCondition:
    eq: str | None = UNSET
    neq: str | None = UNSET
    contains: str | None = UNSET
    not_contains: str | None = UNSET
    starts_with: str | None = UNSET
    ends_with: str | None = UNSET
    in_: list[str] | None = strawberry.field(name="in", default=UNSET)
    is_empty: bool | None = UNSET


@strawberry.input(description="The given bounds must all hold.")
class IntCondition:
    eq: int | None = UNSET
    gt: int | None = UNSET
    gte: int | None = UNSET
    lt: int | None = UNSET
    lte: int | None = UNSET


@strawberry.input(description="The given bounds must all hold; before and after are exclusive.")
class DateCondition:
    before: datetime | None = UNSET
    after: datetime | None = UNSET
    within_last_days: int | None = UNSET
    more_than_days_ago: int | None = UNSET
    is_empty: bool | None = UNSET


@strawberry.input(description="since is inclusive, until exclusive.")
class DateWindow:
    within_last_days: int | None = UNSET
    since: datetime | None = UNSET
    until: datetime | None = UNSET


@strawberry.input
class SubscriptionStatusCondition:
    in_: list[SubscriptionStatus] = strawberry.field(name="in")


@strawberry.input
class EmailRiskCondition:
    in_: list[EmailRisk] = strawberry.field(name="in")


@strawberry.input
class TagCondition:
    has_any: list[str] | None = UNSET
    has_all: list[str] | None = UNSET
    has_none: list[str] | None = UNSET


@strawberry.input
class ProductCondition:
    owns_any: list[strawberry.ID] | None = UNSET
    owns_all: list[strawberry.ID] | None = UNSET
    owns_none: list[strawberry.ID] | None = UNSET


@strawberry.input
class ProductProgressCondition:
    product: strawberry.ID
    percent: IntCondition


@strawberry.input
class PurchaseCondition:
    product: strawberry.ID | None = UNSET
    count: IntCondition | None = UNSET
    total_cents: IntCondition | None = UNSET
    window: DateWindow | None = UNSET


@strawberry.input
class EmailActivityCondition:
    event: EmailEventKind
    count: IntCondition | None = UNSET
    window: DateWindow | None = UNSET
    campaign: str | None = UNSET


@strawberry.input(description="key and exactly one of string, number, date, exists.")
class CustomFieldCondition:
    key: str
    string: StringCondition | None = UNSET
    number: IntCondition | None = UNSET
    date: DateCondition | None = UNSET
    exists: bool | None = UNSET


@strawberry.input
class SegmentRef:
    in_: strawberry.ID = strawberry.field(name="in")


@strawberry.input(one_of=True, description="One category, or a group of filters.")
class ContactFilter:
    and_: list[ContactFilter] | None = strawberry.field(name="and", default=UNSET)
    or_: list[ContactFilter] | None = strawberry.field(name="or", default=UNSET)
    not_: ContactFilter | None = strawberry.field(name="not", default=UNSET)
    email: StringCondition | None = UNSET
    first_name: StringCondition | None = UNSET
    last_name: StringCondition | None = UNSET
    country: StringCondition | None = UNSET
    created_at: DateCondition | None = UNSET
    birth_date: DateCondition | None = UNSET
    age: IntCondition | None = UNSET
    subscription_status: SubscriptionStatusCondition | None = UNSET
    email_risk: EmailRiskCondition | None = UNSET
    is_customer: bool | None = UNSET
    is_inactive: bool | None = UNSET
    is_hard_bounced: bool | None = UNSET
    is_excluded: bool | None = UNSET
    tags: TagCondition | None = UNSET
    products: ProductCondition | None = UNSET
    product_progress: ProductProgressCondition | None = UNSET
    purchases: PurchaseCondition | None = UNSET
    email_activity: EmailActivityCondition | None = UNSET
    custom_field: CustomFieldCondition | None = UNSET
    segment: SegmentRef | None = UNSET
