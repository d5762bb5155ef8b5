"""The engagement rules, in one place: Inactive, high risk, Excluded and Hard Bounced.

Each rule is a set-based SQL predicate over `contacts c` of one account, and nothing else
restates them: every change that can move a flag applies them to the contacts it touched in
its own transaction (`apply_rules`: events, upserts), the nightly run applies them to every
contact as time passes (`recompute_flags`), and `explain_flags` gives the truth of each part
for one contact.

- Inactive: subscribed, and no open or click in the account's inactivity window, counted from
  the later of the last engagement and the subscription date (the creation date when neither
  is known).
- High risk: address validation said HIGH_RISK; or at least `soft_bounce_threshold` soft
  bounces within the inactivity window; or at least `unengaged_send_threshold` emails sent
  since the last engagement.
- Excluded: subscribed, inactive and high risk.
- Hard bounced: the last hard bounce is later than the last engagement and no delivery
  succeeded after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app import clock
from app.db import connection, dialect
from app.enums import EmailEventKind, EmailRisk, SubscriptionStatus
from app.filters.sql import (
    Dialect,
    Sql,
    all_of,
    any_of,
    join,
    placeholders,
    render,
    sql,
    time_param,
)
from app.models import Account

if TYPE_CHECKING:
    from app.locks import Held

# Contacts per UPDATE of a nightly recompute: bounds the rows one statement locks.
RECOMPUTE_BATCH = 20_000


@dataclass(frozen=True)
class Rules:
    account_id: int
    inactivity_days: int
    soft_bounce_threshold: int
    unengaged_send_threshold: int
    now: datetime
    dialect: Dialect

    @classmethod
    def for_account(cls, account: Account, now: datetime, dialect: Dialect) -> Rules:
        return cls(
            account.id,
            account.inactivity_days,
            account.soft_bounce_threshold,
            account.unengaged_send_threshold,
            now,
            dialect,
        )

    def _time(self, moment: datetime) -> Any:
        return time_param(moment, self.dialect)

    @property
    def window_start(self) -> datetime:
        return self.now - timedelta(days=self.inactivity_days)

    # -- the parts, each two-valued --------------------------------------------------------

    def subscribed(self) -> Sql:
        return sql("c.subscription_status = ?", SubscriptionStatus.SUBSCRIBED.value)

    def unengaged_in_window(self) -> Sql:
        # The later of last engagement and subscription; NULLs stand aside (SQLite's max() and
        # PostgreSQL's GREATEST treat them differently, so spell it out).
        since = (
            "COALESCE(CASE WHEN c.last_engaged_at IS NULL THEN c.subscribed_at "
            "WHEN c.subscribed_at IS NULL OR c.last_engaged_at > c.subscribed_at "
            "THEN c.last_engaged_at ELSE c.subscribed_at END, c.created_at)"
        )
        return sql(f"{since} < ?", self._time(self.window_start))

    def risky_address(self) -> Sql:
        return sql("c.email_risk = ?", EmailRisk.HIGH_RISK.value)

    def soft_bouncing(self) -> Sql:
        # No soft bounce since the window opened (the stored latest one says so) means none in
        # it: the count, a probe of the events per contact, runs only for the others.
        return sql(
            "(COALESCE(c.last_soft_bounce_at >= ?, FALSE) AND "
            "(SELECT COUNT(*) FROM email_events e WHERE e.account_id = ? AND e.contact_id = c.id "
            "AND e.kind = ? AND e.occurred_at >= ? AND e.occurred_at <= ?) >= ?)",
            self._time(self.window_start),
            self.account_id,
            EmailEventKind.BOUNCED_SOFT.value,
            self._time(self.window_start),
            self._time(self.now),
            self.soft_bounce_threshold,
        )

    def unengaged_sends(self) -> Sql:
        return sql("c.sends_since_engagement >= ?", self.unengaged_send_threshold)

    def bounced_after_engagement(self) -> Sql:
        return Sql(
            "(c.hard_bounced_at IS NOT NULL AND "
            "(c.last_engaged_at IS NULL OR c.last_engaged_at < c.hard_bounced_at))"
        )

    def no_delivery_since_bounce(self) -> Sql:
        return sql(
            "NOT EXISTS (SELECT 1 FROM email_events d WHERE d.account_id = ? "
            "AND d.contact_id = c.id AND d.kind = ? AND d.occurred_at > c.hard_bounced_at)",
            self.account_id,
            EmailEventKind.DELIVERED.value,
        )

    # -- the rules ---------------------------------------------------------------------------

    def inactive(self) -> Sql:
        return all_of([self.subscribed(), self.unengaged_in_window()])

    def high_risk(self) -> Sql:
        # The stored parts first: the soft-bounce count runs only when they are false.
        return any_of([self.risky_address(), self.unengaged_sends(), self.soft_bouncing()])

    def excluded(self) -> Sql:
        return all_of([self.inactive(), self.high_risk()])

    def hard_bounced(self) -> Sql:
        return all_of([self.bounced_after_engagement(), self.no_delivery_since_bounce()])

    def parts(self) -> dict[str, Sql]:
        """Every part of every rule, by name: what an explanation shows."""
        return {
            "subscribed": self.subscribed(),
            "unengaged_in_window": self.unengaged_in_window(),
            "risky_address": self.risky_address(),
            "soft_bouncing": self.soft_bouncing(),
            "unengaged_sends": self.unengaged_sends(),
            "inactive": self.inactive(),
            "high_risk": self.high_risk(),
            "excluded": self.excluded(),
            "bounced_after_engagement": self.bounced_after_engagement(),
            "no_delivery_since_bounce": self.no_delivery_since_bounce(),
            "hard_bounced": self.hard_bounced(),
        }


def _flag(predicate: Sql) -> Sql:
    return Sql("CASE WHEN ") + predicate + Sql(" THEN TRUE ELSE FALSE END")


def _rules(account: Account, now: datetime) -> Rules:
    return Rules.for_account(account, now, dialect())


def _set_flags(rules: Rules, scope: Sql, *, changed_only: bool) -> Sql:
    """One UPDATE that sets the three flags of the contacts in `scope` from the rules, and
    stamps flags_computed_at on the rows it writes. With `changed_only` it writes only the
    contacts whose flags move: a night that changes nothing reads and writes nothing.

    The rules are spelled in SET (and repeated in WHERE) rather than joined from a subquery
    on purpose: on PostgreSQL, when a concurrent event has just changed a row, the UPDATE
    re-reads that row and SET re-evaluates the rules on its new version, so an open recorded
    during the nightly run is never overwritten with flags computed before it."""
    inactive, excluded, bounced = (
        _flag(rules.inactive()),
        _flag(rules.excluded()),
        _flag(rules.hard_bounced()),
    )
    statement = (
        Sql("UPDATE contacts AS c SET is_inactive = ")
        + inactive
        + Sql(", is_excluded = ")
        + excluded
        + Sql(", is_hard_bounced = ")
        + bounced
        + sql(
            ", flags_computed_at = ? WHERE c.account_id = ? AND ",
            rules._time(rules.now),
            rules.account_id,
        )
        + scope
    )
    if changed_only:
        # Cheapest first: a contact whose Inactive flag moved needs no other comparison.
        statement = (
            statement
            + Sql(" AND (c.is_inactive <> ")
            + inactive
            + Sql(" OR c.is_hard_bounced <> ")
            + bounced
            + Sql(" OR c.is_excluded <> ")
            + excluded
            + Sql(")")
        )
    return statement


async def recompute_flags(
    account: Account, now: datetime | None = None, *, held: Held | None = None
) -> int:
    """Apply the rules to every contact of the account, one UPDATE per range of ids, writing
    only the contacts whose flags change; then stamp the account as evaluated at `now`.
    Returns how many contacts changed. `held`: the run's lock, checked between batches."""
    now = now or clock.now()
    rules = _rules(account, now)
    bounds = await connection().execute_query_dict(
        render(
            sql(
                "SELECT MIN(id) AS lo, MAX(id) AS hi FROM contacts WHERE account_id = ?", account.id
            ),
            rules.dialect,
        ),
        [account.id],
    )
    low, high = bounds[0]["lo"], bounds[0]["hi"]
    changed = 0
    if low is not None:
        for start in range(int(low), int(high) + 1, RECOMPUTE_BATCH):
            if held is not None:
                held.check()
            scope = sql("c.id >= ? AND c.id < ?", start, start + RECOMPUTE_BATCH)
            changed += await _execute(_set_flags(rules, scope, changed_only=True), rules.dialect)
    await Account.filter(id=account.id).update(flags_evaluated_at=now)
    account.flags_evaluated_at = now
    return changed


