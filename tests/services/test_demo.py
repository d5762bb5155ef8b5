"""The demo seeder on SQLite and PostgreSQL: what it writes reads back through the ORM, matches
its summary, and every denormalised contact field is what the services would have computed."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

import pytest

from app.db import connection
from app.engagement import explain_flags
from app.enums import EmailEventKind, SubscriptionStatus
from app.models import (
    Account,
    Contact,
    ContactTag,
    EmailEvent,
    OwnedProduct,
    Product,
    Purchase,
    Tag,
)
from app.services.checks import normalize_email
from app.services.contacts import ContactData, upsert_contacts
from app.services.demo import DemoSummary, seed_demo
from app.services.errors import DomainError
from app.services.events import ENGAGEMENT_FIELDS, apply_event

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
# is_inactive and is_excluded are the nightly flags: checked against app.engagement instead.
EVENT_FIELDS = [f for f in ENGAGEMENT_FIELDS if f not in ("is_inactive", "is_excluded")]
DATETIME_FIELDS = [
    "created_at",
    "updated_at",
    "subscribed_at",
    "flags_computed_at",
    "last_opened_at",
    "last_clicked_at",
    "last_engaged_at",
    "last_sent_at",
    "last_soft_bounce_at",
    "hard_bounced_at",
]


async def seeded(account: Account, contacts: int = 300) -> tuple[DemoSummary, list[Contact]]:
    summary = await seed_demo(account, contacts, seed=7, now=NOW)
    return summary, await Contact.filter(account=account).order_by("id").all()


async def test_counts_match_the_summary(account: Account) -> None:
    stages: list[tuple[str, int, int]] = []
    summary = await seed_demo(
        account, 300, seed=7, now=NOW, progress=lambda *args: stages.append(args)
    )
    assert summary.contacts == await Contact.filter(account=account).count() == 300
    assert summary.tags == await Tag.filter(account=account).count()
    assert 15 <= summary.tags <= 25
    assert summary.products == await Product.filter(account=account).count() == 8
    assert summary.tag_links == await ContactTag.filter(account=account).count()
    assert summary.owned_products == await OwnedProduct.filter(account=account).count()
    assert summary.purchases == await Purchase.filter(account=account).count()
    assert summary.email_events == await EmailEvent.filter(account=account).count()
    contacts = Contact.filter(account=account)
    assert summary.customers == await contacts.filter(is_customer=True).count()
    assert summary.inactive == await contacts.filter(is_inactive=True).count()
    assert summary.excluded == await contacts.filter(is_excluded=True).count()
    assert summary.hard_bounced == await contacts.filter(is_hard_bounced=True).count()
    for status, expected in (
        (SubscriptionStatus.SUBSCRIBED, summary.subscribed),
        (SubscriptionStatus.UNSUBSCRIBED, summary.unsubscribed),
    ):
        assert await contacts.filter(subscription_status=status).count() == expected
    assert stages[-1] == ("contacts", 300, 300)
    assert "300 contacts" in str(summary)


async def test_the_orm_reads_every_contact_back(account: Account) -> None:
    _, contacts = await seeded(account)
    assert len({c.email_lower for c in contacts}) == len(contacts)
    assert any(c.email != c.email_lower for c in contacts)  # mixed case is kept
    for contact in contacts:
        assert normalize_email(contact.email) == contact.email
        assert contact.email_lower == contact.email.lower()
        assert isinstance(contact.custom_fields, dict)
        assert contact.birth_date is None or isinstance(contact.birth_date, date)
        for name in DATETIME_FIELDS:
            value = getattr(contact, name)
            assert value is None or (isinstance(value, datetime) and value.tzinfo is not None)
        assert contact.created_at <= NOW
        assert contact.subscribed_at is None or contact.created_at <= contact.subscribed_at
    assert any(isinstance(c.custom_fields.get("score"), int) for c in contacts)


async def test_rows_are_stored_as_the_orm_stores_them(account: Account) -> None:
    """Raw column values of a seeded contact have the types (and on SQLite the text format)
    of a contact that the ORM saved."""
    _, contacts = await seeded(account, 50)
    result = await upsert_contacts(
        account,
        [
            ContactData(
                email="Orm.Made@example.com",
                subscription_status=SubscriptionStatus.SUBSCRIBED,
                birth_date=date(1990, 5, 17),
                custom_fields={"plan": "pro"},
            )
        ],
        now=NOW,
    )
    orm_made = result.items[0]
    seeded_one = next(c for c in contacts if c.birth_date and c.subscribed_at and c.custom_fields)
    raw = {
        row["id"]: row
        for row in await connection().execute_query_dict(
            f"SELECT * FROM contacts WHERE id IN ({orm_made.id:d}, {seeded_one.id:d})"
        )
    }
    ours, theirs = raw[seeded_one.id], raw[orm_made.id]
    for column in ("created_at", "subscribed_at", "birth_date", "custom_fields", "is_customer"):
        assert type(ours[column]) is type(theirs[column]), column
        if isinstance(ours[column], str) and column.endswith("_at"):
            assert ours[column].endswith("+00:00") and ours[column][10] == " "


async def test_denormalised_fields_are_what_the_events_give(account: Account) -> None:
    _, contacts = await seeded(account)
    events: dict[int, list[EmailEvent]] = defaultdict(list)
    for event in await EmailEvent.filter(account=account).order_by("occurred_at", "id"):
        events[event.contact_id].append(event)  # type: ignore[attr-defined]
    assert events, "the demo has email events"
    for contact in contacts:
        replayed = Contact(
            subscription_status=contact.subscription_status,
            unsubscribe_reason=contact.unsubscribe_reason,
            subscribed_at=contact.subscribed_at,
        )
        history = events.get(contact.id, [])
        if history:  # anyone who was sent mail was subscribed then
            replayed.subscription_status = SubscriptionStatus.SUBSCRIBED
            replayed.unsubscribe_reason = None
        for event in history:
            assert contact.subscribed_at is not None
            assert contact.subscribed_at < event.occurred_at <= NOW
            apply_event(replayed, event.kind, event.occurred_at)
        for name in [*EVENT_FIELDS, "subscription_status", "unsubscribe_reason"]:
            assert getattr(replayed, name) == getattr(contact, name), (contact.email, name)
        assert contact.flags_computed_at == NOW
        rules = await explain_flags(account, contact.id, NOW)
        assert rules is not None
        stored = (contact.is_inactive, contact.is_excluded, contact.is_hard_bounced)
        assert (rules["inactive"], rules["excluded"], rules["hard_bounced"]) == stored, (
            contact.email
        )


async def test_money_and_ownership_agree(account: Account) -> None:
    _, contacts = await seeded(account)
    owners = set(await OwnedProduct.filter(account=account).values_list("contact_id", flat=True))
    spent: dict[int, int] = defaultdict(int)
    for contact_id, cents in await Purchase.filter(account=account).values_list(
        "contact_id", "amount_cents"
    ):
        spent[contact_id] += cents
    assert owners and spent
    for contact in contacts:
        assert contact.is_customer == (contact.id in owners)
        assert contact.total_spent_cents == spent.get(contact.id, 0)
    courses = OwnedProduct.filter(account=account, product__kind="COURSE")
    assert await courses.filter(progress__gt=0).exists()


async def test_the_mix_is_realistic(account: Account) -> None:
    summary = await seed_demo(account, 2000, seed=1, now=NOW)
    n = summary.contacts

    def share(count: int) -> float:
        return count / n

    assert 0.68 < share(summary.subscribed) < 0.82
    assert 0.10 < share(summary.unsubscribed) < 0.20
    assert 0.18 < share(summary.customers) < 0.32
    assert 8 < summary.email_events / n < 16
    sent = await EmailEvent.filter(account=account, kind=EmailEventKind.SENT).count()
    opened = await EmailEvent.filter(account=account, kind=EmailEventKind.OPENED).count()
    clicked = await EmailEvent.filter(account=account, kind=EmailEventKind.CLICKED).count()
    assert 0.18 < opened / sent < 0.32
    assert 0.02 < clicked / sent < 0.06
    assert 0 < summary.excluded < summary.inactive < summary.subscribed


async def test_same_seed_same_data(account: Account, other_account: Account) -> None:
    await seed_demo(account, 100, seed=3, now=NOW)
    await seed_demo(other_account, 100, seed=3, now=NOW)

    async def fingerprint(owner: Account) -> list[tuple[object, ...]]:
        rows = (
            await Contact.filter(account=owner)
            .order_by("email_lower")
            .values_list(
                "email", "created_at", "subscription_status", "last_opened_at", "total_spent_cents"
            )
        )
        return [tuple(row) for row in rows]

    assert await fingerprint(account) == await fingerprint(other_account)


async def test_only_into_an_empty_account(account: Account) -> None:
    await upsert_contacts(account, [ContactData(email="someone@example.com")], now=NOW)
    with pytest.raises(DomainError):
        await seed_demo(account, 10, now=NOW)
    assert await Contact.filter(account=account).count() == 1


async def test_seeding_leaves_the_planner_statistics(account: Account, is_postgres: bool) -> None:
    await seed_demo(account, 50, now=NOW)
    if is_postgres:
        rows = await connection().execute_query_dict(
            "SELECT relname, last_analyze FROM pg_stat_user_tables "
            "WHERE relname IN ('contacts', 'email_events', 'contact_tags')"
        )
        assert len(rows) == 3 and all(r["last_analyze"] is not None for r in rows), rows
    else:
        rows = await connection().execute_query_dict(
            "SELECT tbl FROM sqlite_stat1 WHERE tbl = 'contacts'"
        )
        assert rows
