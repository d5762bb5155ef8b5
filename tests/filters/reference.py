"""A plain-Python reference evaluator of the contact filter, written from the semantics in
API.md (and the brief), not from the SQL compiler: the property tests check the compiler
against it.

Records are in-memory dataclasses with *symbolic* ids (contacts, products and segments are
numbered by the test data generator); `tests/filters/dataset.py` stores them and maps the ids
to the database's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.enums import (
    DefaultSegment,
    EmailEventKind,
    EmailRisk,
    SegmentKind,
    SubscriptionStatus,
)
from app.filters import ast
from app.text import fold

Purchase = tuple[int, int, datetime]  # (product id, amount in cents, occurred at)
Event = tuple[EmailEventKind, str | None, datetime]  # (kind, campaign, occurred at)


@dataclass
class Contact:
    id: int
    email: str
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None
    created_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    birth_date: date | None = None
    subscription_status: SubscriptionStatus = SubscriptionStatus.NEVER_SUBSCRIBED
    email_risk: EmailRisk = EmailRisk.VALID
    is_customer: bool = False
    is_inactive: bool = False
    is_hard_bounced: bool = False
    is_excluded: bool = False
    custom_fields: dict[str, Any] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)  # names, as the account stores them
    owned: dict[int, int] = field(default_factory=dict)  # product id -> progress (percent)
    purchases: list[Purchase] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class SegmentDef:
    kind: SegmentKind
    default_key: DefaultSegment | None = None
    tree: ast.Filter | None = None  # custom segments only
    name: str = ""


@dataclass
class Dataset:
    contacts: list[Contact] = field(default_factory=list)
    products: tuple[int, ...] = ()  # symbolic product ids
    tags: tuple[str, ...] = ()  # the account's tag names (unique under fold)
    segments: dict[int, SegmentDef] = field(default_factory=dict)  # symbolic pk -> definition

    def contact(self, contact_id: int) -> Contact:
        return next(c for c in self.contacts if c.id == contact_id)


# ---------------------------------------------------------------------------- evaluation


def members(tree: ast.Filter | None, dataset: Dataset, now: datetime) -> set[int]:
    """The ids of the contacts the filter holds (every contact for None)."""
    return {c.id for c in dataset.contacts if tree is None or evaluate(tree, c, dataset, now)}


def evaluate(tree: ast.Filter, contact: Contact, dataset: Dataset, now: datetime) -> bool:
    match tree:
        case ast.And(children):
            return all(evaluate(child, contact, dataset, now) for child in children)
        case ast.Or(children):
            return any(evaluate(child, contact, dataset, now) for child in children)
        case ast.Not(child):
            return not evaluate(child, contact, dataset, now)
        case ast.StringMatch(field_name, condition):
            return string_holds(condition, getattr(contact, field_name))
        case ast.DateMatch("created_at", condition):
            return date_holds(condition, contact.created_at, now)
        case ast.DateMatch("birth_date", condition):
            return date_holds(condition, midnight(contact.birth_date), now)
        case ast.AgeMatch(condition):
            if contact.birth_date is None:
                return False
            return int_holds(condition, age(contact.birth_date, now))
        case ast.SubscriptionStatusIn(statuses):
            return contact.subscription_status in statuses
        case ast.EmailRiskIn(risks):
            return contact.email_risk in risks
        case ast.FlagIs(flag, value):
            return bool(getattr(contact, flag)) == value
        case ast.TagMatch(has_any, has_all, has_none):
            return _sets_hold(
                {fold(t) for t in contact.tags},
                _folded(has_any),
                _folded(has_all),
                _folded(has_none),
            )
        case ast.ProductMatch(owns_any, owns_all, owns_none):
            return _sets_hold(
                set(contact.owned),
                None if owns_any is None else list(owns_any),
                None if owns_all is None else list(owns_all),
                None if owns_none is None else list(owns_none),
            )
        case ast.ProductProgress(product, percent):
            return product in contact.owned and int_holds(percent, contact.owned[product])
        case ast.PurchaseMatch(product, count, total_cents, window):
            bought = [
                amount
                for pid, amount, at in contact.purchases
                if (product is None or pid == product) and window_holds(window, at, now)
            ]
            if count is None and total_cents is None:
                return len(bought) >= 1
            return (count is None or int_holds(count, len(bought))) and (
                total_cents is None or int_holds(total_cents, sum(bought))
            )
        case ast.EmailActivity(event, count, window, campaign):
            n = sum(
                1
                for kind, camp, at in contact.events
                if kind == event
                and (campaign is None or camp == campaign)
                and window_holds(window, at, now)
            )
            return n >= 1 if count is None else int_holds(count, n)
        case ast.CustomFieldMatch(key, string, number, date_condition, exists):
            return custom_field_holds(
                contact.custom_fields, key, string, number, date_condition, exists, now
            )
        case ast.SegmentIn(pk):
            return segment_holds(dataset.segments[pk], contact, dataset, now)
    raise TypeError(f"Not a filter node: {tree!r}")


def segment_holds(segment: SegmentDef, contact: Contact, dataset: Dataset, now: datetime) -> bool:
    if segment.kind is SegmentKind.CUSTOM:
        assert segment.tree is not None
        return evaluate(segment.tree, contact, dataset, now)
    # The flags carry the engagement rules (app/engagement.py); Inactive and Excluded only
    # ever hold for subscribers.
    subscribed = contact.subscription_status is SubscriptionStatus.SUBSCRIBED
    match segment.default_key:
        case DefaultSegment.ALL_CONTACTS:
            return True
        case DefaultSegment.CUSTOMERS:
            return contact.is_customer
        case DefaultSegment.SUBSCRIBED:
            return subscribed
        case DefaultSegment.INACTIVE:
            return contact.is_inactive
        case DefaultSegment.HARD_BOUNCED:
            return contact.is_hard_bounced
        case DefaultSegment.EXCLUDED:
            return contact.is_excluded
    raise ValueError(f"Unknown default segment {segment.default_key!r}")


# ---------------------------------------------------------------------------- conditions


def string_holds(condition: ast.StringCondition, value: str | None) -> bool:
    op, x = condition.op, condition.value
    if op == "is_empty":
        empty = value is None or value == ""
        return empty if x else not empty
    if op == "neq":
        assert isinstance(x, str)
        return value is None or fold(value) != fold(x)
    if op == "not_contains":
        assert isinstance(x, str)
        return value is None or fold(x) not in fold(value)
    if value is None:
        return False
    v = fold(value)
    if op == "in":
        assert isinstance(x, tuple)
        return v in {fold(item) for item in x}
    assert isinstance(x, str)
    probe = fold(x)
    if op == "eq":
        return v == probe
    if op == "contains":
        return probe in v
    if op == "starts_with":
        return v.startswith(probe)
    if op == "ends_with":
        return v.endswith(probe)
    raise ValueError(f"Unknown string conditional {op!r}")


def int_holds(condition: ast.IntCondition, value: float) -> bool:
    c = condition
    return (
        (c.eq is None or value == c.eq)
        and (c.gt is None or value > c.gt)
        and (c.gte is None or value >= c.gte)
        and (c.lt is None or value < c.lt)
        and (c.lte is None or value <= c.lte)
    )


def date_holds(condition: ast.DateCondition, t: datetime | None, now: datetime) -> bool:
    c = condition
    if t is None:
        return c.is_empty is True  # isEmpty: true is never combined with a bound
    if c.is_empty is True:
        return False
    return (
        (c.before is None or t < c.before)
        and (c.after is None or t > c.after)
        and (c.within_last_days is None or now - timedelta(days=c.within_last_days) <= t <= now)
        and (c.more_than_days_ago is None or t < now - timedelta(days=c.more_than_days_ago))
    )


def window_holds(window: ast.DateWindow | None, t: datetime, now: datetime) -> bool:
    if window is None:
        return True
    w = window
    return (
        (w.within_last_days is None or now - timedelta(days=w.within_last_days) <= t <= now)
        and (w.since is None or t >= w.since)
        and (w.until is None or t < w.until)
    )


def midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def age(birth: date, now: datetime) -> int:
    today = now.astimezone(UTC).date()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def custom_day(value: object) -> date | None:
    """The day a custom field's value names: a string starting YYYY-MM-DD, else None."""
    if not isinstance(value, str) or not _ISO_DAY.match(value):
        return None
    return date.fromisoformat(value[:10])  # the generator only makes real days


