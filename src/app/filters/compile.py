"""Compile a filter tree into one SQL predicate over `contacts c`, for one account.

Every predicate is two-valued (never NULL), so `NOT` is the plain complement within the account.
Tags, products, purchases and events are sets of contact ids (app.filters.rowsets), read once as
sets when a whole list is counted and probed per contact where few contacts are tested (`probe`).
Counts that hold at zero ("fewer than 2") test for *not* being in the set of contacts with more.
Segment references are inlined with their own filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.filters import ast
from app.filters.codec import ANY, PERCENT, Domain, clamp, int_bounds
from app.filters.errors import FilterError
from app.filters.rowsets import RowSet, negate, nth_row_exists, test, union_test
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
SELF_JOIN_MAX = 4  # "has all of" up to this many values joins their rows, more are grouped
DAY_PATTERN_PG = "^[0-9]{4}-[0-9]{2}-[0-9]{2}"
DAY_PATTERN_SQLITE = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"

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
    # True where few contacts are tested (a page, an explanation, after a narrowing tag or
    # product): related rows are probed per contact, not read as sets (app.filters.rowsets).
    probe: bool = False
    # The account's tag ids by folded name, for the names the filter uses (None: looked up in
    # the statement itself). A name missing here is a tag the account doesn't have.
    tags: Mapping[str, int] | None = None
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
                return self._all(children)
            case ast.Or(children):
                return self._any(children)
            case ast.Not(child):
                return negate(self.predicate(child))
            case ast.StringMatch(field_name, condition):
                if field_name == "email":  # email_lower is stored folded and indexed
                    return string_predicate(
                        Sql("c.email_lower"), condition, self.dialect, folded=True
                    )
                return string_predicate(Sql(f"c.{field_name}"), condition, self.dialect)
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
            case ast.CustomFieldMatch() as custom:
                return self._custom(custom)
            case ast.SegmentIn(segment):
                return self._segment(segment)
        sets = self.rowsets(node)
        if sets is None:
            raise TypeError(f"Not a filter node: {node!r}")
        if isinstance(sets, Sql):
            return sets
        return all_of(test(rows, self.dialect, probe=self.probe) for rows in sets)

    def _all(self, children: tuple[ast.Filter, ...]) -> Sql:
        # The contact's own columns first: SQLite tests the conditions in the order written.
        ordered = sorted(children, key=_cost_rank)
        compiler = self
        if not self.probe and any(self.narrows(child) for child in children):
            # A tag or product has narrowed the contacts: probe the rest per contact rather
            # than read every qualifying event or purchase of the account.
            compiler = replace(self, probe=True)
            narrowing = [c for c in ordered if self.narrows(c)]
            rest = [c for c in ordered if not self.narrows(c)]
            return all_of(
                [self.predicate(c) for c in narrowing] + [compiler.predicate(c) for c in rest]
            )
        return all_of(compiler.predicate(child) for child in ordered)

    def _any(self, children: tuple[ast.Filter, ...]) -> Sql:
        # Sets of related rows in an OR are read as one: their union.
        found: list[RowSet] = []
        others: list[ast.Filter] = []
        for child in children:
            sets = None if self.probe else self.rowsets(child)
            if isinstance(sets, list) and len(sets) == 1 and not sets[0].negated:
                found.append(sets[0])
            else:
                others.append(child)
        if len(found) < 2:
            return any_of(self.predicate(child) for child in children)
        return any_of([union_test(found, self.dialect)] + [self.predicate(c) for c in others])

    def narrows(self, node: ast.Filter) -> bool:
        sets = self.rowsets(node)
        return isinstance(sets, list) and any(s.narrows and not s.negated for s in sets)

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

    # -- related rows (see app.filters.rowsets) ---------------------------------------------------

    def rowsets(self, node: ast.Filter) -> list[RowSet] | Sql | None:
        """A condition on related rows as the sets it needs (all must hold), or the constant
        it reduces to; None for anything else."""
        match node:
            case ast.TagMatch() as tags:
                return self._tags(tags)
            case ast.ProductMatch() as products:
                return self._products(products)
            case ast.ProductProgress(product, percent):
                # Clamped to 0-100: progress is a small integer column, bounds may be huge.
                progress = int_range(Sql("o.progress"), percent, domain=PERCENT)
                source = self._owned_rows() + sql(" AND o.product_id = ? AND ", product)
                return [RowSet("o", source + progress, narrows=True, unique=True)]
            case ast.PurchaseMatch() as purchases:
                return self._purchases(purchases)
            case ast.EmailActivity() as activity:
                return self._activity(activity)
        return None

    def _tag_ids(self, names: Iterable[str]) -> Sql:
        """The ids of the named tags (a list of ids when they were looked up: the planner then
        knows how many links each has)."""
        folded = sorted({fold(name) for name in names})
        if self.tags is not None:
            found = sorted({self.tags[name] for name in folded if name in self.tags})
            return placeholders(found) if found else Sql("NULL")
        return (
            sql(
                "SELECT t.id FROM tags t WHERE t.account_id = ? AND t.name_lower IN (",
                self.account_id,
            )
            + placeholders(folded)
            + Sql(")")
        )

    def _tag_id(self, name: str) -> Sql:
        """The tag's id, or NULL (which matches no link) when the account has no such tag."""
        if self.tags is not None:
            return sql("?", self.tags[name]) if name in self.tags else Sql("NULL")
        return sql(
            "(SELECT t.id FROM tags t WHERE t.account_id = ? AND t.name_lower = ?)",
            self.account_id,
            name,
        )

    def _tagged(self, alias: str = "ct") -> Sql:
        return sql(f" FROM contact_tags {alias} WHERE {alias}.account_id = ?", self.account_id)

    def _tags(self, tags: ast.TagMatch) -> list[RowSet]:
        sets: list[RowSet] = []
        if tags.has_any is not None:
            any_of_ = self._tagged() + Sql(" AND ct.tag_id IN (") + self._tag_ids(tags.has_any)
            one = len({fold(name) for name in tags.has_any}) == 1  # a link per contact and tag
            sets.append(RowSet("ct", any_of_ + Sql(")"), narrows=True, unique=one))
        if tags.has_all is not None:
            names = sorted({fold(name) for name in tags.has_all})
            sets.append(
                self._holding_all(
                    "contact_tags", "tag_id", [self._tag_id(n) for n in names], self._tag_ids(names)
                )
            )
        if tags.has_none is not None:
            none_of = self._tagged() + Sql(" AND ct.tag_id IN (") + self._tag_ids(tags.has_none)
            sets.append(RowSet("ct", none_of + Sql(")"), negated=True))
        return sets

    def _holding_all(self, table: str, column: str, values: list[Sql], listed: Sql) -> RowSet:
        """Contacts with a row for every value. For a few values, a join of one row per value
        (each an index range); for many, the rows grouped per contact and counted (rows are
        unique per contact and value)."""
        if len(values) <= SELF_JOIN_MAX:
            source = Sql(f" FROM {table} x0")
            for index, value in enumerate(values[1:], start=1):
                source = (
                    source
                    + Sql(
                        f" JOIN {table} x{index} ON x{index}.account_id = x0.account_id"
                        f" AND x{index}.contact_id = x0.contact_id AND x{index}.{column} = "
                    )
                    + value
                )
            source = source + sql(" WHERE x0.account_id = ?", self.account_id)
            # One row per value joined: a contact appears once (rows are unique per value).
            return RowSet(
                "x0", source + Sql(f" AND x0.{column} = ") + values[0], narrows=True, unique=True
            )
        source = sql(
            f" FROM {table} x0 WHERE x0.account_id = ? AND x0.{column} IN (", self.account_id
        )
        return RowSet(
            "x0", source + listed + Sql(")"), having=sql("COUNT(*) = ?", len(values)), narrows=True
        )

    def _owned_rows(self) -> Sql:
        return sql(" FROM owned_products o WHERE o.account_id = ?", self.account_id)

    def _products(self, products: ast.ProductMatch) -> list[RowSet]:
        sets: list[RowSet] = []
        if products.owns_any is not None:
            ids = placeholders(sorted(set(products.owns_any)))
            source = self._owned_rows() + Sql(" AND o.product_id IN (") + ids + Sql(")")
            one = len(set(products.owns_any)) == 1
            sets.append(RowSet("o", source, narrows=True, unique=one))
        if products.owns_all is not None:
            ids_ = sorted(set(products.owns_all))
            values = [sql("?", pk) for pk in ids_]
            sets.append(
                self._holding_all("owned_products", "product_id", values, placeholders(ids_))
            )
        if products.owns_none is not None:
            ids = placeholders(sorted(set(products.owns_none)))
            source = self._owned_rows() + Sql(" AND o.product_id IN (") + ids + Sql(")")
            sets.append(RowSet("o", source, negated=True))
        return sets

    def _purchases(self, purchases: ast.PurchaseMatch) -> list[RowSet] | Sql:
        source = sql(" FROM purchases p WHERE p.account_id = ?", self.account_id)
        if purchases.product is not None:
            source = source + sql(" AND p.product_id = ?", purchases.product)
        source = source + self._window("p.occurred_at", purchases.window)
        if purchases.count is None and purchases.total_cents is None:
            return [RowSet("p", source)]
        # A contact without purchases has a count and a total of zero.
        tests: list[tuple[Sql, bool, Sql]] = []  # (test of the group, holds at zero, probe)
        if purchases.count is not None:
            low, high = int_bounds(purchases.count)
            rows = RowSet("p", source)
            tests.append(
                (
                    int_range(Sql("COUNT(*)"), purchases.count),
                    (low or 0) <= 0 and (high is None or high >= 0),
                    counted(rows, purchases.count),
                )
            )
        if purchases.total_cents is not None:
            low, high = int_bounds(purchases.total_cents)
            total = (
                Sql("(SELECT COALESCE(SUM(p.amount_cents), 0)")
                + source
                + Sql(" AND p.contact_id = c.id)")
            )
            tests.append(
                (
                    int_range(Sql("SUM(p.amount_cents)"), purchases.total_cents),
                    (low is None or low <= 0) and (high is None or high >= 0),
                    int_range(total, purchases.total_cents),
                )
            )
        group = all_of(test for test, _, _ in tests)
        probe = all_of(probe for _, _, probe in tests)
        if all(at_zero for _, at_zero, _ in tests):
            return [RowSet("p", source, having=negate(group), negated=True, probe=probe)]
        return [RowSet("p", source, having=group, probe=probe)]

    def _activity(self, activity: ast.EmailActivity) -> list[RowSet] | Sql:
        source = sql(
            " FROM email_events e WHERE e.account_id = ? AND e.kind = ?",
            self.account_id,
            activity.event.value,
        )
        if activity.campaign is not None:
            source = source + sql(" AND e.campaign = ?", activity.campaign)
        source = source + self._window("e.occurred_at", activity.window)
        condition = activity.count or ast.IntCondition(gte=1)
        low, high = int_bounds(condition)
        low = max(low or 0, 0)
        if high is not None and high < low:
            return FALSE
        if high is None and low == 0:
            return TRUE
        rows = RowSet("e", source)
        if high is None and low == 1:
            return [rows]
        if high == 0:
            return [RowSet("e", source, negated=True)]
        probe = counted(rows, condition)
        if low == 0:  # fewer than high + 1, none included: not among those with more
            more = sql("COUNT(*) > ?", high)
            return [RowSet("e", source, having=more, negated=True, probe=probe)]
        return [RowSet("e", source, having=int_range(Sql("COUNT(*)"), condition), probe=probe)]

    # -- custom fields -------------------------------------------------------------------------

    def _custom(self, custom: ast.CustomFieldMatch) -> Sql:
        if custom.exists is not None:
            kind = self._json_type(custom.key)
            present = Sql(f"COALESCE({kind.text}, 'null') <> 'null'", kind.params)
            return present if custom.exists else Sql("NOT ") + present.wrap()
        guarded = self._json_guarded(custom) if (custom.string or custom.number) else None
        if guarded is not None:
            return guarded
        if custom.string is not None:
            return string_predicate(
                self._json_value(custom.key, "string"), custom.string, self.dialect
            )
        if custom.number is not None:
            return number_predicate(self._json_value(custom.key, "number"), custom.number)
        assert custom.date is not None
        return self._day_predicate(self._json_value(custom.key, "day"), custom.date, date.isoformat)

    def _json_guarded(self, custom: ast.CustomFieldMatch) -> Sql | None:
        """The condition on the value when it has the wanted JSON type, else its answer for no
        value: the value read as plain JSON text or number. None where the key can't be named
        this way (SQLite: see _sqlite_path)."""
        if self.dialect == "postgres":
            type_of = sql("jsonb_typeof(c.custom_fields -> ?::text)", custom.key)
            text = sql("(c.custom_fields ->> ?::text)", custom.key)
            number = Sql(f"{text.text}::numeric", text.params)
            string_type, is_number = "'string'", "= 'number'"
        else:
            path = _sqlite_path(custom.key)
            if path is None:
                return None
            type_of = sql("json_type(c.custom_fields, ?)", path)
            text = number = sql("json_extract(c.custom_fields, ?)", path)
            string_type, is_number = "'text'", "IN ('integer', 'real')"
        if custom.number is not None:
            # A CASE: the cast must never see a value of another type, whatever order the
            # planner tests conditions in.
            holds = number_predicate(number, custom.number, present=True)
            return (
                Sql("(CASE WHEN ")
                + type_of
                + Sql(f" {is_number} THEN ")
                + holds
                + Sql(" ELSE (1 = 0) END)")
            )
        assert custom.string is not None
        # Any JSON value reads as text, so the string test is safe in any order; with the type
        # test beside it (not around it) the planner runs the more selective first.
        holds = string_predicate(text, custom.string, self.dialect, present=True)
        kind = Sql(f"COALESCE({type_of.text}, '')", type_of.params)
        if _holds_without_value(custom.string):
            return any_of([kind + Sql(f" <> {string_type}"), holds])
        return all_of([kind + Sql(f" = {string_type}"), holds])

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
                + sql(" ~ ? THEN left(", DAY_PATTERN_PG)
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
            + sql(" AND j.type = 'text' AND j.value GLOB ?)", DAY_PATTERN_SQLITE)
        )

    # -- segment references ----------------------------------------------------------------

    def inline(self, segment: int) -> tuple[Compiler, ast.Filter | None]:
        """The compiler for a referenced segment's filter, and the filter (None: everyone)."""
        if segment not in self.segments:
            raise FilterError(("segment", "in"), "No such segment in this account.")
        if segment in self._inlining:
            raise FilterError(("segment", "in"), "Segment references form a cycle.")
        return replace(self, _inlining=self._inlining + (segment,)), self.segments[segment]

    def _segment(self, segment: int) -> Sql:
        inner, tree = self.inline(segment)
        return TRUE if tree is None else inner.predicate(tree).wrap()


