"""Compile a filter tree into one SQL predicate over `contacts c`, for one account.

Every predicate is two-valued (never NULL), so `NOT` is the plain complement within the account.
Tags, products, purchases and events are tested with correlated EXISTS / NOT EXISTS semi-joins
(and "has all of" with a grouped semi-join); counts and totals that may be zero use a
correlated scalar subquery. Segment references are inlined with their own filter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.filters import ast
from app.filters.codec import ANY, PERCENT, Domain, clamp, int_bounds
from app.filters.errors import FilterError
from app.filters.sql import (
    FALSE,
    TRUE,
    Dialect,
    Sql,
    all_of,
    any_of,
    day_param,
    join,
    placeholders,
    sql,
    time_param,
)
from app.text import fold

LIKE_ESCAPE = "\\"
_DAY_PATTERN_PG = "^[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DAY_PATTERN_SQLITE = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"

# What a segment reference stands for: its filter, or None for every contact.
SegmentFilters = Mapping[int, ast.Filter | None]


def escape_like(value: str) -> str:
    return (
        value.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def start_of_day_after(moment: datetime) -> date:
    """The first day whose midnight is at or after `moment` (day values count as midnight)."""
    day = moment.date()
    return day if moment.time() == time(0) else day + timedelta(days=1)


def age_threshold(today: date, years: int) -> date:
    """age(b) >= years  <=>  b < age_threshold(today, years), for whole years at `today`."""
    year = today.year - years
    if year < 1:
        return date.min
    if year > 9999:
        return date.max
    try:
        return date(year, today.month, today.day) + timedelta(days=1)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)
    except OverflowError:
        return date.max


@dataclass
class Compiler:
    account_id: int
    now: datetime
    dialect: Dialect
    segments: SegmentFilters = field(default_factory=dict)
    _inlining: tuple[int, ...] = ()

    # -- parameters in each database's own format -------------------------------------------

    def time_param(self, moment: datetime) -> Any:
        return time_param(moment, self.dialect)

    def _day(self, day: date) -> Any:
        return day_param(day, self.dialect)

    # -- the tree ------------------------------------------------------------------------------

    def predicate(self, node: ast.Filter) -> Sql:
        match node:
            case ast.And(children):
                return all_of(self.predicate(child) for child in children)
            case ast.Or(children):
                return any_of(self.predicate(child) for child in children)
            case ast.Not(child):
                return Sql("NOT ") + self.predicate(child).wrap()
            case ast.StringMatch(field_name, condition):
                if field_name == "email":  # email_lower is stored folded and indexed
                    return string_predicate(Sql("c.email_lower"), condition, folded=True)
                return string_predicate(Sql(f"c.{field_name}"), condition)
            case ast.DateMatch("created_at", condition):
                return self._datetime_predicate(Sql("c.created_at"), condition)
            case ast.DateMatch(_, condition):
                return self._day_predicate(Sql("c.birth_date"), condition, self._day)
            case ast.AgeMatch(condition):
                return self._age(condition)
            case ast.SubscriptionStatusIn(statuses):
                return in_list(Sql("c.subscription_status"), [s.value for s in statuses])
            case ast.EmailRiskIn(risks):
                return in_list(Sql("c.email_risk"), [r.value for r in risks])
            case ast.FlagIs(flag, value):
                return sql(f"c.{flag} = ?", value)
            case ast.TagMatch() as tags:
                return self._tags(tags)
            case ast.ProductMatch() as products:
                return self._products(products)
            case ast.ProductProgress(product, percent):
                rows = self._owned() + sql(" AND o.product_id = ?", product)
                # Clamped to 0-100: progress is a small integer column, bounds may be huge.
                progress = int_range(Sql("o.progress"), percent, domain=PERCENT)
                return exists(rows + Sql(" AND ") + progress)
            case ast.PurchaseMatch() as purchases:
                return self._purchases(purchases)
            case ast.EmailActivity() as activity:
                return self._activity(activity)
            case ast.CustomFieldMatch() as custom:
                return self._custom(custom)
            case ast.SegmentIn(segment):
                return self._segment(segment)
        raise TypeError(f"Not a filter node: {node!r}")

    # -- dates -----------------------------------------------------------------------------------

    def _datetime_predicate(self, column: Sql, condition: ast.DateCondition) -> Sql:
        if condition.is_empty is not None and _only_is_empty(condition):
            return Sql(f"{column.text} IS {'' if condition.is_empty else 'NOT '}NULL")
        parts = [Sql(f"{column.text} IS NOT NULL")]
        if condition.before is not None:
            parts.append(column + sql(" < ?", self.time_param(condition.before)))
        if condition.after is not None:
            parts.append(column + sql(" > ?", self.time_param(condition.after)))
        if condition.within_last_days is not None:
            since = self.now - timedelta(days=condition.within_last_days)
            parts.append(column + sql(" >= ?", self.time_param(since)))
            parts.append(column + sql(" <= ?", self.time_param(self.now)))
        if condition.more_than_days_ago is not None:
            cutoff = self.now - timedelta(days=condition.more_than_days_ago)
            parts.append(column + sql(" < ?", self.time_param(cutoff)))
        return all_of(parts)

    def _day_predicate(
        self, value: Sql, condition: ast.DateCondition, bind: Callable[[date], Any]
    ) -> Sql:
        """A day value (midnight UTC) against datetime bounds, as day comparisons."""
        if condition.is_empty is not None and _only_is_empty(condition):
            return Sql(f"{value.text} IS {'' if condition.is_empty else 'NOT '}NULL", value.params)
        parts = [Sql(f"{value.text} IS NOT NULL", value.params)]
        if condition.before is not None:
            parts.append(value + sql(" < ?", bind(start_of_day_after(condition.before))))
        if condition.after is not None:
            parts.append(value + sql(" > ?", bind(condition.after.astimezone(UTC).date())))
        if condition.within_last_days is not None:
            since = self.now - timedelta(days=condition.within_last_days)
            parts.append(value + sql(" >= ?", bind(start_of_day_after(since.astimezone(UTC)))))
            parts.append(value + sql(" <= ?", bind(self.now.astimezone(UTC).date())))
        if condition.more_than_days_ago is not None:
            cutoff = self.now - timedelta(days=condition.more_than_days_ago)
            parts.append(value + sql(" < ?", bind(start_of_day_after(cutoff.astimezone(UTC)))))
        return all_of(parts)

    def _age(self, condition: ast.IntCondition) -> Sql:
        today = self.now.astimezone(UTC).date()
        low, high = int_bounds(condition)
        parts = [Sql("c.birth_date IS NOT NULL")]
        if low is not None:
            parts.append(sql("c.birth_date < ?", self._day(age_threshold(today, low))))
        if high is not None:
            parts.append(sql("c.birth_date >= ?", self._day(age_threshold(today, high + 1))))
        return all_of(parts)

    def _window(self, column: str, window: ast.DateWindow | None) -> Sql:
        if window is None:
            return Sql("")
        parts: list[Sql] = []
        if window.within_last_days is not None:
            since = self.now - timedelta(days=window.within_last_days)
            parts.append(sql(f" AND {column} >= ?", self.time_param(since)))
            parts.append(sql(f" AND {column} <= ?", self.time_param(self.now)))
        if window.since is not None:
            parts.append(sql(f" AND {column} >= ?", self.time_param(window.since)))
        if window.until is not None:
            parts.append(sql(f" AND {column} < ?", self.time_param(window.until)))
        return join("", parts)

    # -- related rows --------------------------------------------------------------------------

    def _tag_ids(self, names: tuple[str, ...]) -> Sql:
        folded = sorted({fold(name) for name in names})
        return (
            sql(
                "SELECT t.id FROM tags t WHERE t.account_id = ? AND t.name_lower IN (",
                self.account_id,
            )
            + placeholders(folded)
            + Sql(")")
        )

    def _tagged(self) -> Sql:
        return sql(
            "SELECT 1 FROM contact_tags ct WHERE ct.account_id = ? AND ct.contact_id = c.id",
            self.account_id,
        )

    def _tags(self, tags: ast.TagMatch) -> Sql:
        parts: list[Sql] = []
        if tags.has_any is not None:
            parts.append(
                exists(
                    self._tagged()
                    + Sql(" AND ct.tag_id IN (")
                    + self._tag_ids(tags.has_any)
                    + Sql(")")
                )
            )
        if tags.has_all is not None:
            wanted = len({fold(name) for name in tags.has_all})
            parts.append(
                self._holding_all(
                    "contact_tags ct", "ct", "ct.tag_id IN (", self._tag_ids(tags.has_all), wanted
                )
            )
        if tags.has_none is not None:
            parts.append(
                not_exists(
                    self._tagged()
                    + Sql(" AND ct.tag_id IN (")
                    + self._tag_ids(tags.has_none)
                    + Sql(")")
                )
            )
        return all_of(parts)

    def _holding_all(self, table: str, alias: str, test: str, values: Sql, wanted: int) -> Sql:
        """Contacts with `wanted` distinct matching rows: a grouped semi-join. The subquery's
        contact_id is never NULL, so IN is a safe semi-join here."""
        return (
            sql(
                f"c.id IN (SELECT {alias}.contact_id FROM {table} "
                f"WHERE {alias}.account_id = ? AND {test}",
                self.account_id,
            )
            + values
            + sql(f") GROUP BY {alias}.contact_id HAVING COUNT(*) = ?)", wanted)
        )

    def _owned(self) -> Sql:
        return sql(
            "SELECT 1 FROM owned_products o WHERE o.account_id = ? AND o.contact_id = c.id",
            self.account_id,
        )

    def _products(self, products: ast.ProductMatch) -> Sql:
        parts: list[Sql] = []
        if products.owns_any is not None:
            parts.append(
                exists(
                    self._owned()
                    + Sql(" AND o.product_id IN (")
                    + placeholders(sorted(set(products.owns_any)))
                    + Sql(")")
                )
            )
        if products.owns_all is not None:
            ids = sorted(set(products.owns_all))
            parts.append(
                self._holding_all(
                    "owned_products o", "o", "o.product_id IN (", placeholders(ids), len(ids)
                )
            )
        if products.owns_none is not None:
            parts.append(
                not_exists(
                    self._owned()
                    + Sql(" AND o.product_id IN (")
                    + placeholders(sorted(set(products.owns_none)))
                    + Sql(")")
                )
            )
        return all_of(parts)

    def _purchases(self, purchases: ast.PurchaseMatch) -> Sql:
        rows = sql(
            " FROM purchases p WHERE p.account_id = ? AND p.contact_id = c.id", self.account_id
        )
        if purchases.product is not None:
            rows = rows + sql(" AND p.product_id = ?", purchases.product)
        rows = rows + self._window("p.occurred_at", purchases.window)
        if purchases.count is None and purchases.total_cents is None:
            return exists(Sql("SELECT 1") + rows)
        parts: list[Sql] = []
        if purchases.count is not None:
            parts.append(counted(rows, purchases.count))
        if purchases.total_cents is not None:
            total = Sql("(SELECT COALESCE(SUM(p.amount_cents), 0)") + rows + Sql(")")
            parts.append(int_range(total, purchases.total_cents))
        return all_of(parts)

    def _activity(self, activity: ast.EmailActivity) -> Sql:
        rows = sql(
            " FROM email_events e WHERE e.account_id = ? AND e.contact_id = c.id AND e.kind = ?",
            self.account_id,
            activity.event.value,
        )
        if activity.campaign is not None:
            rows = rows + sql(" AND e.campaign = ?", activity.campaign)
        rows = rows + self._window("e.occurred_at", activity.window)
        return counted(rows, activity.count or ast.IntCondition(gte=1))

    # -- custom fields -------------------------------------------------------------------------

    def _custom(self, custom: ast.CustomFieldMatch) -> Sql:
        if custom.exists is not None:
            kind = self._json_type(custom.key)
            present = Sql(f"COALESCE({kind.text}, 'null') <> 'null'", kind.params)
            return present if custom.exists else Sql("NOT ") + present.wrap()
        if custom.string is not None:
            return string_predicate(self._json_value(custom.key, "string"), custom.string)
        if custom.number is not None:
            return number_predicate(self._json_value(custom.key, "number"), custom.number)
        assert custom.date is not None
        return self._day_predicate(self._json_value(custom.key, "day"), custom.date, date.isoformat)

    def _json_type(self, key: str) -> Sql:
        if self.dialect == "postgres":
            return sql("jsonb_typeof(c.custom_fields -> ?::text)", key)
        return sql("(SELECT j.type FROM json_each(c.custom_fields) j WHERE j.key = ?)", key)

    def _json_value(self, key: str, kind: str) -> Sql:
        """The value under `key` when it has the wanted kind, else NULL."""
        if self.dialect == "postgres":
            text = sql("(c.custom_fields ->> ?::text)", key)
            kind_test = sql("jsonb_typeof(c.custom_fields -> ?::text)", key)
            if kind == "number":
                return (
                    Sql("(CASE WHEN ")
                    + kind_test
                    + Sql(" = 'number' THEN ")
                    + text
                    + Sql("::numeric END)")
                )
            if kind == "string":
                return (
                    Sql("(CASE WHEN ") + kind_test + Sql(" = 'string' THEN ") + text + Sql(" END)")
                )
            return (
                Sql("(CASE WHEN ")
                + kind_test
                + Sql(" = 'string' AND ")
                + text
                + sql(" ~ ? THEN left(", _DAY_PATTERN_PG)
                + text
                + Sql(", 10) END)")
            )
        each = sql("FROM json_each(c.custom_fields) j WHERE j.key = ?", key)
        if kind == "number":
            return Sql("(SELECT j.value ") + each + Sql(" AND j.type IN ('integer', 'real'))")
        if kind == "string":
            return Sql("(SELECT j.value ") + each + Sql(" AND j.type = 'text')")
        return (
            Sql("(SELECT substr(j.value, 1, 10) ")
            + each
            + sql(" AND j.type = 'text' AND j.value GLOB ?)", _DAY_PATTERN_SQLITE)
        )

    # -- segment references ----------------------------------------------------------------

    def _segment(self, segment: int) -> Sql:
        if segment not in self.segments:
            raise FilterError(("segment", "in"), "No such segment in this account.")
        if segment in self._inlining:
            raise FilterError(("segment", "in"), "Segment references form a cycle.")
        tree = self.segments[segment]
        if tree is None:
            return TRUE
        inner = Compiler(
            self.account_id, self.now, self.dialect, self.segments, self._inlining + (segment,)
        )
        return inner.predicate(tree).wrap()


def _only_is_empty(condition: ast.DateCondition) -> bool:
    bounds = (
        condition.before,
        condition.after,
        condition.within_last_days,
        condition.more_than_days_ago,
    )
    return all(bound is None for bound in bounds)


def exists(subquery: Sql) -> Sql:
    return Sql("EXISTS (") + subquery + Sql(")")


def not_exists(subquery: Sql) -> Sql:
    return Sql("NOT EXISTS (") + subquery + Sql(")")


def counted(rows: Sql, condition: ast.IntCondition) -> Sql:
    """The number of `rows` (a FROM ... WHERE ... tail) satisfies the condition. At least one
    and none are semi-joins; other counts (which may include zero) a scalar subquery."""
    low, high = int_bounds(condition)
    low = max(low or 0, 0)
    if high is None and low <= 1:
        return exists(Sql("SELECT 1") + rows) if low == 1 else TRUE
    if high is not None and high < low:
        return FALSE
    if high == 0:
        return not_exists(Sql("SELECT 1") + rows)
    number = Sql("(SELECT COUNT(*)") + rows + Sql(")")
    return int_range(number, ast.IntCondition(gte=low, lte=high))


def int_range(value: Sql, condition: ast.IntCondition, domain: Domain = ANY) -> Sql:
    """An integer expression within the condition's bounds (narrowed to the values the
    expression can take), the expression written once."""
    low, high = clamp(int_bounds(condition), domain)
    if low is not None and high is not None:
        if low > high:
            return FALSE
        if low == high:
            return value + sql(" = ?", low)
        return value + sql(" BETWEEN ? AND ?", low, high)
    if low is not None:
        return value + sql(" >= ?", low)
    if high is not None:
        return value + sql(" <= ?", high)
    return TRUE


def number_predicate(value: Sql, condition: ast.IntCondition) -> Sql:
    """Numbers that may be fractional: each bound as given (gt 5 admits 5.5)."""
    parts = [Sql(f"{value.text} IS NOT NULL", value.params)]
    for op, bound in (
        ("=", condition.eq),
        (">", condition.gt),
        (">=", condition.gte),
        ("<", condition.lt),
        ("<=", condition.lte),
    ):
        if bound is not None:
            parts.append(value + sql(f" {op} ?", bound))
    return all_of(parts)


def in_list(column: Sql, values: list[Any]) -> Sql:
    return column + Sql(" IN (") + placeholders(values) + Sql(")")


def string_predicate(value: Sql, condition: ast.StringCondition, *, folded: bool = False) -> Sql:
    """Case-insensitive string conditions; positive ones are false on NULL, negative ones true."""
    lowered = value if folded else Sql(f"lower({value.text})", value.params)
    present = Sql(f"{value.text} IS NOT NULL", value.params)
    missing = Sql(f"{value.text} IS NULL", value.params)
    op, operand = condition.op, condition.value
    if op == "is_empty":
        if operand:
            return any_of([missing, value + sql(" = ?", "")])
        return all_of([present, value + sql(" <> ?", "")])
    if op == "in":
        assert isinstance(operand, tuple)
        return all_of([present, in_list(lowered, sorted({fold(v) for v in operand}))])
    assert isinstance(operand, str)
    text = fold(operand)
    like = " LIKE ? ESCAPE '\\'"
    positive: dict[str, Sql] = {
        "eq": lowered + sql(" = ?", text),
        "neq": lowered + sql(" = ?", text),
        "contains": lowered + sql(like, f"%{escape_like(text)}%"),
        "not_contains": lowered + sql(like, f"%{escape_like(text)}%"),
        "starts_with": lowered + sql(like, f"{escape_like(text)}%"),
        "ends_with": lowered + sql(like, f"%{escape_like(text)}"),
    }
    test = positive[op]
    if op in ast.NEGATIVE_STRING_OPS:
        return any_of([missing, Sql("NOT ") + test.wrap()])
    return all_of([present, test])
