"""The filter shapes the benchmark counts, each in the API's `ContactFilter` input shape (what
the compiler gets) and in the best hand-written SQL found for it (one or more forms, every
value bound as a parameter, as the compiler binds them; every form must give the compiled
count).

The hand-written forms rely on one invariant the services keep: a child row (tag link, owned
product, purchase, event) carries its contact's account, so counting contact ids from a child
table of the account needs no join to `contacts`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.filters.ids import to_global_id
from app.filters.sql import Dialect, Sql, day_param, sql, time_param
from app.services.demo import campaign_schedule

Filter = dict[str, Any]


@dataclass(frozen=True)
class Ctx:
    """What the shapes name in one dataset: its account, its "now", ids by name."""

    account_id: int
    now: datetime
    dialect: Dialect
    tags: dict[str, int]  # name_lower -> id
    products: dict[str, int]  # external_id -> id
    segments: dict[str, int]  # shape key -> id of the saved segment

    def t(self, moment: datetime) -> Any:
        return time_param(moment, self.dialect)

    def ago(self, days: int) -> Any:
        return self.t(self.now - timedelta(days=days))

    def tag(self, name: str) -> int:
        return self.tags[name]

    @property
    def webinar(self) -> str:
        return f"webinar-{self.now.year}"

    @property
    def campaign(self) -> str:
        """A newsletter about two months back: sent to the whole list of then."""
        back = self.now - timedelta(days=60)
        return min(
            (c for c in campaign_schedule(self.now) if c.name.startswith("newsletter-")),
            key=lambda c: abs((c.sent_at - back).total_seconds()),
        ).name


@dataclass(frozen=True)
class Shape:
    key: str
    title: str
    filter: Callable[[Ctx], Filter]
    hand: Callable[[Ctx], dict[str, Sql]]
    counted: bool  # one of scenario 1's shapes (all of them are saved segments in scenario 4)


SHAPES: list[Shape] = []


def shape(
    key: str, title: str, filter_: Callable[[Ctx], Filter], *, counted: bool = True
) -> Callable[[Callable[[Ctx], dict[str, Sql]]], Callable[[Ctx], dict[str, Sql]]]:
    def register(hand: Callable[[Ctx], dict[str, Sql]]) -> Callable[[Ctx], dict[str, Sql]]:
        SHAPES.append(Shape(key, title, filter_, hand, counted))
        return hand

    return register


def window(ctx: Ctx, days: int, alias: str = "e", column: str = "occurred_at") -> Sql:
    return sql(
        f" AND {alias}.{column} >= ? AND {alias}.{column} <= ?", ctx.ago(days), ctx.t(ctx.now)
    )


def events(ctx: Ctx, kind: str, days: int | None = None, alias: str = "e") -> Sql:
    """`FROM email_events e WHERE` the account's events of a kind (in the last `days`)."""
    rows = sql(
        f" FROM email_events {alias} WHERE {alias}.account_id = ? AND {alias}.kind = ?",
        ctx.account_id,
        kind,
    )
    return rows + window(ctx, days, alias) if days is not None else rows


def correlated(ctx: Ctx, kind: str, days: int | None = None) -> Sql:
    """The contact's events of a kind, for a semi-join from `contacts c`."""
    return events(ctx, kind, days) + Sql(" AND e.contact_id = c.id")


def all_contacts(ctx: Ctx) -> Sql:
    return sql("(SELECT COUNT(*) FROM contacts c WHERE c.account_id = ?)", ctx.account_id)


def contacts_where(ctx: Ctx, condition: Sql) -> Sql:
    scope = sql("SELECT COUNT(*) AS n FROM contacts c WHERE c.account_id = ? AND ", ctx.account_id)
    return scope + condition


def ids(values: list[Any]) -> Sql:
    return Sql(", ".join("?" for _ in values), tuple(values))


# -- 1. the five shapes of the performance issue ------------------------------------------------


