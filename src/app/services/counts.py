"""Cached segment counts and their daily history.

A count is the size of the segment's members, computed in the database together with who
entered and left since the last computation (app.services.membership), and cached on the
segment with the time it was read; `Segment.count` reads the cache, never the contacts, and
never queues anything. Any change to the account's data marks its counts stale. A refresh
first clears that mark and stamps its start, then counts: a change during the count marks it
stale again, and a refresh that died midway (a killed worker) shows as started after its last
count, which the sweep picks up. Each refresh writes that day's point of the segment's history
(a later refresh on the same day overwrites it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app import clock
from app.db import connection, dialect
from app.filters import query
from app.filters.sql import Sql, day_param, render, sql, time_param
from app.models import Segment, SegmentCountSnapshot
from app.services import membership, webhook_events
from app.services.segments import segment_filter

# A cached count older than this is reported stale (the nightly run refreshes every count).
STALE_AFTER = timedelta(days=1)
# A refresh started this long ago without finishing is taken as dead and done again.
ABANDONED_AFTER = timedelta(minutes=15)


async def mark_counts_stale(account_id: int) -> None:
    """The account's data changed: every cached count may be off until its next refresh."""
    await Segment.filter(account_id=account_id, count_stale=False).update(count_stale=True)


async def mark_stale(account_id: int, segment_id: int) -> None:
    await Segment.filter(account_id=account_id, id=segment_id).update(count_stale=True)


async def refresh_count(
    account_id: int, segment_id: int, now: datetime | None = None
) -> Segment | None:
    """Compute the segment's members as of `now` (recording who entered and left since the
    last computation, app.services.membership), cache their count and write today's point of
    its history. None if the segment is gone (deleted since the refresh was asked for)."""
    now = now or clock.now()
    read_at = clock.now()
    claimed = await Segment.filter(account_id=account_id, id=segment_id).update(
        count_stale=False, count_started_at=read_at
    )
    segment = await Segment.get_or_none(account_id=account_id, id=segment_id)
    if not claimed or segment is None:
        return None
    tree = segment_filter(segment)
    members = await query.members_select(account_id, tree, now=now, distinct=False)
    async with in_transaction() as conn:
        computed_before = await membership.hold_segment(conn, account_id, segment_id)
        if computed_before is None:
            return None  # deleted while the refresh waited
        result = await membership.compute(
            conn, account_id, segment_id, members, now=now, record=computed_before
        )
        await (
            Segment.filter(id=segment_id)
            .using_db(conn)
            .update(
                cached_count=result.count, count_computed_at=read_at, members_computed_at=read_at
            )
        )
        await _record_point(conn, account_id, segment_id, now.date(), result.count)
    if result.entered or result.left:
        await webhook_events.membership_changed(account_id, segment_id)
    segment.cached_count, segment.count_computed_at = result.count, read_at
    segment.members_computed_at = read_at
    return segment


async def refresh_all_counts(
    account_id: int, now: datetime | None = None, *, between: Callable[[], None] | None = None
) -> int:
    """Count every segment of the account (nightly, and after a bulk load); how many.
    `between` runs before each count (a run checks it still holds its lock)."""
    ids = await Segment.filter(account_id=account_id).order_by("id").values_list("id", flat=True)
    refreshed = 0
    for segment_id in ids:
        if between is not None:
            between()
        refreshed += await refresh_count(account_id, int(str(segment_id)), now) is not None
    return refreshed


def _needs_refresh(now: datetime) -> Sql:
    """Segments whose count is stale, was never taken, or whose refresh died midway."""
    return sql(
        "(count_stale OR cached_count IS NULL OR (count_started_at IS NOT NULL "
        "AND (count_computed_at IS NULL OR count_started_at > count_computed_at) "
        "AND count_started_at < ?))",
        time_param(now - ABANDONED_AFTER, dialect()),
    )


async def refresh_stale(account_id: int, now: datetime | None = None) -> int:
    """Refresh the account's counts that need it; how many."""
    now = now or clock.now()
    statement = (
        sql("SELECT id FROM segments WHERE account_id = ? AND ", account_id)
        + _needs_refresh(now)
        + Sql(" ORDER BY id")
    )
    rows = await connection().execute_query_dict(
        render(statement, dialect()), list(statement.params)
    )
    refreshed = 0
    for row in rows:
        refreshed += await refresh_count(account_id, int(row["id"]), now) is not None
    return refreshed


async def accounts_needing_refresh(now: datetime | None = None) -> list[int]:
    statement = Sql("SELECT DISTINCT account_id FROM segments WHERE ") + _needs_refresh(
        now or clock.now()
    )
    rows = await connection().execute_query_dict(
        render(statement, dialect()), list(statement.params)
    )
    return sorted(int(row["account_id"]) for row in rows)


async def _record_point(
    conn: BaseDBAsyncClient, account_id: int, segment_id: int, day: date, count: int
) -> None:
    # One statement, so two refreshes on one day never race to insert the same point.
    kind = dialect()
    statement = sql(
        "INSERT INTO segment_count_snapshots (account_id, segment_id, day, count) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (account_id, segment_id, day) "
        "DO UPDATE SET count = excluded.count",
        account_id,
        segment_id,
        day_param(day, kind),
        count,
    )
    await conn.execute_query(render(statement, kind), list(statement.params))


@dataclass(frozen=True)
class CountState:
    value: int | None  # None until the first count
    computed_at: datetime | None
    is_stale: bool


def count_state(segment: Segment, now: datetime) -> CountState:
    """What `Segment.count` shows: the cached count, stale when the data changed since, when
    it is more than a day old, or while a refresh is under way."""
    computed, started = segment.count_computed_at, segment.count_started_at
    refreshing = started is not None and (computed is None or started > computed)
    stale = segment.count_stale or computed is None or now - computed > STALE_AFTER or refreshing
    return CountState(segment.cached_count, computed, stale)


async def history(segment: Segment, days: int, today: date | None = None) -> list[tuple[date, int]]:
    """One point a day for the last `days` days (the days with a recorded count)."""
    today = today or clock.now().date()
    rows = await SegmentCountSnapshot.filter(
        segment_id=segment.id, day__gt=today - timedelta(days=days), day__lte=today
    ).order_by("day")
    return [(row.day, row.count) for row in rows]
