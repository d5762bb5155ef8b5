"""What the nightly run removes once it is old enough: membership changes and finished webhook
deliveries past `changes_retention_days`, and snapshots past their expiry."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.db import dialect, execute_counted
from app.enums import DeliveryStatus
from app.filters.sql import sql, time_param
from app.services import membership, snapshots
from app.settings import current

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trimmed:
    changes: int
    snapshots: int
    deliveries: int


async def trim(account_id: int, now: datetime) -> Trimmed:
    keep = timedelta(days=current().changes_retention_days)
    trimmed = Trimmed(
        changes=await membership.trim_changes(account_id, now, keep),
        snapshots=await snapshots.remove_expired(account_id, now),
        deliveries=await _trim_deliveries(account_id, now - keep),
    )
    log.info("account %s: removed %s", account_id, trimmed)
    return trimmed


async def _trim_deliveries(account_id: int, before: datetime) -> int:
    # A delivery still being retried stays, however old (its own limit ends it first).
    return await execute_counted(
        sql(
            "DELETE FROM webhook_deliveries WHERE account_id = ? AND status <> ? "
            "AND created_at < ?",
            account_id,
            DeliveryStatus.PENDING.value,
            time_param(before, dialect()),
        )
    )