def _only_is_empty(condition: ast.DateCondition) -> bool:
    bounds = (
        condition.before,
        condition.after,
        condition.within_last_days,
        condition.more_than_days_ago,
    )
    return all(bound is None for bound in bounds)


def counted(rows: RowSet, condition: ast.IntCondition) -> Sql:
    """The contact's number of `rows` satisfies the condition, probed: at least n is an nth
    row, at most n no (n+1)th; each probe stops at that row."""
    low, high = int_bounds(condition)
    low = max(low or 0, 0)
    if high is not None and high < low:
        return FALSE
    parts = [nth_row_exists(rows, low)] if low >= 1 else []
    if high is not None:
        parts.append(negate(nth_row_exists(rows, high + 1)))
    return all_of(parts)


_CONTACT_COLUMNS = (
    ast.StringMatch,
    ast.DateMatch,
    ast.AgeMatch,
    ast.SubscriptionStatusIn,
    ast.EmailRiskIn,
    ast.FlagIs,
)


def _cost_rank(node: ast.Filter) -> int:
    """0: the contact's own columns; 1: its custom fields; 2: anything else."""
    if isinstance(node, _CONTACT_COLUMNS):
        return 0
    return 1 if isinstance(node, ast.CustomFieldMatch) else 2


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


def number_predicate(value: Sql, condition: ast.IntCondition, *, present: bool = False) -> Sql:
    """Numbers that may be fractional: each bound as given (gt 5 admits 5.5). `present`: the
    value is known not to be NULL here."""
    parts = [] if present else [Sql(f"{value.text} IS NOT NULL", value.params)]
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


