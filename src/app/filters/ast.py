"""The contact filter as plain data: frozen dataclasses, no Strawberry, no Tortoise.

A filter is a tree: `And` / `Or` / `Not` groups over leaf conditions, one leaf per category of
`ContactFilter` in the API contract. Products and segments are referenced by primary key here;
the codec maps them to and from global IDs. Relative windows stay relative: they are resolved
against the `now` the compiler is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from app.enums import EmailEventKind, EmailRisk, SubscriptionStatus

StringOp = Literal[
    "eq", "neq", "contains", "not_contains", "starts_with", "ends_with", "in", "is_empty"
]
StringValue = str | tuple[str, ...] | bool
StringField = Literal["email", "first_name", "last_name", "country"]
DateField = Literal["created_at", "birth_date"]
FlagField = Literal["is_customer", "is_inactive", "is_hard_bounced", "is_excluded"]

# Conditionals that hold for contacts with no value at all (the complement of a positive one).
NEGATIVE_STRING_OPS: frozenset[StringOp] = frozenset({"neq", "not_contains"})


@dataclass(frozen=True)
class StringCondition:
    """Exactly one conditional (the input is @oneOf); compared case-insensitively."""

    op: StringOp
    value: StringValue  # a str, a tuple for `in`, a bool for `is_empty`


@dataclass(frozen=True)
class IntCondition:
    """The given bounds must all hold (a range)."""

    eq: int | None = None
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None


@dataclass(frozen=True)
class DateCondition:
    """The given bounds must all hold. `after`/`before` are exclusive."""

    before: datetime | None = None
    after: datetime | None = None
    within_last_days: int | None = None
    more_than_days_ago: int | None = None
    is_empty: bool | None = None


@dataclass(frozen=True)
class DateWindow:
    """`within_last_days`: now - N days <= t <= now; `since` inclusive; `until` exclusive."""

    within_last_days: int | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class And:
    children: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    child: Filter


@dataclass(frozen=True)
class StringMatch:
    field: StringField
    condition: StringCondition


@dataclass(frozen=True)
class DateMatch:
    field: DateField
    condition: DateCondition


@dataclass(frozen=True)
class AgeMatch:
    condition: IntCondition


@dataclass(frozen=True)
class SubscriptionStatusIn:
    statuses: tuple[SubscriptionStatus, ...]


@dataclass(frozen=True)
class EmailRiskIn:
    risks: tuple[EmailRisk, ...]


@dataclass(frozen=True)
class FlagIs:
    flag: FlagField
    value: bool


@dataclass(frozen=True)
class TagMatch:
    """Given lists must all hold; names compare case-insensitively."""

    has_any: tuple[str, ...] | None = None
    has_all: tuple[str, ...] | None = None
    has_none: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ProductMatch:
    """Given lists must all hold; products by primary key."""

    owns_any: tuple[int, ...] | None = None
    owns_all: tuple[int, ...] | None = None
    owns_none: tuple[int, ...] | None = None


@dataclass(frozen=True)
class ProductProgress:
    """False for a product the contact does not own."""

    product: int
    percent: IntCondition


@dataclass(frozen=True)
class PurchaseMatch:
    """Purchases of `product` (any when None) in `window`: their count and total in cents.
    Without `count` and `total_cents` it means at least one."""

    product: int | None = None
    count: IntCondition | None = None
    total_cents: IntCondition | None = None
    window: DateWindow | None = None


@dataclass(frozen=True)
class EmailActivity:
    """Events of one kind (in `window`, of `campaign`), counted; at least one by default."""

    event: EmailEventKind
    count: IntCondition | None = None
    window: DateWindow | None = None
    campaign: str | None = None


@dataclass(frozen=True)
class CustomFieldMatch:
    """Exactly one of `string`, `number`, `date`, `exists`. A string condition sees JSON
    strings only, a number condition JSON numbers, a date condition strings that start with
    an ISO date (YYYY-MM-DD, compared by day); any other value counts as no value."""

    key: str
    string: StringCondition | None = None
    number: IntCondition | None = None
    date: DateCondition | None = None
    exists: bool | None = None


@dataclass(frozen=True)
class SegmentIn:
    """Membership of another segment (default or custom), by primary key."""

    segment: int


Leaf = (
    StringMatch
    | DateMatch
    | AgeMatch
    | SubscriptionStatusIn
    | EmailRiskIn
    | FlagIs
    | TagMatch
    | ProductMatch
    | ProductProgress
    | PurchaseMatch
    | EmailActivity
    | CustomFieldMatch
    | SegmentIn
)
Filter = And | Or | Not | Leaf

MAX_DEPTH = 10
MAX_CONDITIONS = 200
MAX_LIST = 1000
