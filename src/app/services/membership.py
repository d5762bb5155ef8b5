"""Who entered and left a segment: each computation of its members (a count refresh, the
nightly run) compares them with the members kept from the previous one, in the database, and
records the difference as ENTERED and LEFT rows of the change log.

The current members live in `segment_members` as (segment, contact) pairs, so the next diff is
one join of the filter's ids with the indexed pairs; the members are never read into Python.
A segment's first computation records no changes (there is no "before"). Computations of one
segment are serialised (a transaction-scoped advisory lock on PostgreSQL; SQLite has one
writer), so two refreshes never record the same change twice; a deletion of the segment takes
the same lock first. The segment's own row is not locked while the members are read: a write
that marks counts stale never waits for a long diff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from app.db import dialect, execute_counted, fetch, is_postgres
from app.enums import MembershipChangeKind
from app.filters.sql import Sql, sql, time_param
from app.models import MembershipChange

# The first key of the advisory locks taken here (the second is the segment id).
LOCK_SPACE = 0x5E6
WORK_MEM = "64MB"


@dataclass(frozen=True)
class Computed:
    count: int
    entered: int
    left: int


async def serialise(conn: BaseDBAsyncClient, segment_id: int) -> None:
    """Wait in `conn`'s transaction for any other computation of the segment (or deletion of
    it) to finish. Taken before any row lock of the segment, by both."""
    if is_postgres(conn):
        key = segment_id % 2**31
        await fetch(sql("SELECT pg_advisory_xact_lock(?, ?)", LOCK_SPACE, key), conn)


async def hold_segment(conn: BaseDBAsyncClient, account_id: int, segment_id: int) -> bool | None:
    """Start a computation of the segment in `conn`'s transaction (`serialise`). Whether its
    members were computed before; None when the segment is gone. The segment's row is not
    locked: writes that mark counts stale never wait for a long diff, and a deletion waits on
    the same advisory lock instead."""
    await serialise(conn, segment_id)
    rows = await fetch(
        sql(
            "SELECT members_computed_at FROM segments WHERE id = ? AND account_id = ?",
            segment_id,
            account_id,
        ),
        conn,
    )
    if not rows:
        return None
    return rows[0]["members_computed_at"] is not None


async def forget(conn: BaseDBAsyncClient, segment_id: int) -> None:
    """The segment is being deleted (in `conn`'s transaction, after `serialise`): drop its
    kept members (a plain table: no cascade)."""
    await fetch(sql("DELETE FROM segment_members WHERE segment_id = ?", segment_id), conn)


async def compute(
    conn: BaseDBAsyncClient,
    account_id: int,
    segment_id: int,
    members: Sql,
    *,
    now: datetime,
    record: bool,
) -> Computed:
    """Compute the segment's members (`members`, from `query.members_select`, which may
    repeat an id), keep them,
    and when `record` log who entered and left since the last computation, stamped `now`.
    Runs in the caller's transaction, after `hold_segment`."""
    if is_postgres(conn):
        return await _compute_postgres(conn, account_id, segment_id, members, now, record)
    return await _compute_sqlite(conn, account_id, segment_id, members, now, record)


def _log(
    account_id: int, segment_id: int, kind: MembershipChangeKind, at: object, contact: str
) -> Sql:
    """INSERT into the change log; the rest of its SELECT (the FROM naming `contact`) follows."""
    return sql(
        "INSERT INTO segment_membership_changes (account_id, segment_id, contact_id, kind, at) "
        f"SELECT ?, ?, {contact}, ?, ?",
        account_id,
        segment_id,
        kind.value,
        at,
    )


