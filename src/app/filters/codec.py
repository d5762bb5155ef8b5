"""The filter's two outside forms: the `ContactFilter` input shape (camelCase dicts, global IDs,
ISO times) and the canonical stored JSON (`{"version": 1, "filter": <input shape>}`, sorted
keys, no spaces, so two saves of one filter are byte-identical).

`parse` checks the shape as it goes and raises FilterError with the path of the bad node;
what needs the database (do the products and segments exist, do references cycle) is
`validate.py`'s job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar, cast

from app.enums import EmailEventKind, EmailRisk, SubscriptionStatus
from app.filters import ast
from app.filters.errors import FilterError
from app.filters.ids import from_global_id, to_global_id
from app.limits import MAX_DATE, MIN_DATE
from app.text import fold, normalize, text_problem

VERSION = 1
MAX_DAYS = 36_500
MAX_TEXT = 1_000

Path = tuple[str | int, ...]
E = TypeVar("E", bound=Enum)

_STRING_FIELDS: dict[str, ast.StringField] = {
    "email": "email",
    "firstName": "first_name",
    "lastName": "last_name",
    "country": "country",
}
_DATE_FIELDS: dict[str, ast.DateField] = {"createdAt": "created_at", "birthDate": "birth_date"}
_FLAGS: dict[str, ast.FlagField] = {
    "isCustomer": "is_customer",
    "isInactive": "is_inactive",
    "isHardBounced": "is_hard_bounced",
    "isExcluded": "is_excluded",
}
_STRING_OPS: dict[str, ast.StringOp] = {
    "eq": "eq",
    "neq": "neq",
    "contains": "contains",
    "notContains": "not_contains",
    "startsWith": "starts_with",
    "endsWith": "ends_with",
    "in": "in",
    "isEmpty": "is_empty",
}


# ---------------------------------------------------------------------------- reading


def parse(data: object) -> ast.Filter:
    """A filter from its input shape; FilterError names the path of the first problem."""
    tree = _node(data, (), 1)
    leaves = count_conditions(tree)
    if leaves > ast.MAX_CONDITIONS:
        raise FilterError(
            (),
            f"A filter may hold at most {ast.MAX_CONDITIONS} conditions; this one holds {leaves}.",
        )
    return tree


def count_conditions(tree: ast.Filter) -> int:
    if isinstance(tree, ast.And | ast.Or):
        return sum(count_conditions(child) for child in tree.children)
    if isinstance(tree, ast.Not):
        return count_conditions(tree.child)
    return 1


def _object(data: object, path: Path) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise FilterError(path, "Expected an object.")
    return {str(k): v for k, v in data.items() if v is not None}


def _only(data: object, path: Path, allowed: Sequence[str]) -> dict[str, Any]:
    fields = _object(data, path)
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise FilterError(
            path + (unknown[0],),
            f"Unknown field {unknown[0]!r}; expected one of {', '.join(allowed)}.",
        )
    return fields


def _one_of(data: object, path: Path, allowed: Sequence[str]) -> tuple[str, Any]:
    fields = _only(data, path, allowed)
    if len(fields) != 1:
        given = ", ".join(sorted(fields)) or "nothing"
        raise FilterError(path, f"Give exactly one field here; got {given}.")
    return next(iter(fields.items()))


_CATEGORIES = (
    ["and", "or", "not", "age", "subscriptionStatus", "emailRisk", "tags", "products"]
    + ["productProgress", "purchases", "emailActivity", "customField", "segment"]
    + list(_STRING_FIELDS)
    + list(_DATE_FIELDS)
    + list(_FLAGS)
)


def _node(data: object, path: Path, depth: int) -> ast.Filter:
    if depth > ast.MAX_DEPTH:
        raise FilterError(path, f"Filters may nest at most {ast.MAX_DEPTH} levels deep.")
    key, value = _one_of(data, path, _CATEGORIES)
    here = path + (key,)
    if key in ("and", "or"):
        if not isinstance(value, list) or not value:
            raise FilterError(here, f"An {key!r} group needs at least one filter.")
        children = tuple(_node(child, here + (i,), depth + 1) for i, child in enumerate(value))
        return ast.And(children) if key == "and" else ast.Or(children)
    if key == "not":
        return ast.Not(_node(value, here, depth + 1))
    if key in _STRING_FIELDS:
        return ast.StringMatch(_STRING_FIELDS[key], _string_condition(value, here))
    if key in _DATE_FIELDS:
        return ast.DateMatch(_DATE_FIELDS[key], _date_condition(value, here))
    if key in _FLAGS:
        return ast.FlagIs(_FLAGS[key], _bool(value, here))
    return _LEAVES[key](value, here)


def _string_condition(data: object, path: Path) -> ast.StringCondition:
    key, value = _one_of(data, path, list(_STRING_OPS))
    op = _STRING_OPS[key]
    here = path + (key,)
    if op == "is_empty":
        return ast.StringCondition(op, _bool(value, here))
    if op == "in":
        return ast.StringCondition(op, _strings(value, here))
    return ast.StringCondition(op, _text(value, here))


# The values a condition can meet: counts are never negative, progress is a percentage.
Domain = tuple[int | None, int | None]
ANY: Domain = (None, None)
COUNTS: Domain = (0, None)
PERCENT: Domain = (0, 100)


def _int_condition(
    data: object, path: Path, *, domain: Domain = ANY, fractional: bool = False
) -> ast.IntCondition:
    """Bounds that combine with AND; refused when no value of the domain meets them all
    (`fractional`: the values may lie between integers, so `gt 2, lt 3` is satisfiable)."""
    fields = _only(data, path, ["eq", "gt", "gte", "lt", "lte"])
    if not fields:
        raise FilterError(path, "Give at least one of eq, gt, gte, lt, lte.")
    values = {k: _int(v, path + (k,)) for k, v in fields.items()}
    condition = ast.IntCondition(**values)
    if fractional:
        empty = _empty_real_range(condition)
    else:
        low, high = clamp(int_bounds(condition), domain)
        empty = low is not None and high is not None and low > high
    if empty:
        raise FilterError(path, "These bounds contradict each other: no value satisfies them.")
    return condition


def clamp(bounds: tuple[int | None, int | None], domain: Domain) -> tuple[int | None, int | None]:
    """Integer bounds narrowed to a domain."""
    (low, high), (floor, ceiling) = bounds, domain
    if floor is not None:
        low = floor if low is None else max(low, floor)
    if ceiling is not None:
        high = ceiling if high is None else min(high, ceiling)
    return low, high


def _empty_real_range(condition: ast.IntCondition) -> bool:
    lows = [(v, True) for v in (condition.eq, condition.gte) if v is not None]
    lows += [(condition.gt, False)] if condition.gt is not None else []
    highs = [(v, True) for v in (condition.eq, condition.lte) if v is not None]
    highs += [(condition.lt, False)] if condition.lt is not None else []
    if not lows or not highs:
        return False
    low, low_closed = max(lows, key=lambda b: (b[0], not b[1]))
    high, high_closed = min(highs, key=lambda b: (b[0], b[1]))
    return low > high or (low == high and not (low_closed and high_closed))


def int_bounds(condition: ast.IntCondition) -> tuple[int | None, int | None]:
    """The smallest and largest integers the condition admits (None: unbounded)."""
    lows = [v for v in (condition.eq, condition.gte) if v is not None]
    if condition.gt is not None:
        lows.append(condition.gt + 1)
    highs = [v for v in (condition.eq, condition.lte) if v is not None]
    if condition.lt is not None:
        highs.append(condition.lt - 1)
    return (max(lows) if lows else None, min(highs) if highs else None)


def _date_condition(data: object, path: Path) -> ast.DateCondition:
    allowed = ["before", "after", "withinLastDays", "moreThanDaysAgo", "isEmpty"]
    fields = _only(data, path, allowed)
    if not fields:
        raise FilterError(path, f"Give at least one of {', '.join(allowed)}.")
    condition = ast.DateCondition(
        before=_opt(fields, "before", path, _datetime),
        after=_opt(fields, "after", path, _datetime),
        within_last_days=_opt(fields, "withinLastDays", path, _days),
        more_than_days_ago=_opt(fields, "moreThanDaysAgo", path, _days),
        is_empty=_opt(fields, "isEmpty", path, _bool),
    )
    if condition.is_empty and len(fields) > 1:
        raise FilterError(path, "isEmpty: true can't be combined with a bound.")
    if condition.before and condition.after and condition.before <= condition.after:
        raise FilterError(path, "`before` must be later than `after`.")
    within, older = condition.within_last_days, condition.more_than_days_ago
    if within is not None and older is not None and within <= older:
        raise FilterError(path, "withinLastDays must be more than moreThanDaysAgo.")
    return condition


def _window(data: object, path: Path) -> ast.DateWindow:
    fields = _only(data, path, ["withinLastDays", "since", "until"])
    if not fields:
        raise FilterError(path, "Give at least one of withinLastDays, since, until.")
    window = ast.DateWindow(
        within_last_days=_opt(fields, "withinLastDays", path, _days),
        since=_opt(fields, "since", path, _datetime),
        until=_opt(fields, "until", path, _datetime),
    )
    if window.since and window.until and window.since >= window.until:
        raise FilterError(path, "`until` must be later than `since`.")
    return window


def _age(data: object, path: Path) -> ast.Filter:
    return ast.AgeMatch(_int_condition(data, path, domain=COUNTS))


def _subscription(data: object, path: Path) -> ast.Filter:
    fields = _only(data, path, ["in"])
    values = _list(fields.get("in"), path + ("in",))
    return ast.SubscriptionStatusIn(
        tuple(_enum(SubscriptionStatus, v, path + ("in", i)) for i, v in enumerate(values))
    )


def _risk(data: object, path: Path) -> ast.Filter:
    fields = _only(data, path, ["in"])
    values = _list(fields.get("in"), path + ("in",))
    return ast.EmailRiskIn(
        tuple(_enum(EmailRisk, v, path + ("in", i)) for i, v in enumerate(values))
    )


def _tags(data: object, path: Path) -> ast.Filter:
    fields = _only(data, path, ["hasAny", "hasAll", "hasNone"])
    if not fields:
        raise FilterError(path, "Give at least one of hasAny, hasAll, hasNone.")
    lists = {k: _strings(v, path + (k,)) for k, v in fields.items()}
    lowered = {k: {fold(name) for name in v} for k, v in lists.items()}
    _check_exclusive(lowered, path, "hasAny", "hasAll", "hasNone", "tag")
    return ast.TagMatch(lists.get("hasAny"), lists.get("hasAll"), lists.get("hasNone"))


def _products(data: object, path: Path) -> ast.Filter:
    fields = _only(data, path, ["ownsAny", "ownsAll", "ownsNone"])
    if not fields:
        raise FilterError(path, "Give at least one of ownsAny, ownsAll, ownsNone.")
    lists = {
        k: tuple(_id(v, path + (k, i), "Product") for i, v in enumerate(_list(items, path + (k,))))
        for k, items in fields.items()
    }
    _check_exclusive(
        {k: set(v) for k, v in lists.items()}, path, "ownsAny", "ownsAll", "ownsNone", "product"
    )
    return ast.ProductMatch(lists.get("ownsAny"), lists.get("ownsAll"), lists.get("ownsNone"))


def _check_exclusive(
    sets: Mapping[str, set[Any]], path: Path, any_key: str, all_key: str, none_key: str, what: str
) -> None:
    excluded = sets.get(none_key, set())
    if excluded & sets.get(all_key, set()):
        raise FilterError(path + (none_key,), f"A {what} can't be both required and excluded.")
    if any_key in sets and sets[any_key] <= excluded:
        raise FilterError(path + (none_key,), f"Every {what} of {any_key} is excluded.")


def _progress(data: object, path: Path) -> ast.Filter:
    fields = _only(data, path, ["product", "percent"])
    for required in ("product", "percent"):
        if required not in fields:
            raise FilterError(path + (required,), f"{required} is required.")
    return ast.ProductProgress(
        _id(fields["product"], path + ("product",), "Product"),
        _int_condition(fields["percent"], path + ("percent",), domain=PERCENT),
    )


def _purchases(data: object, path: Path) -> ast.Filter:
    fields = _only(data, path, ["product", "count", "totalCents", "window"])
    return ast.PurchaseMatch(
        product=_opt(fields, "product", path, lambda v, p: _id(v, p, "Product")),
        count=_opt(fields, "count", path, lambda v, p: _int_condition(v, p, domain=COUNTS)),
        total_cents=_opt(fields, "totalCents", path, _int_condition),
        window=_opt(fields, "window", path, _window),
    )


def _activity(data: object, path: Path) -> ast.Filter:
    fields = _only(data, path, ["event", "count", "window", "campaign"])
    if "event" not in fields:
        raise FilterError(path + ("event",), "event is required.")
    return ast.EmailActivity(
        event=_enum(EmailEventKind, fields["event"], path + ("event",)),
        count=_opt(fields, "count", path, lambda v, p: _int_condition(v, p, domain=COUNTS)),
        window=_opt(fields, "window", path, _window),
        campaign=_opt(fields, "campaign", path, _text),
    )


def _custom(data: object, path: Path) -> ast.Filter:
    fields = _only(data, path, ["key", "string", "number", "date", "exists"])
    if "key" not in fields:
        raise FilterError(path + ("key",), "key is required.")
    key = _text(fields.pop("key"), path + ("key",))
    if len(key) > 100:
        raise FilterError(path + ("key",), "Custom field names are at most 100 characters.")
    kind, value = _one_of(fields, path, ["string", "number", "date", "exists"])
    here = path + (kind,)
    if kind == "string":
        return ast.CustomFieldMatch(key, string=_string_condition(value, here))
    if kind == "number":
        return ast.CustomFieldMatch(key, number=_int_condition(value, here, fractional=True))
    if kind == "date":
        return ast.CustomFieldMatch(key, date=_date_condition(value, here))
    return ast.CustomFieldMatch(key, exists=_bool(value, here))


def _segment(data: object, path: Path) -> ast.Filter:
    fields = _only(data, path, ["in"])
    if "in" not in fields:
        raise FilterError(path + ("in",), "in is required: the ID of a segment.")
    return ast.SegmentIn(_id(fields["in"], path + ("in",), "Segment"))


_LEAVES: dict[str, Callable[[object, Path], ast.Filter]] = {
    "age": _age,
    "subscriptionStatus": _subscription,
    "emailRisk": _risk,
    "tags": _tags,
    "products": _products,
    "productProgress": _progress,
    "purchases": _purchases,
    "emailActivity": _activity,
    "customField": _custom,
    "segment": _segment,
}

T = TypeVar("T")


def _opt(
    fields: Mapping[str, Any], key: str, path: Path, read: Callable[[Any, Path], T]
) -> T | None:
    return read(fields[key], path + (key,)) if key in fields else None


def _bool(value: object, path: Path) -> bool:
    if not isinstance(value, bool):
        raise FilterError(path, "Expected true or false.")
    return value


def _int(value: object, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FilterError(path, "Expected an integer.")
    if abs(value) > 2**53:
        raise FilterError(path, "This number is out of range.")
    return value


def _days(value: object, path: Path) -> int:
    days = _int(value, path)
    if not 0 <= days <= MAX_DAYS:
        raise FilterError(path, f"A number of days is between 0 and {MAX_DAYS}.")
    return days


def _text(value: object, path: Path) -> str:
    if not isinstance(value, str):
        raise FilterError(path, "Expected a string.")
    problem = text_problem(value)
    if problem:  # a value no database can store would break every read of the segment
        raise FilterError(path, f"The value {problem}.")
    value = normalize(value)
    if not value.strip():
        raise FilterError(path, "The value may not be empty (to match empty values, use isEmpty).")
    if len(value) > MAX_TEXT:
        raise FilterError(path, f"Values are at most {MAX_TEXT} characters.")
    return value


def _list(value: object, path: Path) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise FilterError(path, "Expected a non-empty list.")
    if len(value) > ast.MAX_LIST:
        raise FilterError(
            path, f"Lists hold at most {ast.MAX_LIST} values; this one holds {len(value)}."
        )
    return value


def _strings(value: object, path: Path) -> tuple[str, ...]:
    return tuple(_text(item, path + (i,)) for i, item in enumerate(_list(value, path)))


def _enum(enum: type[E], value: object, path: Path) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum)
        raise FilterError(path, f"{value!r} is not one of {allowed}.") from None


def _datetime(value: object, path: Path) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise FilterError(path, f"{value!r} is not an ISO-8601 date-time.") from None
    if not isinstance(value, datetime):
        raise FilterError(path, "Expected a date-time.")
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        in_range = MIN_DATE <= moment.date() <= MAX_DATE
    except OverflowError:
        in_range = False
    if not in_range:
        raise FilterError(path, f"Dates are between {MIN_DATE} and {MAX_DATE}.")
    return moment


def _id(value: object, path: Path, type_name: str) -> int:
    pk = from_global_id(value, type_name) if isinstance(value, str) else None
    if pk is None:
        raise FilterError(path, f"Expected the ID of a {type_name}.")
    return pk


# ---------------------------------------------------------------------------- writing


def to_input(tree: ast.Filter) -> dict[str, Any]:
    """The filter in the shape of the `ContactFilter` input."""
    match tree:
        case ast.And(children):
            return {"and": [to_input(child) for child in children]}
        case ast.Or(children):
            return {"or": [to_input(child) for child in children]}
        case ast.Not(child):
            return {"not": to_input(child)}
        case ast.StringMatch(field, condition):
            return {_key(_STRING_FIELDS, field): _string_out(condition)}
        case ast.DateMatch(field, condition):
            return {_key(_DATE_FIELDS, field): _date_out(condition)}
        case ast.FlagIs(flag, value):
            return {_key(_FLAGS, flag): value}
        case ast.AgeMatch(condition):
            return {"age": _int_out(condition)}
        case ast.SubscriptionStatusIn(statuses):
            return {"subscriptionStatus": {"in": [s.value for s in statuses]}}
        case ast.EmailRiskIn(risks):
            return {"emailRisk": {"in": [r.value for r in risks]}}
        case ast.TagMatch(has_any, has_all, has_none):
            return {
                "tags": _drop_none(
                    hasAny=_seq(has_any), hasAll=_seq(has_all), hasNone=_seq(has_none)
                )
            }
        case ast.ProductMatch(owns_any, owns_all, owns_none):
            return {
                "products": _drop_none(
                    ownsAny=_ids(owns_any), ownsAll=_ids(owns_all), ownsNone=_ids(owns_none)
                )
            }
        case ast.ProductProgress(product, percent):
            return {
                "productProgress": {
                    "product": to_global_id("Product", product),
                    "percent": _int_out(percent),
                }
            }
        case ast.PurchaseMatch(product, count, total, window):
            return {
                "purchases": _drop_none(
                    product=None if product is None else to_global_id("Product", product),
                    count=_int_out(count),
                    totalCents=_int_out(total),
                    window=_window_out(window),
                )
            }
        case ast.EmailActivity(event, count, window, campaign):
            return {
                "emailActivity": _drop_none(
                    event=event.value,
                    count=_int_out(count),
                    window=_window_out(window),
                    campaign=campaign,
                )
            }
        case ast.CustomFieldMatch(key, string, number, date, exists):
            return {
                "customField": _drop_none(
                    key=key,
                    string=None if string is None else _string_out(string),
                    number=_int_out(number),
                    date=None if date is None else _date_out(date),
                    exists=exists,
                )
            }
        case ast.SegmentIn(segment):
            return {"segment": {"in": to_global_id("Segment", segment)}}
    raise TypeError(f"Not a filter node: {tree!r}")


def _key(table: Mapping[str, str], value: str) -> str:
    return next(k for k, v in table.items() if v == value)


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _seq(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


def _ids(values: tuple[int, ...] | None) -> list[str] | None:
    return None if values is None else [to_global_id("Product", v) for v in values]


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _string_out(condition: ast.StringCondition) -> dict[str, Any]:
    value = list(condition.value) if isinstance(condition.value, tuple) else condition.value
    return {_key(_STRING_OPS, condition.op): value}


def _int_out(condition: ast.IntCondition | None) -> dict[str, int] | None:
    if condition is None:
        return None
    return _drop_none(
        eq=condition.eq, gt=condition.gt, gte=condition.gte, lt=condition.lt, lte=condition.lte
    )


def _date_out(condition: ast.DateCondition) -> dict[str, Any]:
    return _drop_none(
        before=_time(condition.before),
        after=_time(condition.after),
        withinLastDays=condition.within_last_days,
        moreThanDaysAgo=condition.more_than_days_ago,
        isEmpty=condition.is_empty,
    )


def _window_out(window: ast.DateWindow | None) -> dict[str, Any] | None:
    if window is None:
        return None
    return _drop_none(
        withinLastDays=window.within_last_days, since=_time(window.since), until=_time(window.until)
    )


# ---------------------------------------------------------------------------- storing


def encode(tree: ast.Filter) -> str:
    """The canonical stored JSON: the same filter always gives the same bytes."""
    document = {"version": VERSION, "filter": to_input(tree)}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decode(stored: str) -> ast.Filter:
    document = json.loads(stored)
    if not isinstance(document, dict) or document.get("version") != VERSION:
        version = document.get("version") if isinstance(document, dict) else None
        raise FilterError((), f"Unsupported stored filter version {version!r}.")
    return parse(cast(object, document["filter"]))
