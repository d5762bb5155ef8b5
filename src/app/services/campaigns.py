"""Campaigns as the account's email events name them, newest first: what a filter builder
offers for `emailActivity.campaign`.

Computed from the events, never stored: the distinct names are walked through the index on
(account_id, campaign, ...) one step a name (a loose index scan), a campaign's first and last
event are two probes of (account_id, campaign, occurred_at), and only the campaigns of the page
have their sends counted. A page costs the number of campaigns, not of events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db import connection, dialect
from app.enums import EmailEventKind
from app.filters.sql import Sql, render, sql, time_param


@dataclass(frozen=True)
class Campaign:
    name: str
    first_event_at: datetime
    last_event_at: datetime
    sent: int  # SENT events


@dataclass(frozen=True)
class Position:
    """A place in the order: newest last event first, then by name."""

    last_event_at: datetime
    name: str


def _names(account_id: int) -> Sql:
    return sql(
        "WITH RECURSIVE names(name) AS ("
        "SELECT MIN(campaign) FROM email_events WHERE account_id = ? AND campaign IS NOT NULL"
        " UNION ALL SELECT (SELECT MIN(e.campaign) FROM email_events e"
        " WHERE e.account_id = ? AND e.campaign > n.name) FROM names n WHERE n.name IS NOT NULL)",
        account_id,
        account_id,
    )


async def page(account_id: int, *, limit: int, after: Position | None = None) -> list[Campaign]:
    """Up to `limit` campaigns following `after`, newest first."""
    kind = dialect()
    listed = sql(
        ", listed AS (SELECT n.name,"
        " (SELECT MIN(e.occurred_at) FROM email_events e"
        " WHERE e.account_id = ? AND e.campaign = n.name) AS first_event_at,"
        " (SELECT MAX(e.occurred_at) FROM email_events e"
        " WHERE e.account_id = ? AND e.campaign = n.name) AS last_event_at"
        " FROM names n WHERE n.name IS NOT NULL)",
        account_id,
        account_id,
    )
    following = Sql("")
    if after is not None:
        moment = time_param(after.last_event_at, kind)
        following = sql(
            " WHERE last_event_at < ? OR (last_event_at = ? AND name > ?)",
            moment,
            moment,
            after.name,
        )
    order = " ORDER BY last_event_at DESC, name"
    statement = (
        _names(account_id)
        + listed
        + Sql(", page AS (SELECT * FROM listed")
        + following
        + sql(f"{order} LIMIT ?)", limit)
        # Counted for the page only, once it is cut.
        + sql(
            " SELECT name, first_event_at, last_event_at, (SELECT COUNT(*) FROM email_events e"
            " WHERE e.account_id = ? AND e.campaign = p.name AND e.kind = ?) AS sent"
            " FROM page p",
            account_id,
            EmailEventKind.SENT.value,
        )
        + Sql(order)
    )
    return [_campaign(row) for row in await _rows(statement)]


async def count(account_id: int) -> int:
    statement = _names(account_id) + Sql(" SELECT COUNT(*) AS n FROM names WHERE name IS NOT NULL")
    return int((await _rows(statement))[0]["n"])


async def _rows(statement: Sql) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await connection().execute_query_dict(
        render(statement, dialect()), list(statement.params)
    )
    return rows


def _campaign(row: dict[str, Any]) -> Campaign:
    return Campaign(
        name=row["name"],
        first_event_at=_moment(row["first_event_at"]),
        last_event_at=_moment(row["last_event_at"]),
        sent=int(row["sent"]),
    )


def _moment(value: datetime | str) -> datetime:
    # SQLite gives back the stored text.
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