async def apply_rules(account: Account, contact_ids: Sequence[int], now: datetime) -> None:
    """Apply the rules to contacts a change just touched, in the caller's transaction."""
    if contact_ids:
        scope = Sql("c.id IN (") + placeholders(sorted(set(contact_ids))) + Sql(")")
        await _execute(_set_flags(_rules(account, now), scope, changed_only=False), dialect())


# The contact's summary of its events: each column is the latest event of these kinds.
_LATEST = {
    "last_opened_at": (EmailEventKind.OPENED,),
    "last_clicked_at": (EmailEventKind.CLICKED,),
    "last_engaged_at": (EmailEventKind.OPENED, EmailEventKind.CLICKED),
    "last_sent_at": (EmailEventKind.SENT,),
    "last_soft_bounce_at": (EmailEventKind.BOUNCED_SOFT,),
    "hard_bounced_at": (EmailEventKind.BOUNCED_HARD,),
}
# Counted since the last engagement (all of them when there was none).
_SINCE_ENGAGEMENT = {
    "sends_since_engagement": EmailEventKind.SENT,
    "soft_bounces": EmailEventKind.BOUNCED_SOFT,
}
# What the rules read of a contact besides its summary.
_PROFILE = ("id", "subscription_status", "subscribed_at", "created_at", "email_risk")