@shape(
    "opened3_or_clicked",
    "opened at least 3 times in 90 days OR clicked in 30 days",
    lambda ctx: {
        "or": [
            {
                "emailActivity": {
                    "event": "OPENED",
                    "count": {"gte": 3},
                    "window": {"withinLastDays": 90},
                }
            },
            {"emailActivity": {"event": "CLICKED", "window": {"withinLastDays": 30}}},
        ]
    },
)
def _opened3_or_clicked(ctx: Ctx) -> dict[str, Sql]:
    grouped = (
        Sql("SELECT e.contact_id")
        + events(ctx, "OPENED", 90)
        + Sql(" GROUP BY e.contact_id HAVING COUNT(*) >= 3")
    )
    clickers = Sql("SELECT e.contact_id") + events(ctx, "CLICKED", 30)
    third_open = Sql("SELECT 1") + correlated(ctx, "OPENED", 90) + Sql(" LIMIT 1 OFFSET 2")
    return {
        "UNION of grouped openers and clickers": Sql("SELECT COUNT(*) AS n FROM (")
        + grouped
        + Sql(" UNION ")
        + clickers
        + Sql(") x"),
        "EXISTS a click OR EXISTS a 3rd open": contacts_where(
            ctx,
            Sql("(EXISTS (SELECT 1")
            + correlated(ctx, "CLICKED", 30)
            + Sql(") OR EXISTS (")
            + third_open
            + Sql("))"),
        ),
    }


@shape(
    "opened_fewer_than_2",
    "opened fewer than 2 times in 90 days (counts zero)",
    lambda ctx: {
        "emailActivity": {"event": "OPENED", "count": {"lt": 2}, "window": {"withinLastDays": 90}}
    },
)
def _opened_fewer_than_2(ctx: Ctx) -> dict[str, Sql]:
    twice = (
        Sql("SELECT e.contact_id")
        + events(ctx, "OPENED", 90)
        + Sql(" GROUP BY e.contact_id HAVING COUNT(*) >= 2")
    )
    return {
        "all contacts minus the GROUP BY/HAVING set of 2+ openers": Sql("SELECT ")
        + all_contacts(ctx)
        + Sql(" - (SELECT COUNT(*) FROM (")
        + twice
        + Sql(") x) AS n"),
        "NOT EXISTS a 2nd open (anti-join)": contacts_where(
            ctx,
            Sql("NOT EXISTS (SELECT 1") + correlated(ctx, "OPENED", 90) + Sql(" LIMIT 1 OFFSET 1)"),
        ),
        "LEFT JOIN the grouped opens": sql(
            "SELECT COUNT(*) AS n FROM contacts c LEFT JOIN (SELECT e.contact_id, COUNT(*) AS k"
        )
        + events(ctx, "OPENED", 90)
        + sql(
            " GROUP BY e.contact_id) o ON o.contact_id = c.id WHERE c.account_id = ? "
            "AND COALESCE(o.k, 0) < 2",
            ctx.account_id,
        ),
    }


@shape(
    "has_all_2_tags",
    "has all of 2 tags",
    lambda ctx: {"tags": {"hasAll": ["lead-magnet", "youtube"]}},
)
def _has_all_2_tags(ctx: Ctx) -> dict[str, Sql]:
    a, b, account = ctx.tag("lead-magnet"), ctx.tag("youtube"), ctx.account_id
    return {
        "self-join of the tag links": sql(
            "SELECT COUNT(*) AS n FROM contact_tags x JOIN contact_tags y "
            "ON y.account_id = x.account_id AND y.contact_id = x.contact_id AND y.tag_id = ? "
            "WHERE x.account_id = ? AND x.tag_id = ?",
            b,
            account,
            a,
        ),
        "INTERSECT of the two tags' contacts": sql(
            "SELECT COUNT(*) AS n FROM (SELECT contact_id FROM contact_tags WHERE account_id = ? "
            "AND tag_id = ? INTERSECT SELECT contact_id FROM contact_tags WHERE account_id = ? "
            "AND tag_id = ?) x",
            account,
            a,
            account,
            b,
        ),
        "GROUP BY contact HAVING both": sql(
            "SELECT COUNT(*) AS n FROM (SELECT contact_id FROM contact_tags WHERE account_id = ? "
            "AND tag_id IN (?, ?) GROUP BY contact_id HAVING COUNT(*) = 2) x",
            account,
            a,
            b,
        ),
    }