async def _compute_postgres(
    conn: BaseDBAsyncClient,
    account_id: int,
    segment_id: int,
    members: Sql,
    now: datetime,
    record: bool,
) -> Computed:
    # Room for the hash of half a million ids: spilled to disk, the join took 50% longer.
    await fetch(Sql(f"SET LOCAL work_mem = '{WORK_MEM}'"), conn)
    # One statement. One join of the members with those kept finds both sides of the change
    # (only the change is materialised); the count is the kept ones, plus and minus it.
    kept = sql("SELECT contact_id FROM segment_members WHERE segment_id = ?", segment_id)
    statement = (
        Sql("WITH diff AS MATERIALIZED (SELECT cur.id AS entered, kept.contact_id AS left_ FROM (")
        + members
        + Sql(") cur FULL JOIN (")
        + kept
        + sql(
            ") kept ON kept.contact_id = cur.id WHERE cur.id IS NULL OR kept.contact_id IS NULL), "
            "added AS (INSERT INTO segment_members (segment_id, contact_id) "
            "SELECT DISTINCT ?::bigint, entered FROM diff WHERE entered IS NOT NULL "
            "RETURNING contact_id), "
            "gone AS (DELETE FROM segment_members m WHERE m.segment_id = ? AND m.contact_id IN "
            "(SELECT left_ FROM diff WHERE left_ IS NOT NULL) RETURNING m.contact_id)",
            segment_id,
            segment_id,
        )
    )
    if record:
        statement = (
            statement
            + Sql(", entered AS (")
            + _log(account_id, segment_id, MembershipChangeKind.ENTERED, now, "contact_id")
            + Sql(" FROM added), left_ AS (")
            + _log(account_id, segment_id, MembershipChangeKind.LEFT, now, "contact_id")
            + Sql(" FROM gone)")
        )
    statement = (
        statement
        + Sql(" SELECT (SELECT COUNT(*) FROM (")
        + kept
        + Sql(
            ") k) AS kept, (SELECT COUNT(*) FROM added) AS entered, "
            "(SELECT COUNT(*) FROM gone) AS left_"
        )
    )
    row = (await fetch(statement, conn))[0]
    entered, left = int(row["entered"]), int(row["left_"])
    return Computed(int(row["kept"]) + entered - left, entered, left)


async def _compute_sqlite(
    conn: BaseDBAsyncClient,
    account_id: int,
    segment_id: int,
    members: Sql,
    now: datetime,
    record: bool,
) -> Computed:
    # The members are read once, into a table of this connection, then compared.
    await fetch(Sql("CREATE TEMP TABLE IF NOT EXISTS members_now (id INTEGER PRIMARY KEY)"), conn)
    await fetch(Sql("DELETE FROM members_now"), conn)
    await fetch(Sql("INSERT OR IGNORE INTO members_now (id) ") + members, conn)
    added = sql(
        " FROM members_now n WHERE NOT EXISTS (SELECT 1 FROM segment_members m "
        "WHERE m.segment_id = ? AND m.contact_id = n.id)",
        segment_id,
    )
    gone = sql(  # no alias: SQLite's DELETE takes none
        " FROM segment_members WHERE segment_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM members_now n WHERE n.id = segment_members.contact_id)",
        segment_id,
    )
    count = int((await fetch(Sql("SELECT COUNT(*) AS n FROM members_now"), conn))[0]["n"])
    if record:
        at = time_param(now, "sqlite")
        entered_log = _log(account_id, segment_id, MembershipChangeKind.ENTERED, at, "n.id")
        await fetch(entered_log + added, conn)
        left_log = _log(account_id, segment_id, MembershipChangeKind.LEFT, at, "contact_id")
        await fetch(left_log + gone, conn)
    left = await execute_counted(Sql("DELETE") + gone, conn)
    entered = await execute_counted(
        sql("INSERT INTO segment_members (segment_id, contact_id) SELECT ?, n.id", segment_id)
        + added,
        conn,
    )
    await fetch(Sql("DELETE FROM members_now"), conn)
    return Computed(count, entered, left)


async def changes_page(
    account_id: int,
    segment_id: int,
    *,
    after_id: int | None,
    limit: int,
    since: datetime | None,
    kind: MembershipChangeKind | None,
) -> list[MembershipChange]:
    """Up to `limit` changes of the segment after the change `after_id`, oldest first."""
    found = MembershipChange.filter(account_id=account_id, segment_id=segment_id)
    if after_id is not None:
        found = found.filter(id__gt=after_id)
    if since is not None:
        found = found.filter(at__gte=since)
    if kind is not None:
        found = found.filter(kind=kind)
    return await found.order_by("id").limit(limit)


async def trim_changes(account_id: int, now: datetime, keep: timedelta) -> int:
    """Drop the account's changes older than `keep`; how many went."""
    statement = sql(
        "DELETE FROM segment_membership_changes WHERE account_id = ? AND at < ?",
        account_id,
        time_param(now - keep, dialect()),
    )
    return await execute_counted(statement)
