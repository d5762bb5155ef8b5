"""Scenario 1 (counts of each filter shape, compiled against hand-written SQL) and scenario 4
(refreshing the counts of twenty saved segments against twenty plain COUNT statements)."""

from __future__ import annotations

import json
from datetime import datetime

import dbtools
from common import HarnessError, Report, Timing, inline, ms, ratio, round_robin
from shapes import COUNTED, SHAPES, Ctx, Shape

from app.filters import ast, codec, query
from app.filters.query import dialect
from app.filters.sql import Sql, render
from app.filters.validate import validate
from app.models import Account, Product, Segment, Tag
from app.services import counts, tasks
from app.services.segments import create_segment

SEGMENT_PREFIX = "bench: "
COUNT_TARGET = 1.3


async def context(account_id: int, now: datetime) -> Ctx:
    tags = dict(await Tag.filter(account_id=account_id).values_list("name_lower", "id"))
    products = dict(await Product.filter(account_id=account_id).values_list("external_id", "id"))
    segments = {
        name.removeprefix(SEGMENT_PREFIX): pk
        for name, pk in await Segment.filter(
            account_id=account_id, name__startswith=SEGMENT_PREFIX
        ).values_list("name", "id")
    }
    return Ctx(account_id, now, dialect(), tags, products, segments)  # type: ignore[arg-type]


async def save_segments(account_id: int, now: datetime) -> Ctx:
    """The twenty shapes as saved segments of the account, saved afresh through the segments
    service (a kept database keeps no stale definitions); their first counts, which saving
    queues, are done before anything is timed."""
    await Segment.filter(account_id=account_id, name__startswith=SEGMENT_PREFIX).delete()
    account = await Account.get(id=account_id)
    ctx = await context(account_id, now)
    # The referenced segment first.
    for shape in sorted(SHAPES, key=lambda s: s.key != "engaged_30_days"):
        segment = await create_segment(
            account,
            name=SEGMENT_PREFIX + shape.key,
            description=shape.title,
            filter_input=shape.filter(ctx),
        )
        ctx.segments[shape.key] = segment.id
    await tasks.finish_pending()
    return ctx


async def parsed(ctx: Ctx, shape: Shape) -> ast.Filter:
    tree = codec.parse(shape.filter(ctx))
    await validate(ctx.account_id, tree)
    return tree


def scenario(ctx: Ctx, number: int) -> int:
    """Scenarios 1 and 2 on the embedded default are scenario 6."""
    return 6 if ctx.dialect == "sqlite" else number


def agree(where: str, found: dict[str, int]) -> None:
    if len(set(found.values())) != 1:
        shown = ", ".join(f"{name}: {n:,}" for name, n in found.items())
        raise HarnessError(f"counts disagree for {where}: {shown}")