@shape(
    "owns_and_opened_twice",
    "owns a product AND opened at least twice ever",
    lambda ctx: {
        "and": [
            {"products": {"ownsAny": [to_global_id("Product", ctx.products["crs_lightroom"])]}},
            {"emailActivity": {"event": "OPENED", "count": {"gte": 2}}},
        ]
    },
)
def _owns_and_opened_twice(ctx: Ctx) -> dict[str, Sql]:
    product, account = ctx.products["crs_lightroom"], ctx.account_id
    second_open = (
        Sql("SELECT 1") + events(ctx, "OPENED") + Sql(" AND e.contact_id = o.contact_id")
    ) + Sql(" LIMIT 1 OFFSET 1")
    grouped = (
        Sql("SELECT e.contact_id")
        + events(ctx, "OPENED")
        + Sql(" GROUP BY e.contact_id HAVING COUNT(*) >= 2")
    )
    return {
        "owners with a 2nd open (EXISTS ... OFFSET 1)": sql(
            "SELECT COUNT(*) AS n FROM owned_products o WHERE o.account_id = ? "
            "AND o.product_id = ? AND EXISTS (",
            account,
            product,
        )
        + second_open
        + Sql(")"),
        "owners JOIN the GROUP BY/HAVING set of 2+ openers": Sql(
            "SELECT COUNT(*) AS n FROM owned_products o JOIN ("
        )
        + grouped
        + sql(
            ") g ON g.contact_id = o.contact_id WHERE o.account_id = ? AND o.product_id = ?",
            account,
            product,
        ),
    }


NONE_TAGS = ["lead-magnet", "cold-lead", "beta-tester"]


@shape(
    "has_none_of_3_tags",
    "has none of 3 tags",
    lambda ctx: {"tags": {"hasNone": NONE_TAGS}},
)
def _has_none_of_3_tags(ctx: Ctx) -> dict[str, Sql]:
    tags = [ctx.tag(name) for name in NONE_TAGS]
    return {
        "all contacts minus the distinct tagged": Sql("SELECT ")
        + all_contacts(ctx)
        + sql(
            " - (SELECT COUNT(DISTINCT contact_id) FROM contact_tags WHERE account_id = ? "
            "AND tag_id IN (",
            ctx.account_id,
        )
        + ids(tags)
        + Sql(")) AS n"),
        "NOT EXISTS a tag link (anti-join)": contacts_where(
            ctx,
            sql(
                "NOT EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.account_id = ? "
                "AND ct.contact_id = c.id AND ct.tag_id IN (",
                ctx.account_id,
            )
            + ids(tags)
            + Sql("))"),
        ),
    }


# -- more shapes ------------------------------------------------------------------------------


