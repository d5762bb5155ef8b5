"""One line of plain English per filter node, for explanations."""

from __future__ import annotations

from collections.abc import Mapping

from app.filters import ast

_STRING_OPS = {
    "eq": "is",
    "neq": "is not",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "in": "is one of",
}
_FIELDS = {
    "email": "email",
    "first_name": "first name",
    "last_name": "last name",
    "country": "country",
    "created_at": "created",
    "birth_date": "birth date",
    "is_customer": "is a customer",
    "is_inactive": "is inactive",
    "is_hard_bounced": "is hard bounced",
    "is_excluded": "is excluded",
}


def describe(node: ast.Filter, segment_names: Mapping[int, str] | None = None) -> str:
    match node:
        case ast.And(children):
            return f"all of {len(children)} conditions hold"
        case ast.Or(children):
            return f"any of {len(children)} conditions holds"
        case ast.Not():
            return "the condition below does not hold"
        case ast.StringMatch(field, condition):
            return f"{_FIELDS[field]} {string_condition(condition)}"
        case ast.DateMatch(field, condition):
            return f"{_FIELDS[field]} {date_condition(condition)}"
        case ast.AgeMatch(condition):
            return f"age {int_condition(condition)}"
        case ast.SubscriptionStatusIn(statuses):
            return "subscription status is " + " or ".join(s.value for s in statuses)
        case ast.EmailRiskIn(risks):
            return "email risk is " + " or ".join(r.value for r in risks)
        case ast.FlagIs(flag, value):
            return _FIELDS[flag] if value else f"not: {_FIELDS[flag]}"
        case ast.TagMatch(has_any, has_all, has_none):
            return "; ".join(
                f"has {label} of the tags {', '.join(names)}"
                for label, names in (("any", has_any), ("all", has_all), ("none", has_none))
                if names is not None
            )
        case ast.ProductMatch(owns_any, owns_all, owns_none):
            return "; ".join(
                f"owns {label} of {len(ids)} product(s)"
                for label, ids in (("any", owns_any), ("all", owns_all), ("none", owns_none))
                if ids is not None
            )
        case ast.ProductProgress(_, percent):
            return f"progress in the product {int_condition(percent)} percent"
        case ast.PurchaseMatch(product, count, total, window):
            what = "purchases" + ("" if product is None else " of the product")
            parts = [f"count {int_condition(count)}"] if count else []
            if total:
                parts.append(f"total {int_condition(total)} cents")
            return f"{what} {window_text(window)}: {', '.join(parts) or 'at least one'}".strip()
        case ast.EmailActivity(event, count, window, campaign):
            where = f" of campaign {campaign!r}" if campaign else ""
            times = int_condition(count) if count else "at least 1"
            return f"{event.value} emails{where} {window_text(window)}: {times} time(s)"
        case ast.CustomFieldMatch(key, string, number, date, exists):
            if exists is not None:
                return f"custom field {key!r} {'is set' if exists else 'is not set'}"
            if string is not None:
                return f"custom field {key!r} {string_condition(string)}"
            if number is not None:
                return f"custom field {key!r} {int_condition(number)}"
            assert date is not None
            return f"custom field {key!r} {date_condition(date)}"
        case ast.SegmentIn(segment):
            name = (segment_names or {}).get(segment)
            return f"is in the segment {name!r}" if name else f"is in segment {segment}"
    raise TypeError(f"Not a filter node: {node!r}")


def string_condition(condition: ast.StringCondition) -> str:
    if condition.op == "is_empty":
        return "is empty" if condition.value else "is not empty"
    value = condition.value
    shown = ", ".join(repr(v) for v in value) if isinstance(value, tuple) else repr(value)
    return f"{_STRING_OPS[condition.op]} {shown} (any case)"


def int_condition(condition: ast.IntCondition) -> str:
    parts = [
        f"{symbol} {bound}"
        for symbol, bound in (
            ("=", condition.eq),
            (">", condition.gt),
            (">=", condition.gte),
            ("<", condition.lt),
            ("<=", condition.lte),
        )
        if bound is not None
    ]
    return " and ".join(parts)


def date_condition(condition: ast.DateCondition) -> str:
    parts: list[str] = []
    if condition.is_empty is not None:
        parts.append("is empty" if condition.is_empty else "is set")
    if condition.before is not None:
        parts.append(f"before {condition.before.isoformat()}")
    if condition.after is not None:
        parts.append(f"after {condition.after.isoformat()}")
    if condition.within_last_days is not None:
        parts.append(f"within the last {condition.within_last_days} days")
    if condition.more_than_days_ago is not None:
        parts.append(f"more than {condition.more_than_days_ago} days ago")
    return " and ".join(parts)


def window_text(window: ast.DateWindow | None) -> str:
    if window is None:
        return "ever"
    parts: list[str] = []
    if window.within_last_days is not None:
        parts.append(f"in the last {window.within_last_days} days")
    if window.since is not None:
        parts.append(f"since {window.since.isoformat()}")
    if window.until is not None:
        parts.append(f"until {window.until.isoformat()}")
    return " and ".join(parts)