def custom_field_holds(
    fields: dict[str, Any],
    key: str,
    string: ast.StringCondition | None,
    number: ast.IntCondition | None,
    date_condition: ast.DateCondition | None,
    exists: bool | None,
    now: datetime,
) -> bool:
    value = fields.get(key)
    if exists is not None:
        return (value is not None) == exists
    if string is not None:
        return string_holds(string, value if isinstance(value, str) else None)
    if number is not None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return int_holds(number, value)
    assert date_condition is not None
    return date_holds(date_condition, midnight(custom_day(value)), now)


def _folded(names: tuple[str, ...] | None) -> list[str] | None:
    return None if names is None else [fold(n) for n in names]


def _sets_hold(
    have: set[Any], any_of: list[Any] | None, all_of: list[Any] | None, none_of: list[Any] | None
) -> bool:
    return (
        (any_of is None or any(x in have for x in any_of))
        and (all_of is None or all(x in have for x in all_of))
        and (none_of is None or not any(x in have for x in none_of))
    )


# ---------------------------------------------------------------------------- explain


def nodes(
    tree: ast.Filter, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], ast.Filter]]:
    """Every node of the tree in pre-order, with its path in the input shape: camelCase keys
    and list indexes as strings (the root's path is ())."""
    yield path, tree
    match tree:
        case ast.And(children) | ast.Or(children):
            key = "and" if isinstance(tree, ast.And) else "or"
            for i, child in enumerate(children):
                yield from nodes(child, path + (key, str(i)))
        case ast.Not(child):
            yield from nodes(child, path + ("not",))


def explain(
    tree: ast.Filter, contact: Contact, dataset: Dataset, now: datetime
) -> list[tuple[tuple[str, ...], bool]]:
    """(path, truth for the contact) of every node of the tree, in pre-order."""
    return [(path, evaluate(node, contact, dataset, now)) for path, node in nodes(tree)]