@shape(
    "readme_four_conditions",
    "README's four conditions: tag any-of, owns a product, opened in 30 days, subscribed",
    lambda ctx: {
        "and": [
            {"tags": {"hasAny": ["lead-magnet", ctx.webinar]}},
            {"products": {"ownsAny": [to_global_id("Product", ctx.products["off_starter_kit"])]}},
            {"emailActivity": {"event": "OPENED", "window": {"withinLastDays": 30}}},
            {"subscriptionStatus": {"in": ["SUBSCRIBED"]}},
        ]
    },
)
def _readme_four_conditions(ctx: Ctx) -> dict[str, Sql]:
    account, product = ctx.account_id, ctx.products["off_starter_kit"]
    tags = [ctx.tag("lead-magnet"), ctx.tag(ctx.webinar)]
    exists = contacts_where(
        ctx,
        sql("c.subscription_status = ? AND EXISTS (SELECT 1 FROM contact_tags ct ", "SUBSCRIBED")
        + sql("WHERE ct.account_id = ? AND ct.contact_id = c.id AND ct.tag_id IN (", account)
        + ids(tags)
        + sql(
            ")) AND EXISTS (SELECT 1 FROM owned_products o WHERE o.account_id = ? "
            "AND o.contact_id = c.id AND o.product_id = ?) AND EXISTS (SELECT 1",
            account,
            product,
        )
        + correlated(ctx, "OPENED", 30)
        + Sql(")"),
    )
    intersect = (
        sql(
            "SELECT COUNT(*) AS n FROM (SELECT contact_id FROM contact_tags WHERE account_id = ? ",
            account,
        )
        + Sql("AND tag_id IN (")
        + ids(tags)
        + sql(
            ") INTERSECT SELECT contact_id FROM owned_products WHERE account_id = ? "
            "AND product_id = ? INTERSECT SELECT e.contact_id",
            account,
            product,
        )
        + events(ctx, "OPENED", 30)
        + sql(
            " INTERSECT SELECT id FROM contacts WHERE account_id = ? "
            "AND subscription_status = ?) x",
            account,
            "SUBSCRIBED",
        )
    )
    return {"EXISTS semi-joins": exists, "INTERSECT of id sets": intersect}


@shape(
    "spent_200_in_year",
    "purchases totalCents >= 20 000 in the last 365 days",
    lambda ctx: {"purchases": {"totalCents": {"gte": 20000}, "window": {"withinLastDays": 365}}},
)
def _spent_200_in_year(ctx: Ctx) -> dict[str, Sql]:
    return {
        "GROUP BY contact HAVING SUM": sql(
            "SELECT COUNT(*) AS n FROM (SELECT p.contact_id FROM purchases p "
            "WHERE p.account_id = ?",
            ctx.account_id,
        )
        + window(ctx, 365, "p")
        + sql(" GROUP BY p.contact_id HAVING SUM(p.amount_cents) >= ?) x", 20000),
    }


def json_text(ctx: Ctx, key: str) -> tuple[str, str]:
    """(type test, text value) of a custom field, in the database's own JSON functions."""
    if ctx.dialect == "postgres":
        return f"jsonb_typeof(c.custom_fields -> '{key}')", f"(c.custom_fields ->> '{key}')"
    return f"json_type(c.custom_fields, '$.{key}')", f"json_extract(c.custom_fields, '$.{key}')"


@shape(
    "custom_field_plan",
    "customField plan (a string) in pro, team",
    lambda ctx: {"customField": {"key": "plan", "string": {"in": ["pro", "team"]}}},
)
def _custom_field_plan(ctx: Ctx) -> dict[str, Sql]:
    kind, value = json_text(ctx, "plan")
    string = "'string'" if ctx.dialect == "postgres" else "'text'"
    return {
        "JSON value of type string, lowered, IN": contacts_where(
            ctx, sql(f"{kind} = {string} AND lower({value}) IN (?, ?)", "pro", "team")
        ),
    }


@shape(
    "custom_field_score",
    "customField score (a number) >= 80",
    lambda ctx: {"customField": {"key": "score", "number": {"gte": 80}}},
)
def _custom_field_score(ctx: Ctx) -> dict[str, Sql]:
    kind, value = json_text(ctx, "score")
    if ctx.dialect == "postgres":
        test = sql(f"{kind} = 'number' AND {value}::numeric >= ?", 80)
    else:
        test = sql(f"{kind} IN ('integer', 'real') AND {value} >= ?", 80)
    return {"JSON value of type number, compared": contacts_where(ctx, test)}


@shape(
    "email_ends_with",
    "email endsWith @gmail.com",
    lambda ctx: {"email": {"endsWith": "@gmail.com"}},
)
def _email_ends_with(ctx: Ctx) -> dict[str, Sql]:
    suffix = "@gmail.com"
    tail = "right(c.email_lower, ?)" if ctx.dialect == "postgres" else "substr(c.email_lower, -?)"
    return {
        "LIKE '%suffix' on email_lower": contacts_where(
            ctx, sql("c.email_lower LIKE ?", "%" + suffix)
        ),
        "the last characters of email_lower": contacts_where(
            ctx, sql(f"{tail} = ?", len(suffix), suffix)
        ),
    }


