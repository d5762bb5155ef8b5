"""The engagement rules, in one place: Inactive, high risk, Excluded and Hard Bounced.

Each rule is a set-based SQL predicate over `contacts c` of one account. The same predicates
recompute the stored flags (`recompute_flags`, run nightly by the workers and after the
account's settings change) and explain them for one contact (`explain_flags`). Between
recomputes, events keep the flags current (app/services/events.py): an open or a click takes a
contact out of Inactive and Excluded at once, a hard bounce marks it hard bounced.

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
from datetime import UTC, datetime, timedelta
from typing import Any

from app.db import connection, is_postgres
from app.enums import EmailEventKind, EmailRisk, SubscriptionStatus
from app.filters.sql import Dialect, Sql, all_of, any_of, placeholders, render, sql
from app.models import Account

RECOMPUTE_BATCH = 10_000


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
        moment = moment.astimezone(UTC)
        return moment.isoformat(" ") if self.dialect == "sqlite" else moment

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
        return sql(
            "(SELECT COUNT(*) FROM email_events e WHERE e.account_id = ? AND e.contact_id = c.id "
            "AND e.kind = ? AND e.occurred_at >= ? AND e.occurred_at <= ?) >= ?",
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
        return any_of([self.risky_address(), self.soft_bouncing(), self.unengaged_sends()])

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


def _dialect() -> Dialect:
    return "postgres" if is_postgres() else "sqlite"


async def recompute_flags(account: Account, now: datetime | None = None) -> int:
    """Set every contact's is_inactive, is_excluded and is_hard_bounced from the rules: one
    UPDATE per batch of ids, never a loop over contacts. Returns how many contacts changed."""
    now = now or datetime.now(UTC)
    rules = Rules.for_account(account, now, _dialect())
    conn = connection()
    bounds = await conn.execute_query_dict(
        render(
            sql(
                "SELECT MIN(id) AS lo, MAX(id) AS hi FROM contacts WHERE account_id = ?", account.id
            ),
            rules.dialect,
        ),
        [account.id],
    )
    low, high = bounds[0]["lo"], bounds[0]["hi"]
    if low is None:
        return 0
    changed = 0
    for start in range(int(low), int(high) + 1, RECOMPUTE_BATCH):
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
            + sql(", flags_computed_at = ?", rules._time(now))
            + sql(
                " WHERE c.account_id = ? AND c.id >= ? AND c.id < ?",
                account.id,
                start,
                start + RECOMPUTE_BATCH,
            )
            + Sql(" AND (c.is_inactive <> ")
            + inactive
            + Sql(" OR c.is_excluded <> ")
            + excluded
            + Sql(" OR c.is_hard_bounced <> ")
            + bounced
            + Sql(" OR c.flags_computed_at IS NULL)")
        )
        changed += await _execute(statement, rules.dialect)
        # Contacts already right only get their timestamp.
        stamp = sql(
            "UPDATE contacts SET flags_computed_at = ? WHERE account_id = ? AND id >= ? AND id < ?",
            rules._time(now),
            account.id,
            start,
            start + RECOMPUTE_BATCH,
        )
        await _execute(stamp, rules.dialect)
    return changed


def _since_engagement(rules: Rules, kind: EmailEventKind) -> Sql:
    return sql(
        "(SELECT COUNT(*) FROM email_events e WHERE e.account_id = ? AND e.contact_id = c.id "
        "AND e.kind = ? AND (c.last_engaged_at IS NULL OR e.occurred_at > c.last_engaged_at))",
        rules.account_id,
        kind.value,
    )


async def refresh_contacts(account: Account, contact_ids: Sequence[int], now: datetime) -> None:
    """After new events: recount sends and soft bounces since the last engagement from the
    events themselves (so late, out-of-order events count right), then apply the rules to the
    flags, all in the caller's transaction."""
    if not contact_ids:
        return
    rules = Rules.for_account(account, now, _dialect())
    ids = placeholders(sorted(set(contact_ids)))
    scope = sql(" WHERE c.account_id = ? AND c.id IN (", account.id) + ids + Sql(")")
    counters = (
        Sql("UPDATE contacts AS c SET sends_since_engagement = ")
        + _since_engagement(rules, EmailEventKind.SENT)
        + Sql(", soft_bounces = ")
        + _since_engagement(rules, EmailEventKind.BOUNCED_SOFT)
        + scope
    )
    await _execute(counters, rules.dialect)
    # A second statement: the rules read the counters just written.
    flags = (
        Sql("UPDATE contacts AS c SET is_inactive = ")
        + _flag(rules.inactive())
        + Sql(", is_excluded = ")
        + _flag(rules.excluded())
        + Sql(", is_hard_bounced = ")
        + _flag(rules.hard_bounced())
        + sql(", flags_computed_at = ?", rules._time(now))
        + scope
    )
    await _execute(flags, rules.dialect)


async def _execute(statement: Sql, dialect: Dialect) -> int:
    rows, _ = await connection().execute_query(render(statement, dialect), list(statement.params))
    return int(rows)


async def explain_flags(
    account: Account, contact_id: int, now: datetime | None = None
) -> dict[str, bool] | None:
    """The truth of every rule part for one contact (None if the account has no such contact)."""
    rules = Rules.for_account(account, now or datetime.now(UTC), _dialect())
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