def _kinds(alias: str, kinds: Sequence[EmailEventKind]) -> Sql:
    return Sql(f"{alias}.kind IN (") + placeholders(kind.value for kind in kinds) + Sql(")")


def _summaries(account_id: int, ids: Sql) -> Sql:
    """The contacts (ids) as the rules see them, with the summary of their events read from
    the events themselves: one pass over each contact's events."""
    events = (
        Sql("SELECT e.contact_id, e.kind, e.occurred_at, MAX(CASE WHEN ")
        + _kinds("e", _LATEST["last_engaged_at"])
        + Sql(" THEN e.occurred_at END) OVER (PARTITION BY e.contact_id) AS engaged")
        + sql(" FROM email_events e WHERE e.account_id = ? AND e.contact_id IN (", account_id)
        + ids
        + Sql(")")
    )
    columns = [Sql("v.contact_id")]
    for column, kinds in _LATEST.items():
        when = Sql("MAX(CASE WHEN ") + _kinds("v", kinds)
        columns.append(when + Sql(f" THEN v.occurred_at END) AS {column}"))
    for column, kind in _SINCE_ENGAGEMENT.items():
        columns.append(
            sql("SUM(CASE WHEN v.kind = ? ", kind.value)
            + Sql("AND (v.engaged IS NULL OR v.occurred_at > v.engaged) THEN 1 ELSE 0 END)")
            + Sql(f" AS {column}")
        )
    summary = (
        Sql("SELECT ")
        + join(", ", columns)
        + Sql(" FROM (")
        + events
        + Sql(") v GROUP BY v.contact_id")
    )
    profile = ", ".join(f"x.{column}" for column in _PROFILE)
    latest = ", ".join(f"s.{column}" for column in (*_LATEST, *_SINCE_ENGAGEMENT))
    return (
        Sql(f"SELECT {profile}, {latest} FROM contacts x JOIN (")
        + summary
        + sql(") s ON s.contact_id = x.id WHERE x.account_id = ?", account_id)
    )


async def refresh_contacts(account: Account, contact_ids: Sequence[int], now: datetime) -> None:
    """After new events: in one UPDATE, set the contacts' latest times and counters from the
    events themselves (so late, out-of-order events count right) and their flags by the
    rules, read over those new values. In the caller's transaction, which holds the
    contacts' locks."""
    if not contact_ids:
        return
    rules = _rules(account, now)
    ids = placeholders(sorted(set(contact_ids)))
    sets = [Sql(f"{column} = c.{column}") for column in (*_LATEST, *_SINCE_ENGAGEMENT)]
    sets += [
        Sql("is_inactive = ") + _flag(rules.inactive()),
        Sql("is_excluded = ") + _flag(rules.excluded()),
        Sql("is_hard_bounced = ") + _flag(rules.hard_bounced()),
        sql("flags_computed_at = ?", rules._time(now)),
    ]
    statement = (
        Sql("UPDATE contacts AS t SET ")
        + join(", ", sets)
        + Sql(" FROM (")
        + _summaries(account.id, ids)
        + sql(") AS c WHERE t.account_id = ? AND t.id IN (", account.id)
        + ids
        + Sql(") AND t.id = c.id")
    )
    await _execute(statement, rules.dialect)


async def _execute(statement: Sql, kind: Dialect) -> int:
    rows, _ = await connection().execute_query(render(statement, kind), list(statement.params))
    return int(rows)


async def explain_flags(
    account: Account, contact_id: int, now: datetime | None = None
) -> dict[str, bool] | None:
    """The truth of every rule part for one contact (None if the account has no such contact)."""
    rules = _rules(account, now or clock.now())
    statement = Sql("SELECT ")
    for index, (name, predicate) in enumerate(rules.parts().items()):
        statement = statement + Sql(", " if index else "") + _flag(predicate) + Sql(f" AS {name}")
    statement = statement + sql(
        " FROM contacts c WHERE c.account_id = ? AND c.id = ?", account.id, contact_id
    )
    rows = await connection().execute_query_dict(
        render(statement, rules.dialect), list(statement.params)
    )
    if not rows:
        return None
    return {name: bool(value) for name, value in rows[0].items()}