@shape(
    "engaged_30_days",
    "opened in the last 30 days (a saved segment the next shape references)",
    lambda ctx: {"emailActivity": {"event": "OPENED", "window": {"withinLastDays": 30}}},
    counted=False,
)
def _engaged_30_days(ctx: Ctx) -> dict[str, Sql]:
    return {
        "COUNT(DISTINCT) of the window's openers": Sql("SELECT COUNT(DISTINCT e.contact_id) AS n")
        + events(ctx, "OPENED", 30)
    }


@shape(
    "segment_reference",
    "in a saved segment (opened in 30 days) AND not a customer",
    lambda ctx: {
        "and": [
            {"segment": {"in": to_global_id("Segment", ctx.segments["engaged_30_days"])}},
            {"isCustomer": False},
        ]
    },
)
def _segment_reference(ctx: Ctx) -> dict[str, Sql]:
    return {
        "the segment's filter inlined, EXISTS": contacts_where(
            ctx,
            sql("c.is_customer = ? AND EXISTS (SELECT 1", False)
            + correlated(ctx, "OPENED", 30)
            + Sql(")"),
        ),
        "DISTINCT openers JOIN contacts": Sql(
            "SELECT COUNT(*) AS n FROM (SELECT DISTINCT e.contact_id"
        )
        + events(ctx, "OPENED", 30)
        + sql(
            ") o JOIN contacts c ON c.id = o.contact_id WHERE c.account_id = ? "
            "AND c.is_customer = ?",
            ctx.account_id,
            False,
        ),
    }


@shape(
    "sent_not_clicked",
    "was sent a campaign but never clicked it",
    lambda ctx: {
        "and": [
            {"emailActivity": {"event": "SENT", "campaign": ctx.campaign}},
            {"not": {"emailActivity": {"event": "CLICKED", "campaign": ctx.campaign}}},
        ]
    },
)
def _sent_not_clicked(ctx: Ctx) -> dict[str, Sql]:
    account, campaign = ctx.account_id, ctx.campaign

    def of(kind: str, alias: str) -> Sql:
        return sql(
            f"SELECT {alias}.contact_id FROM email_events {alias} WHERE {alias}.account_id = ? "
            f"AND {alias}.campaign = ? AND {alias}.kind = ?",
            account,
            campaign,
            kind,
        )

    clicked = sql(
        "SELECT 1 FROM email_events k WHERE k.account_id = ? AND k.campaign = ? AND k.kind = ? "
        "AND k.contact_id = r.contact_id",
        account,
        campaign,
        "CLICKED",
    )
    return {
        "EXCEPT of the two id sets": Sql("SELECT COUNT(*) AS n FROM (")
        + of("SENT", "s")
        + Sql(" EXCEPT ")
        + of("CLICKED", "k")
        + Sql(") x"),
        "DISTINCT recipients, NOT EXISTS a click": Sql(
            "SELECT COUNT(*) AS n FROM (SELECT DISTINCT s.contact_id FROM ("
        )
        + of("SENT", "s")
        + Sql(") s) r WHERE NOT EXISTS (")
        + clicked
        + Sql(")"),
    }


# -- saved segments only (scenario 4): twenty in all with the shapes above ----------------------


@shape(
    "subscribed_active",
    "subscribed and not inactive",
    lambda ctx: {"and": [{"subscriptionStatus": {"in": ["SUBSCRIBED"]}}, {"isInactive": False}]},
    counted=False,
)
def _subscribed_active(ctx: Ctx) -> dict[str, Sql]:
    return {
        "two column tests": contacts_where(
            ctx, sql("c.subscription_status = ? AND c.is_inactive = ?", "SUBSCRIBED", False)
        )
    }