_SQLITE_PATH_SAFE = re.compile(r"[ !#-\[\]-~]*")


def _sqlite_path(key: str) -> str | None:
    """A JSON path naming exactly this key (`$."key"`), for the keys SQLite reads so: printable
    ASCII without a double quote or backslash (it takes no escapes, and misses non-ASCII keys)."""
    return f'$."{key}"' if _SQLITE_PATH_SAFE.fullmatch(key) else None


def _holds_without_value(condition: ast.StringCondition) -> bool:
    """What a string condition says of a missing value (as string_predicate answers NULL)."""
    return condition.op in ast.NEGATIVE_STRING_OPS or (
        condition.op == "is_empty" and condition.value is True
    )


def string_predicate(
    value: Sql,
    condition: ast.StringCondition,
    dialect: Dialect,
    *,
    folded: bool = False,
    present: bool = False,
) -> Sql:
    """Case-insensitive string conditions; positive ones are false on NULL, negative ones true.
    `present`: the value is known not to be NULL here."""
    lowered = value if folded else Sql(f"lower({value.text})", value.params)
    is_present = TRUE if present else Sql(f"{value.text} IS NOT NULL", value.params)
    missing = FALSE if present else Sql(f"{value.text} IS NULL", value.params)
    op, operand = condition.op, condition.value
    if op == "is_empty":
        if operand:
            return any_of([missing, value + sql(" = ?", "")])
        return all_of([is_present, value + sql(" <> ?", "")])
    if op == "in":
        assert isinstance(operand, tuple)
        return all_of([is_present, in_list(lowered, sorted({fold(v) for v in operand}))])
    assert isinstance(operand, str)
    text = fold(operand)
    # Backslash escapes LIKE's wildcards: PostgreSQL's default, which SQLite must be told. (An
    # ESCAPE clause on PostgreSQL costs a like_escape() per row under a generic plan.)
    like = " LIKE ?" if dialect == "postgres" else " LIKE ? ESCAPE '\\'"
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
    return all_of([is_present, test])
