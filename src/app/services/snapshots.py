"""Snapshots: a segment's members frozen for a campaign send. The members are copied in the
database by one INSERT ... SELECT over the segment's filter, so what a send reads stays the same
however the segment and its contacts change afterwards. A member whose contact is later
erased drops out of the pages (they join the contacts); the count stays what was frozen.
Snapshots expire after `snapshot_retention_days`; the nightly run removes them."""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from app import clock, limits
from app.db import dialect, execute_counted, fetch
from app.filters import query
from app.filters.sql import Sql, sql, time_param
from app.models import Segment, SegmentSnapshot
from app.services.errors import DomainError, ErrorCode
from app.services.segments import segment_filter
from app.settings import current


async def create_snapshot(account_id: int, segment_id: int) -> SegmentSnapshot:
    segment = await Segment.get_or_none(account_id=account_id, id=segment_id)
    if segment is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such segment.", ("id",))
    now = clock.now()
    live = await SegmentSnapshot.filter(account_id=account_id, expires_at__gt=now).count()
    if live >= limits.MAX_SNAPSHOTS:
        raise DomainError(
            ErrorCode.LIMIT_REACHED,
            f"An account can hold at most {limits.MAX_SNAPSHOTS} snapshots; they expire after "
            f"{current().snapshot_retention_days} days.",
            ("id",),
        )
    members = await query.members_select(account_id, segment_filter(segment), now=now)
    expires = now + timedelta(days=current().snapshot_retention_days)
    async with in_transaction() as conn:
        snapshot = await SegmentSnapshot.create(
            account_id=account_id,
            segment_id=segment_id,
            created_at=now,
            expires_at=expires,
            using_db=conn,
        )
        copy = (
            sql(
                "INSERT INTO segment_snapshot_members (snapshot_id, contact_id) SELECT ?, m.id ",
                snapshot.id,
            )
            + Sql("FROM (")
            + members
            + Sql(") m")
        )
        snapshot.count = await execute_counted(copy, conn)
        await snapshot.save(update_fields=["count"], using_db=conn)
    return snapshot


async def get_snapshot(account_id: int, snapshot_id: int) -> SegmentSnapshot | None:
    return await SegmentSnapshot.get_or_none(account_id=account_id, id=snapshot_id)


def _members_still_there(account_id: int, snapshot_id: int) -> Sql:
    """FROM ... WHERE of the snapshot's members whose contacts exist (erased ones drop out)."""
    return sql(
        " FROM segment_snapshot_members m "
        "JOIN segment_snapshots s ON s.id = m.snapshot_id AND s.account_id = ? "
        "JOIN contacts c ON c.id = m.contact_id AND c.account_id = ? "
        "WHERE m.snapshot_id = ?",
        account_id,
        account_id,
        snapshot_id,
    )


async def member_ids(
    account_id: int, snapshot_id: int, *, after_contact_id: int | None, limit: int
) -> list[int]:
    """Ascending ids of the snapshot's members that still exist, after `after_contact_id`."""
    statement = (
        Sql("SELECT m.contact_id")
        + _members_still_there(account_id, snapshot_id)
        + sql(
            " AND m.contact_id > ? ORDER BY m.contact_id LIMIT ?",
            after_contact_id if after_contact_id is not None else 0,
            limit,
        )
    )
    return [int(row["contact_id"]) for row in await fetch(statement)]


async def count_members(account_id: int, snapshot_id: int) -> int:
    """How many of the snapshot's members still exist (what its pages hold, over all)."""
    statement = Sql("SELECT COUNT(*) AS n") + _members_still_there(account_id, snapshot_id)
    return int((await fetch(statement))[0]["n"])


async def remove_expired(account_id: int, now: datetime) -> int:
    """Delete the account's expired snapshots and their members; how many snapshots."""
    expired = sql(
        "SELECT id FROM segment_snapshots WHERE account_id = ? AND expires_at <= ?",
        account_id,
        time_param(now, dialect()),
    )
    async with in_transaction() as conn:
        members = Sql("DELETE FROM segment_snapshot_members WHERE snapshot_id IN (") + expired
        await execute_counted(members + Sql(")"), conn)
        snapshots = Sql("DELETE FROM segment_snapshots WHERE id IN (") + expired + Sql(")")
        return await execute_counted(snapshots, conn)
