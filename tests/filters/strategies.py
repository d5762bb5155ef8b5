"""Hypothesis strategies: small datasets of contacts (with tags, products, purchases, email
events, custom fields) around a pinned `NOW`, and filter trees over every category and
conditional of `app.filters.ast`, whose values are drawn from the dataset (so they match
sometimes) or made up (so they sometimes don't).

Ids are symbolic: products 1-3, the six default segments 1-6 (in `DefaultSegment` order),
custom segments 11-13. `tests/filters/dataset.py` maps them to the database's.

Every generated filter went through `codec.parse(codec.to_input(tree))`: only filters the API
would accept are used, in the form the API would hand to the compiler.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar

from hypothesis import reject
from hypothesis import strategies as st

from app.enums import (
    DefaultSegment,
    EmailEventKind,
    EmailRisk,
    SegmentKind,
    SubscriptionStatus,
)
from app.filters import ast, codec
from app.filters.errors import FilterError
from app.text import fold

from .reference import Contact, Dataset, SegmentDef, age, custom_day, midnight

T = TypeVar("T")

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
SPAN = timedelta(days=200)
US = timedelta(microseconds=1)

DAY_COUNTS = (0, 1, 7, 30, 90, 180)
# Other clocks, now and then: around 29 February for `age`, and one not in UTC (age is in
# whole years at now's UTC date).
CLOCKS = (
    datetime(2027, 2, 28, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2027, 3, 1, tzinfo=UTC),
    datetime(2028, 2, 29, 12, 0, tzinfo=UTC),
    datetime(2028, 2, 28, 12, 0, tzinfo=UTC),
    datetime(2027, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))),
)
DAY_EDGES: tuple[datetime, ...] = tuple(NOW - timedelta(days=n) for n in DAY_COUNTS)
BOUNDARIES: tuple[datetime, ...] = (
    *DAY_EDGES,
    *(midnight(TODAY - timedelta(days=n)) for n in (0, 1, 7, 30)),  # type: ignore[misc]
    datetime(2026, 3, 1, tzinfo=UTC),
    datetime(2026, 1, 10, 8, 30, 15, 250000, tzinfo=UTC),
    datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)
NUDGES = (-US, US, -timedelta(seconds=1), timedelta(seconds=1))

# Text pieces: ASCII, LIKE's wildcards and escape, quotes, Latin-1, Greek (a capital sigma only
# ever before a letter: no final-sigma context), CJK. No "İ".
CHUNKS = (
    "a", "B", "ab", "Zoë", "x y", "mail", "1", "-", " ",
    "%", "_", "\\", "'", '"', "%_",
    "é", "É", "ü", "Ü", "ß", "ø", "Ø", "ñ", "µ",
    "ω", "Ω", "Σα", "λ",
    "日本", "中",
)  # fmt: skip
DOMAINS = ("x.io", "Example.COM", "müller.de", "日本.jp")
TAG_POOL = ("VIP", "early-bird", "Été", "Straße", "Σαλάτα", "日本", "50%_off")
OTHER_TAGS = ("ghost", "vi_", "%", "VIP ", "ÉTÉ_")
PRODUCTS = (1, 2, 3)
CAMPAIGNS = ("Spring Sale", "spring sale", "news_%")
CUSTOM_KEYS = ("plan", "score", "joined", "a.b", "it's", "Plan", 'q"k', "$[0]", "日本")
DEFAULT_PKS: dict[DefaultSegment, int] = {key: i for i, key in enumerate(DefaultSegment, 1)}
CUSTOM_PKS = (11, 12, 13)
BIRTH_DAYS = (
    date(2000, 2, 29), date(2004, 2, 29), date(2024, 2, 29), date(1999, 3, 1),
    date(2001, 2, 28), date(2001, 3, 1), date(2009, 2, 28), date(2009, 3, 1),
    date(2000, 6, 15), date(2000, 6, 14), date(2000, 6, 16),
    date(2008, 6, 15), date(2008, 6, 16), date(1950, 1, 1),
    TODAY, TODAY - timedelta(days=1), TODAY - timedelta(days=7), TODAY - timedelta(days=30),
)  # fmt: skip


# ---------------------------------------------------------------------------- basics


def _safe_upper(char: str) -> str:
    up = char.upper()
    return up if len(up) == 1 and fold(up) == fold(char) else char


def _safe_lower(char: str) -> str:
    low = char.lower()
    return low if len(low) == 1 and fold(low) == fold(char) else char


def recase(text: str, mode: int) -> str:
    """A spelling of `text` that folds to the same string."""
    match mode:
        case 1:
            return "".join(_safe_upper(c) for c in text)
        case 2:
            return "".join(_safe_lower(c) for c in text)
        case 3:
            return "".join(_safe_lower(c) if c.isupper() else _safe_upper(c) for c in text)
        case 4:
            return "".join(_safe_upper(c) if i % 2 else _safe_lower(c) for i, c in enumerate(text))
    return text


def case_variant(text: str) -> st.SearchStrategy[str]:
    return st.integers(0, 4).map(lambda mode: recase(text, mode))


texts = st.lists(st.sampled_from(CHUNKS), min_size=1, max_size=4).map("".join)
optional_texts = st.one_of(st.none(), st.just(""), texts)
days = st.one_of(st.sampled_from(DAY_COUNTS), st.integers(0, 400))


def instants() -> st.SearchStrategy[datetime]:
    exact = st.sampled_from(BOUNDARIES)
    return st.one_of(
        st.sampled_from(DAY_EDGES),
        exact,
        st.builds(lambda t, d: t + d, exact, st.sampled_from(NUDGES)),
        st.datetimes(
            min_value=(NOW - SPAN).replace(tzinfo=None),
            max_value=(NOW + SPAN).replace(tzinfo=None),
            timezones=st.just(UTC),
        ).map(lambda t: t.replace(fold=0)),
    )


def near(values: Sequence[datetime]) -> st.SearchStrategy[datetime]:
    """Instants on or next to the given ones (boundaries of the data), or anywhere."""
    if not values:
        return instants()
    exact = st.sampled_from(sorted(set(values)))
    nudged = st.builds(lambda t, d: t + d, exact, st.sampled_from(NUDGES))
    return st.one_of(exact, exact, nudged, instants())


def some_of(options: Sequence[str]) -> st.SearchStrategy[list[str]]:
    """One to three of the options, mostly one (a single bound decides more often)."""
    return st.sampled_from([1, 1, 1, 2, 3]).flatmap(
        lambda n: st.lists(st.sampled_from(list(options)), min_size=n, max_size=n, unique=True)
    )


def days_near(values: Sequence[datetime], now: datetime = NOW) -> st.SearchStrategy[int]:
    """Day counts N that put `now - N days` on either side of (or exactly on) a seen instant."""
    found: set[int] = set()
    exact: set[int] = set()
    for t in values:
        span = (now - t) / timedelta(days=1)
        found.update(n for n in (math.floor(span), math.ceil(span)) if 0 <= n <= codec.MAX_DAYS)
        if span in found:
            exact.add(int(span))
    choices = [st.sampled_from(sorted(n)) for n in (exact, found) if n]
    return st.one_of(*choices, days)


birth_dates = st.one_of(st.sampled_from(BIRTH_DAYS), st.dates(date(1930, 1, 1), TODAY))

custom_values: st.SearchStrategy[Any] = st.one_of(
    texts,
    st.just(""),
    st.integers(-5, 1000),
    st.sampled_from([0, 1, 100, -1]),
    st.sampled_from([2.5, -0.5, 3.0, 99.99, 1e3, -0.0, 1e20, 1e-7, -(2**40)]),
    st.sampled_from([2**53, 2**53 + 1, 2**63, 10**30, -(10**30)]),
    st.booleans(),
    st.builds(
        lambda d, suffix: d.isoformat() + suffix,
        st.one_of(st.sampled_from(BIRTH_DAYS), st.dates(TODAY - SPAN, TODAY + SPAN)),
        st.sampled_from(["", "T10:00:00Z", "T23:59:59.999999+02:00", " later"]),
    ),
    st.sampled_from(["2026-5-01", "June 1, 2026", "20260601", "x2026-06-01", "2026/06/01"]),
    st.none(),
    st.just([1, 2]),
    st.just({"x": 1}),
)


# ---------------------------------------------------------------------------- datasets


@st.composite
def _contact(draw: st.DrawFn, contact_id: int, email: str, tags: tuple[str, ...]) -> Contact:
    owned: dict[int, int] = {}
    for product in PRODUCTS:
        progress = draw(
            st.one_of(st.none(), st.sampled_from([0, 50, 99, 100]), st.integers(0, 100))
        )
        if progress is not None:
            owned[product] = progress
    amounts = st.one_of(st.sampled_from([0, 1, 999, 1000, 2500]), st.integers(0, 10_000))
    purchases = draw(
        st.lists(st.tuples(st.sampled_from(PRODUCTS), amounts, instants()), max_size=3)
    )
    events = draw(
        st.lists(
            st.tuples(
                st.sampled_from(list(EmailEventKind)),
                st.one_of(st.none(), st.sampled_from(CAMPAIGNS)),
                instants(),
            ),
            max_size=4,
        )
    )
    status = draw(st.sampled_from(list(SubscriptionStatus)))
    # As the engagement rules keep them: Inactive only for subscribers, Excluded only when
    # also inactive.
    inactive = status is SubscriptionStatus.SUBSCRIBED and draw(st.booleans())
    return Contact(
        id=contact_id,
        email=email,
        first_name=draw(optional_texts),
        last_name=draw(optional_texts),
        country=draw(st.one_of(optional_texts, st.sampled_from(["FR", "fr", "Deutschland"]))),
        created_at=draw(instants()),
        birth_date=draw(st.one_of(st.none(), birth_dates)),
        subscription_status=status,
        email_risk=draw(st.sampled_from(list(EmailRisk))),
        is_customer=draw(st.booleans()),
        is_inactive=inactive,
        is_hard_bounced=draw(st.booleans()),
        is_excluded=inactive and draw(st.booleans()),
        custom_fields=draw(
            st.dictionaries(st.sampled_from(CUSTOM_KEYS), custom_values, max_size=3)
        ),
        tags=set(draw(st.lists(st.sampled_from(tags), max_size=3))) if tags else set(),
        owned=owned,
        purchases=purchases,
        events=events,
    )


emails = st.builds(lambda local, domain: f"{local}@{domain}", texts, st.sampled_from(DOMAINS))


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    """0-12 contacts; the account's tags (one spelling per folded name), three products and the
    six default segments."""
    tag_names = draw(st.lists(st.sampled_from(TAG_POOL), unique=True, max_size=len(TAG_POOL)))
    tags = tuple(draw(case_variant(name)) for name in tag_names)
    size = draw(st.integers(0, 12))
    addresses = draw(st.lists(emails, min_size=size, max_size=size, unique_by=fold))
    contacts = [draw(_contact(i, email, tags)) for i, email in enumerate(addresses, 1)]
    return Dataset(contacts=contacts, products=PRODUCTS, tags=tags, segments=default_segments())


def default_segments() -> dict[int, SegmentDef]:
    return {
        pk: SegmentDef(SegmentKind.DEFAULT, key, name=key.value) for key, pk in DEFAULT_PKS.items()
    }


# ---------------------------------------------------------------------------- filters


@dataclass
class Context:
    dataset: Dataset
    segment_pks: list[int] = field(default_factory=list)
    now: datetime = NOW

    @property
    def contacts(self) -> list[Contact]:
        return self.dataset.contacts


def _pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    return draw(st.sampled_from(list(options)))


@st.composite
def probe(draw: st.DrawFn, values: Sequence[str | None]) -> str:
    """A string to compare with: a whole value, a prefix, suffix or inside of one (re-cased),
    or a made-up one."""
    present = sorted({v for v in values if v})
    mode = draw(st.sampled_from(["fresh", "whole", "prefix", "suffix", "inner"]))
    if present and mode != "fresh":
        value = _pick(draw, present)
        n = len(value)
        if mode == "whole":
            piece = value
        elif mode == "prefix":
            piece = value[: draw(st.integers(1, n))]
        elif mode == "suffix":
            piece = value[draw(st.integers(0, n - 1)) :]
        else:
            i = draw(st.integers(0, n - 1))
            piece = value[i : draw(st.integers(i + 1, n))]
        piece = draw(case_variant(piece))
        if piece.strip():
            return piece
    return draw(texts.filter(lambda s: bool(s.strip())))


@st.composite
def string_conditions(draw: st.DrawFn, values: Sequence[str | None]) -> ast.StringCondition:
    op: ast.StringOp = _pick(
        draw,
        ["eq", "neq", "contains", "not_contains", "starts_with", "ends_with", "in", "is_empty"],
    )
    if op == "is_empty":
        return ast.StringCondition(op, draw(st.booleans()))
    if op == "in":
        return ast.StringCondition(op, tuple(draw(st.lists(probe(values), min_size=1, max_size=3))))
    return ast.StringCondition(op, draw(probe(values)))


_INT_KEYS = ("eq", "gt", "gte", "lt", "lte")
# Bounds past the columns' own ranges (smallint progress, int counts): still valid filters.
EXTREME_INTS = (-(2**53), -(2**31) - 1, -32769, 32768, 2**31, 2**53)


@st.composite
def int_conditions(
    draw: st.DrawFn, pool: Sequence[int], *, counting: bool = False, low: int = -5, high: int = 200
) -> ast.IntCondition:
    """One to three bounds, around the values in the data; never contradictory."""
    near_pool = sorted({v + d for v in pool for d in (-1, 0, 1) if abs(v + d) <= 2**53} | {0})
    values = st.one_of(
        st.sampled_from(near_pool),
        st.integers(low, high),
        st.sampled_from(EXTREME_INTS),
    )
    keys = draw(some_of(_INT_KEYS))
    bounds = {key: draw(values) for key in keys}
    while bounds:
        lo, hi = codec.int_bounds(ast.IntCondition(**bounds))
        if counting:
            lo = max(lo if lo is not None else 0, 0)
        if lo is None or hi is None or lo <= hi:
            break
        bounds.popitem()
    return ast.IntCondition(**bounds) if bounds else ast.IntCondition(gte=0)


@st.composite
def _edge(draw: st.DrawFn, seen: Sequence[datetime], now: datetime) -> tuple[str, datetime, int]:
    """One bound right at a seen instant: which bound, the instant (or one microsecond
    either side) and the day count whose `now - N days` falls on it or next to it."""
    t = draw(st.sampled_from(sorted(set(seen))))
    moment = draw(st.sampled_from([t, t, t - US, t + US]))
    return (
        draw(st.sampled_from(["before", "after", "within", "older"])),
        moment,
        draw(days_near([t], now)),
    )


@st.composite
def date_conditions(
    draw: st.DrawFn, seen: Sequence[datetime], now: datetime = NOW
) -> ast.DateCondition:
    """Half the time a single bound right at an instant `seen` in the data; else bounds on,
    next to or away from them; sometimes isEmpty."""
    roll = draw(st.integers(0, 9))
    if roll == 9:
        return ast.DateCondition(is_empty=draw(st.booleans()))
    if seen and roll < 5:
        which, moment, n = draw(_edge(seen, now))
        return ast.DateCondition(
            before=moment if which == "before" else None,
            after=moment if which == "after" else None,
            within_last_days=n if which == "within" else None,
            more_than_days_ago=n if which == "older" else None,
        )
    times, day_counts = near(seen), days_near(seen, now)
    keys = draw(some_of(["before", "after", "within", "older"]))
    before = draw(times) if "before" in keys else None
    after = draw(times) if "after" in keys else None
    if before is not None and after is not None:
        before, after = max(before, after), min(before, after)
        if before == after:
            after = None
    within = draw(day_counts) if "within" in keys else None
    older = draw(day_counts) if "older" in keys else None
    if within is not None and older is not None:
        within, older = max(within, older), min(within, older)
        if within == older:
            older = None
    not_empty = draw(st.sampled_from([None, None, False]))
    return ast.DateCondition(before, after, within, older, not_empty)


@st.composite
def windows(draw: st.DrawFn, seen: Sequence[datetime], now: datetime = NOW) -> ast.DateWindow:
    """Like date_conditions: often one edge right at a seen instant."""
    if seen and draw(st.booleans()):
        which, moment, n = draw(_edge(seen, now))
        if which == "within":
            return ast.DateWindow(within_last_days=n)
        return ast.DateWindow(since=moment) if which == "after" else ast.DateWindow(until=moment)
    times = near(seen)
    keys = draw(some_of(["within", "since", "until"]))
    since = draw(times) if "since" in keys else None
    until = draw(times) if "until" in keys else None
    if since is not None and until is not None:
        since, until = min(since, until), max(since, until)
        if since == until:
            until += US  # a window holding exactly one instant
    within = draw(days_near(seen, now)) if "within" in keys else None
    return ast.DateWindow(within, since, until)


def _exclusive(
    any_of: list[Any] | None,
    all_of: list[Any] | None,
    none_of: list[Any] | None,
    key: Callable[[Any], Any],
    fallback: Any,
) -> tuple[tuple[Any, ...] | None, ...]:
    """Drop what would make the lists contradict each other (the codec refuses that)."""
    excluded = {key(x) for x in none_of or []}
    if all_of is not None:
        all_of = [x for x in all_of if key(x) not in excluded] or None
    if any_of is not None and none_of is not None and all(key(x) in excluded for x in any_of):
        wanted = {key(x) for x in any_of}
        none_of = [x for x in none_of if key(x) not in wanted] or None
    if any_of is None and all_of is None and none_of is None:
        any_of = [fallback]
    return tuple(None if x is None else tuple(x) for x in (any_of, all_of, none_of))


@st.composite
def tag_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    names = st.one_of(
        st.sampled_from(TAG_POOL).flatmap(case_variant),
        st.sampled_from(ctx.dataset.tags or TAG_POOL),
        st.sampled_from(OTHER_TAGS),
    )
    lists = [draw(st.one_of(st.none(), st.lists(names, min_size=1, max_size=3))) for _ in "xyz"]
    any_of, all_of, none_of = _exclusive(*lists, key=fold, fallback=TAG_POOL[0])
    return ast.TagMatch(any_of, all_of, none_of)


@st.composite
def product_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    ids = st.lists(st.sampled_from(PRODUCTS), min_size=1, max_size=3)
    lists = [draw(st.one_of(st.none(), ids)) for _ in "xyz"]
    any_of, all_of, none_of = _exclusive(*lists, key=lambda x: x, fallback=PRODUCTS[0])
    return ast.ProductMatch(any_of, all_of, none_of)


@st.composite
def string_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    name: ast.StringField = _pick(draw, ["email", "first_name", "last_name", "country"])
    values = [getattr(c, name) for c in ctx.contacts]
    return ast.StringMatch(name, draw(string_conditions(values)))


@st.composite
def date_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    name: ast.DateField = _pick(draw, ["created_at", "birth_date"])
    if name == "created_at":
        seen = [c.created_at for c in ctx.contacts]
    else:
        seen = [m for c in ctx.contacts if (m := midnight(c.birth_date)) is not None]
    return ast.DateMatch(name, draw(date_conditions(seen, ctx.now)))


@st.composite
def age_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    ages = [age(c.birth_date, ctx.now) for c in ctx.contacts if c.birth_date] + [18]
    return ast.AgeMatch(draw(int_conditions(ages, counting=True, low=-2, high=110)))


@st.composite
def status_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    values = st.lists(st.sampled_from(list(SubscriptionStatus)), min_size=1, max_size=3)
    return ast.SubscriptionStatusIn(tuple(draw(values)))


@st.composite
def risk_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    return ast.EmailRiskIn(
        tuple(draw(st.lists(st.sampled_from(list(EmailRisk)), min_size=1, max_size=3)))
    )


@st.composite
def flag_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    flag: ast.FlagField = _pick(
        draw, ["is_customer", "is_inactive", "is_hard_bounced", "is_excluded"]
    )
    return ast.FlagIs(flag, draw(st.booleans()))


@st.composite
def progress_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    product = _pick(draw, PRODUCTS)
    pool = [c.owned[product] for c in ctx.contacts if product in c.owned] + [0, 100]
    return ast.ProductProgress(product, draw(int_conditions(pool, low=-5, high=105)))


def _maybe(seen: Sequence[T]) -> st.SearchStrategy[T | None]:
    """Mostly one of `seen` (when there are any), else None."""
    if not seen:
        return st.none()
    one = st.sampled_from(list(seen))
    return st.one_of(st.none(), one, one, one)


@st.composite
def purchase_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    seen = [p for c in ctx.contacts for p in c.purchases]
    # Often about one purchase of the data: its product, its time on a window's edge.
    anchor = draw(_maybe(seen))
    products = st.sampled_from(PRODUCTS)
    if anchor is not None:
        products = st.one_of(st.just(anchor[0]), products)
    product = draw(st.one_of(st.none(), products))
    times = [anchor[2]] if anchor is not None else [at for _, _, at in seen]
    totals = [sum(a for p, a, _ in c.purchases if product in (None, p)) for c in ctx.contacts]
    amounts = [a for _, a, _ in seen]
    return ast.PurchaseMatch(
        product=product,
        count=draw(st.one_of(st.none(), int_conditions([0, 1, 2, 3], counting=True, high=5))),
        total_cents=draw(
            st.one_of(st.none(), int_conditions(totals + amounts, low=-10, high=20_000))
        ),
        window=draw(st.one_of(st.none(), windows(times, ctx.now))),
    )


@st.composite
def activity_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    seen = [e for c in ctx.contacts for e in c.events]
    # Often about one event of the data: its kind, maybe its campaign, its time on an edge.
    anchor = draw(_maybe(seen))
    campaigns = st.one_of(st.sampled_from(CAMPAIGNS), st.sampled_from(["SPRING SALE", "news"]))
    if anchor is not None:
        event = anchor[0]
        if anchor[1] is not None:
            campaigns = st.one_of(st.just(anchor[1]), campaigns)
        times = [anchor[2]]
    else:
        event = draw(st.sampled_from(list(EmailEventKind)))
        times = [at for _, _, at in seen]
    return ast.EmailActivity(
        event=event,
        count=draw(st.one_of(st.none(), int_conditions([0, 1, 2, 3], counting=True, high=5))),
        window=draw(st.one_of(st.none(), windows(times, ctx.now))),
        campaign=draw(st.one_of(st.none(), campaigns)),
    )


@st.composite
def custom_field_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    key = draw(st.one_of(st.sampled_from(CUSTOM_KEYS), st.just("missing")))
    values = [c.custom_fields.get(key) for c in ctx.contacts]
    kind = draw(st.sampled_from(["exists", "string", "number", "date"]))
    if kind == "exists":
        return ast.CustomFieldMatch(key, exists=draw(st.booleans()))
    if kind == "string":
        strings = [v if isinstance(v, str) else None for v in values]
        return ast.CustomFieldMatch(key, string=draw(string_conditions(strings)))
    if kind == "number":
        numbers = [
            int(v) + d
            for v in values
            if isinstance(v, int | float) and not isinstance(v, bool)
            for d in (0, 1)
            if abs(v) <= 2**53  # the largest bound a filter may give
        ]
        return ast.CustomFieldMatch(key, number=draw(int_conditions(numbers, low=-10, high=1100)))
    seen = [m for v in values if (m := midnight(custom_day(v))) is not None]
    return ast.CustomFieldMatch(key, date=draw(date_conditions(seen, ctx.now)))


@st.composite
def segment_matches(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    return ast.SegmentIn(_pick(draw, ctx.segment_pks))


LEAVES = (
    flag_matches,
    string_matches,
    string_matches,
    custom_field_matches,
    date_matches,
    age_matches,
    status_matches,
    risk_matches,
    tag_matches,
    product_matches,
    progress_matches,
    purchase_matches,
    activity_matches,
    custom_field_matches,
    segment_matches,
)


@st.composite
def raw_trees(draw: st.DrawFn, ctx: Context, depth: int = 0, max_depth: int = 5) -> ast.Filter:
    """A filter tree with groups nested at most `max_depth` deep (leaves likelier deeper)."""
    if depth < max_depth and draw(st.integers(0, 9)) >= 2 + (3 * depth) // 2:
        group = draw(st.sampled_from(["and", "or", "not"]))
        if group == "not":
            return ast.Not(draw(raw_trees(ctx, depth + 1, max_depth)))
        size = draw(st.integers(1, 4))
        children = tuple(draw(raw_trees(ctx, depth + 1, max_depth)) for _ in range(size))
        return ast.And(children) if group == "and" else ast.Or(children)
    return draw(leaves(ctx))


@st.composite
def leaves(draw: st.DrawFn, ctx: Context) -> ast.Filter:
    return draw(draw(st.sampled_from(LEAVES))(ctx))


def canonical(tree: ast.Filter) -> ast.Filter:
    """The filter as the API would hand it over (raises FilterError for one it refuses)."""
    return codec.parse(codec.to_input(tree))


@st.composite
def trees(draw: st.DrawFn, ctx: Context, max_depth: int = 5) -> ast.Filter:
    return _valid(draw(raw_trees(ctx, 0, max_depth)))


@dataclass
class Example:
    dataset: Dataset
    filters: list[ast.Filter | None]
    now: datetime = NOW

    def __repr__(self) -> str:
        import json

        shown = [None if f is None else json.dumps(codec.to_input(f)) for f in self.filters]
        return f"Example(now={self.now!r}, dataset={self.dataset!r}, filters={shown})"


@st.composite
def examples(draw: st.DrawFn) -> Example:
    """A dataset, 0-3 custom segments over it (each may use the defaults and the earlier ones:
    no cycles), and 2-4 filters to evaluate: 1-3 trees, a wide group of 1-16 conditions, and
    sometimes None (every contact)."""
    dataset = draw(datasets())
    now = draw(st.one_of(*[st.just(NOW)] * 4, st.sampled_from(CLOCKS)))
    ctx = Context(dataset, list(DEFAULT_PKS.values()), now)
    for i in range(draw(st.integers(0, len(CUSTOM_PKS)))):
        tree = draw(trees(ctx, max_depth=3))
        pk = CUSTOM_PKS[i]
        dataset.segments[pk] = SegmentDef(SegmentKind.CUSTOM, None, tree, name=f"Custom {i}")
        ctx.segment_pks.append(pk)
    filters: list[ast.Filter | None] = draw(st.lists(trees(ctx), min_size=1, max_size=3))
    # Many conditions side by side: explain checks each one for every contact, so this is
    # where single conditions (and their boundaries) get most of their checks.
    batch = [draw(leaves(ctx)) for _ in range(draw(st.integers(1, 32)))]
    filters.append(draw(st.sampled_from([ast.Or, ast.And]))(tuple(batch)))
    if draw(st.integers(0, 9)) == 9:
        filters.append(None)
    return Example(dataset, [None if f is None else _valid(f) for f in filters], now)


def _valid(tree: ast.Filter) -> ast.Filter:
    try:
        return canonical(tree)
    except FilterError:
        reject()


def fixed(contacts: list[Contact], *filters: dict[str, Any], now: datetime = NOW) -> Example:
    """A hand-written example (for @example): filters in the input shape, generated ids."""
    dataset = Dataset(
        contacts=contacts, products=PRODUCTS, tags=TAG_POOL, segments=default_segments()
    )
    return Example(dataset, [codec.parse(f) for f in filters], now)