@shape(
    "new_30_days",
    "created in the last 30 days",
    lambda ctx: {"createdAt": {"withinLastDays": 30}},
    counted=False,
)
def _new_30_days(ctx: Ctx) -> dict[str, Sql]:
    return {
        "created_at range": contacts_where(
            ctx, sql("c.created_at >= ? AND c.created_at <= ?", ctx.ago(30), ctx.t(ctx.now))
        )
    }


def age_limit(today: date, years: int) -> date:
    """Born before this day: at least `years` old today."""
    try:
        return date(today.year - years, today.month, today.day) + timedelta(days=1)
    except ValueError:  # 29 February
        return date(today.year - years, 3, 1)


@shape(
    "north_america_30_plus",
    "country US or CA, aged 30 or more",
    lambda ctx: {"and": [{"country": {"in": ["US", "CA"]}}, {"age": {"gte": 30}}]},
    counted=False,
)
def _north_america_30_plus(ctx: Ctx) -> dict[str, Sql]:
    born = day_param(age_limit(ctx.now.date(), 30), ctx.dialect)
    return {
        "country IN, birth date before": contacts_where(
            ctx, sql("lower(c.country) IN (?, ?) AND c.birth_date < ?", "ca", "us", born)
        )
    }


@shape(
    "course_halfway",
    "course progress 50-99% (productProgress)",
    lambda ctx: {
        "productProgress": {
            "product": to_global_id("Product", ctx.products["crs_photo_masterclass"]),
            "percent": {"gte": 50, "lt": 100},
        }
    },
    counted=False,
)
def _course_halfway(ctx: Ctx) -> dict[str, Sql]:
    return {
        "owned_products rows in range": sql(
            "SELECT COUNT(*) AS n FROM owned_products o WHERE o.account_id = ? "
            "AND o.product_id = ? AND o.progress BETWEEN ? AND ?",
            ctx.account_id,
            ctx.products["crs_photo_masterclass"],
            50,
            99,
        )
    }


@shape(
    "bought_twice",
    "bought at least twice (purchases count >= 2)",
    lambda ctx: {"purchases": {"count": {"gte": 2}}},
    counted=False,
)
def _bought_twice(ctx: Ctx) -> dict[str, Sql]:
    return {
        "GROUP BY contact HAVING COUNT": sql(
            "SELECT COUNT(*) AS n FROM (SELECT contact_id FROM purchases WHERE account_id = ? "
            "GROUP BY contact_id HAVING COUNT(*) >= 2) x",
            ctx.account_id,
        )
    }


@shape(
    "risky",
    "a risky address OR a soft bounce in 90 days",
    lambda ctx: {
        "or": [
            {"emailRisk": {"in": ["HIGH_RISK", "UNDELIVERABLE"]}},
            {"emailActivity": {"event": "BOUNCED_SOFT", "window": {"withinLastDays": 90}}},
        ]
    },
    counted=False,
)
def _risky(ctx: Ctx) -> dict[str, Sql]:
    return {
        "UNION of the two id sets": sql(
            "SELECT COUNT(*) AS n FROM (SELECT c.id FROM contacts c WHERE c.account_id = ? "
            "AND c.email_risk IN (?, ?) UNION SELECT e.contact_id",
            ctx.account_id,
            "HIGH_RISK",
            "UNDELIVERABLE",
        )
        + events(ctx, "BOUNCED_SOFT", 90)
        + Sql(") x")
    }


@shape(
    "customers_gone_quiet",
    "customers with no open in 60 days (README)",
    lambda ctx: {
        "and": [
            {"isCustomer": True},
            {"not": {"emailActivity": {"event": "OPENED", "window": {"withinLastDays": 60}}}},
        ]
    },
    counted=False,
)
def _customers_gone_quiet(ctx: Ctx) -> dict[str, Sql]:
    return {
        "customers, NOT EXISTS an open": contacts_where(
            ctx,
            sql("c.is_customer = ? AND NOT EXISTS (SELECT 1", True)
            + correlated(ctx, "OPENED", 60)
            + Sql(")"),
        )
    }


BY_KEY = {s.key: s for s in SHAPES}
COUNTED = [s for s in SHAPES if s.counted]
