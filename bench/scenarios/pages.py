"""Scenario 2: a page of 50 members, the first and one near the end of a large segment, through
the query layer (`app.filters.query.page`, keyset cursors). The same through GraphQL over HTTP
is measured with the API server (scenarios/http.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dbtools
from common import HarnessError, Report, ms, ratio, round_robin
from shapes import Ctx, correlated

from app.filters import ast, codec, query
from app.filters.sql import Sql, sql
from scenarios.counts import scenario

PAGE = 50
FROM_END = 100  # the deep page starts this many members before the end
DEEP_TARGET = 1.5


@dataclass(frozen=True)
class PagedSegment:
    key: str
    title: str
    filter: dict[str, Any]
    order: query.Order
    graphql_order: str  # ContactOrder input
    members: Sql  # hand-written: the members' (sort value, id) in the order


def paged_segments(ctx: Ctx) -> list[PagedSegment]:
    account = ctx.account_id
    return [
        PagedSegment(
            "subscribed_by_created",
            "Subscribed, by CREATED_AT ascending",
            {"subscriptionStatus": {"in": ["SUBSCRIBED"]}},
            query.Order("created_at"),
            "{field: CREATED_AT, direction: ASC}",
            sql(
                "SELECT c.created_at AS v, c.id FROM contacts c WHERE c.account_id = ? "
                "AND c.subscription_status = ? ORDER BY c.created_at, c.id",
                account,
                "SUBSCRIBED",
            ),
        ),
        PagedSegment(
            "opened_90_by_last_open",
            "opened in 90 days, by LAST_OPENED_AT descending",
            {"emailActivity": {"event": "OPENED", "window": {"withinLastDays": 90}}},
            query.Order("last_opened_at", descending=True),
            "{field: LAST_OPENED_AT, direction: DESC}",
            sql(
                "SELECT c.last_opened_at AS v, c.id FROM contacts c WHERE c.account_id = ? ",
                account,
            )
            + Sql("AND EXISTS (SELECT 1")
            + correlated(ctx, "OPENED", 90)
            + Sql(") ORDER BY c.last_opened_at DESC NULLS FIRST, c.id DESC"),
        ),
    ]


def as_time(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class DeepPosition:
    total: int
    keyset: query.Keyset  # the member just before the deep page
    first_id: int  # the deep page's first member


async def deep_position(ctx: Ctx, segment: PagedSegment, tree: ast.Filter) -> DeepPosition:
    total = await query.count_matching(ctx.account_id, tree, now=ctx.now)
    if total < FROM_END + 2:
        raise HarnessError(f"segment {segment.key} has {total} members: too few to page")
    offset = total - FROM_END - 1
    statement = segment.members + sql(" LIMIT 2 OFFSET ?", offset)
    found = await dbtools.rows(statement)
    keyset = query.Keyset(as_time(found[0]["v"]), int(found[0]["id"]))
    return DeepPosition(total, keyset, int(found[1]["id"]))


async def pages(ctx: Ctx, report: Report, plans: dbtools.Plans, runs: int, label: str) -> None:
    table = report.table(
        f"{scenario(ctx, 2)}. A page of {PAGE} members, first and near the end, "
        f"query layer ({label})",
        "segment",
        "page",
        "median ms",
        "ratio",
        "members",
    )
    table.notes.append(
        f"`app.filters.query.page` (limit {PAGE + 1}, as the connection asks), after a warm-up, "
        f"{runs} rounds; the deep page starts {FROM_END} members before the end (keyset "
        "cursor). Ratio: to the first page."
    )
    for segment in paged_segments(ctx):
        tree = codec.parse(segment.filter)
        position = await deep_position(ctx, segment, tree)

        async def first(tree: ast.Filter = tree, segment: PagedSegment = segment) -> Any:
            return await query.page(
                ctx.account_id, tree, now=ctx.now, order=segment.order, limit=PAGE + 1
            )

        async def deep(
            tree: ast.Filter = tree, segment: PagedSegment = segment, at: DeepPosition = position
        ) -> Any:
            return await query.page(
                ctx.account_id,
                tree,
                now=ctx.now,
                order=segment.order,
                limit=PAGE + 1,
                after=at.keyset,
            )

        timings = await round_robin({"first page": first, "deep page": deep}, runs)
        got_first, got_deep = timings["first page"].result, timings["deep page"].result
        if len(got_first) != PAGE + 1 or len(got_deep) != PAGE + 1:
            raise HarnessError(
                f"{segment.key}: pages of {len(got_first)} and {len(got_deep)} rows, "
                f"expected {PAGE + 1}"
            )
        if int(got_deep[0]["id"]) != position.first_id:
            raise HarnessError(
                f"{segment.key}: the deep page starts at contact {got_deep[0]['id']}, "
                f"the hand-written OFFSET query says {position.first_id}"
            )
        base = timings["first page"].median
        for name, timing in timings.items():
            table.add(
                segment.title, name, ms(timing.median), ratio(timing.median / base),
                f"{position.total:,}",
            )  # fmt: skip
        deep_ratio = timings["deep page"].median / base
        report.target(
            scenario(ctx, 2),
            f"deep page within {DEEP_TARGET}x the first: {segment.title} ({label})",
            deep_ratio <= DEEP_TARGET,
            f"{deep_ratio:.2f}x ({ms(timings['deep page'].median)} ms against {ms(base)} ms)",
        )
        for name, action in (("first page", first), ("deep page", deep)):
            text, params = await dbtools.statement_of(action, "LIMIT")
            await plans.add(f"pages-{ctx.dialect}.txt", f"{segment.key}: {name}", text, params)
        print(f"  paged {segment.key}: deep/first {deep_ratio:.2f}x", flush=True)