async def shape_counts(
    ctx: Ctx, report: Report, plans: dbtools.Plans, runs: int, label: str
) -> dict[str, str]:
    """Scenario 1. Returns the fastest hand-written form of each shape (scenario 4 uses it)."""
    table = report.table(
        f"{scenario(ctx, 1)}. Counts of filter shapes, compiled vs hand-written ({label})",
        "shape",
        "query",
        "median ms",
        "ratio",
        "count",
    )
    table.notes.append(
        f"Each query once as a warm-up, then {runs} rounds of every query of the shape in "
        "rotating order; medians. The ratio is to the fastest hand-written form of the shape. "
        "Compiled: `codec.parse` + `validate`, timed `app.filters.query.count_matching`."
    )
    plan_file = f"counts-{ctx.dialect}.txt"
    best_forms: dict[str, str] = {}
    worst: tuple[float, str] = (0.0, "")
    for shape in COUNTED:
        tree = await parsed(ctx, shape)
        forms = shape.hand(ctx)

        async def compiled(tree: ast.Filter = tree) -> int:
            return await query.count_matching(ctx.account_id, tree, now=ctx.now)

        actions = {"compiled": compiled}
        for name, statement in forms.items():

            async def hand(statement: Sql = statement) -> int:
                return await dbtools.count(statement)

            actions[name] = hand
        timings: dict[str, Timing] = await round_robin(actions, runs)
        agree(f"{shape.key} ({label})", {name: int(t.result) for name, t in timings.items()})
        best_name = min(forms, key=lambda name: timings[name].median)
        best_forms[shape.key] = best_name
        best = timings[best_name].median
        for name, timing in timings.items():
            shown = name if name == "compiled" else f"hand: {name}"
            if name == best_name:
                shown += " (baseline)"
            table.add(
                shape.key,
                shown,
                ms(timing.median),
                ratio(timing.median / best),
                f"{timing.result:,}",
            )
        compiled_ratio = timings["compiled"].median / best
        worst = max(worst, (compiled_ratio, shape.key))
        report.target(
            scenario(ctx, 1),
            f"count `{shape.key}` ({label}) at most {COUNT_TARGET}x its hand-written SQL",
            compiled_ratio <= COUNT_TARGET,
            f"{compiled_ratio:.2f}x ({ms(timings['compiled'].median)} ms against {ms(best)} ms)",
        )
        text, params = await dbtools.statement_of(compiled, "COUNT(")
        await plans.add(plan_file, f"{shape.key}: compiled", text, params)
        for name, statement in forms.items():
            await plans.add(
                plan_file,
                f"{shape.key}: hand: {name}",
                render(statement, ctx.dialect),
                list(statement.params),
            )
        if ctx.dialect == "postgres":
            report.sql.append(
                (
                    f"{shape.key}: {shape.title}",
                    codec_json(shape, ctx),
                    [(name, inline(statement, ctx.dialect)) for name, statement in forms.items()],
                )
            )
        print(f"  counted {shape.key}: compiled {compiled_ratio:.2f}x", flush=True)
    print(f"  worst compiled ratio ({label}): {worst[0]:.2f}x ({worst[1]})", flush=True)
    return best_forms


def codec_json(shape: Shape, ctx: Ctx) -> str:
    return json.dumps(shape.filter(ctx), separators=(", ", ": "))


async def refresh_counts(
    ctx: Ctx, report: Report, runs: int, best_forms: dict[str, str], label: str
) -> None:
    """Scenario 4: `counts.refresh_count` of the twenty saved segments, one after the other (as
    `refresh_all_counts` does), against twenty plain COUNT statements (the fastest
    hand-written form of each); between them, the twenty compiled counts alone."""
    segments = [(shape, ctx.segments[shape.key]) for shape in SHAPES]
    trees = [(shape, await parsed(ctx, shape)) for shape, _ in segments]
    plain = [
        (shape, shape.hand(ctx)[best_forms.get(shape.key) or next(iter(shape.hand(ctx)))])
        for shape in SHAPES
    ]

    async def refresh() -> list[int]:
        found = []
        for _, pk in segments:
            segment = await counts.refresh_count(ctx.account_id, pk, ctx.now)
            if segment is None or segment.cached_count is None:
                raise HarnessError(f"segment {pk} vanished during its refresh")
            found.append(int(segment.cached_count))
        return found

    async def compiled() -> list[int]:
        return [await query.count_matching(ctx.account_id, tree, now=ctx.now) for _, tree in trees]

    async def hand() -> list[int]:
        return [await dbtools.count(statement) for _, statement in plain]

    timings = await round_robin(
        {
            "refresh_count of the 20 segments": refresh,
            "the 20 compiled counts alone (count_matching)": compiled,
            "20 plain hand-written COUNTs (the baseline)": hand,
        },
        runs,
    )
    results = [t.result for t in timings.values()]
    for index, (shape, _) in enumerate(segments):
        agree(f"saved segment {shape.key}", {str(i): r[index] for i, r in enumerate(results)})
    base = timings["20 plain hand-written COUNTs (the baseline)"].median
    table = report.table(
        f"4. Refreshing the counts of 20 saved segments ({label})",
        "what",
        "median ms (all 20)",
        "ratio",
    )
    for name, timing in timings.items():
        table.add(name, ms(timing.median), ratio(timing.median / base))
    table.notes.append(
        f"{runs} rounds after a warm-up, medians of the time for all twenty. The segments: "
        + ", ".join(f"`{shape.key}`" for shape, _ in segments)
        + " (their filters and SQL are under scenario 1 or in bench/shapes.py)."
    )
