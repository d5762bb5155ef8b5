"""Tenant separation: an account's calls never read or change another account's rows, even
where emails, tag names, product ids and external ids coincide."""

from __future__ import annotations

import pytest

from app.enums import EmailEventKind, SubscriptionStatus
from app.models import Account, Contact, EmailEvent, Tag
from app.services.contacts import ContactData, tag_contacts
from app.services.errors import DomainError, ErrorCode
from app.services.events import record_events
from app.services.products import grant_offers

from .helpers import (
    NOW,
    at,
    errors_of,
    event,
    grant,
    grant_ok,
    load,
    make_contact,
    make_product,
    purchase,
    record_ok,
    snapshot,
    tag_names,
    upsert_ok,
)

ANN = "ann@example.com"


@pytest.fixture
async def theirs(other_account: Account) -> Contact:
    """Account B's Ann, with a tag, a purchase and an event of its own."""
    contact = await make_contact(
        other_account,
        ANN,
        first_name="B-Ann",
        subscription_status="SUBSCRIBED",
        tags=["vip"],
        custom_fields={"plan": "b"},
        now=at(-100),
    )
    product = await make_product(other_account, "course-1")
    await grant_ok(other_account, purchase(ANN, product, 700, occurred_at=at(-50)))
    await record_ok(other_account, event(EmailEventKind.SENT, at(-40), external_id="m-1"))
    return contact


async def test_the_same_email_is_a_separate_contact_per_account(
    account: Account, other_account: Account, theirs: Contact
) -> None:
    mine = await make_contact(account, ANN.upper(), first_name="A-Ann")

    assert mine.id != theirs.id
    assert (await load(account, ANN)).first_name == "A-Ann"
    assert (await load(other_account, ANN)).first_name == "B-Ann"
    assert (
        await Contact.filter(email_lower=ANN, account_id__in=[account.id, other_account.id]).count()
        == 2
    )


async def test_calls_in_one_account_leave_the_other_untouched(
    account: Account, other_account: Account, theirs: Contact
) -> None:
    before = await snapshot(other_account)
    assert all(before.values()), "account B should have a row in every table"

    # Everything account A can do, with B's email, tag name, external ids and product.
    await upsert_ok(
        account,
        ContactData(
            email=ANN,
            first_name="A-Ann",
            subscription_status="UNSUBSCRIBED",
            tags=["VIP", "new"],
            custom_fields={"plan": None, "a": 1},
        ),
    )
    mine = await load(account, ANN)
    await tag_contacts(account, [mine.id], add=["more"], remove=["vip"])
    product = await make_product(account, "course-1", title="A's course")
    await grant_ok(account, purchase(ANN, product, 300), grant(ANN, product, progress=50))
    result = await record_ok(
        account,
        event(
            EmailEventKind.SENT, at(-2), external_id="m-1"
        ),  # B's external id: not a duplicate here
        event(EmailEventKind.OPENED, at(-1)),
        event(EmailEventKind.BOUNCED_HARD, at(-1, minutes=30)),
    )

    assert (len(result.items), result.duplicates) == (3, 0)
    assert await snapshot(other_account) == before
    assert await tag_names(mine) == {"new", "more"}
    assert await Tag.filter(account=account).count() == 3  # A's own vip, new, more
    assert (await load(account, ANN)).total_spent_cents == 300


async def test_a_duplicate_external_id_is_per_account(
    account: Account, other_account: Account, theirs: Contact
) -> None:
    await make_contact(account, ANN)

    mine = await record_ok(account, event(EmailEventKind.SENT, at(-1), external_id="m-1"))
    again = await record_ok(other_account, event(EmailEventKind.SENT, at(-1), external_id="m-1"))

    assert (len(mine.items), mine.duplicates) == (1, 0)
    assert (len(again.items), again.duplicates) == (0, 1)
    assert await EmailEvent.filter(account=account).count() == 1
    assert await EmailEvent.filter(account=other_account).count() == 1


async def test_another_accounts_contact_is_not_found_anywhere(
    account: Account, other_account: Account, theirs: Contact
) -> None:
    before = await snapshot(other_account)
    mine_product = await make_product(account)

    # Only B has Ann: A's events and grants for her are refused, not applied to B's contact.
    events = await record_events(account, [event(EmailEventKind.COMPLAINED, at(-1))], now=NOW)
    grants = await grant_offers(account, [purchase(ANN, mine_product, 100)], now=NOW)
    with pytest.raises(DomainError) as raised:
        await tag_contacts(account, [theirs.id], add=["x"])

    assert errors_of(events) == [(0, "email", ErrorCode.CONTACT_NOT_FOUND)]
    assert errors_of(grants) == [(0, "email", ErrorCode.CONTACT_NOT_FOUND)]
    assert raised.value.code is ErrorCode.NOT_FOUND
    assert await snapshot(other_account) == before
    assert (await load(other_account, ANN)).subscription_status is SubscriptionStatus.SUBSCRIBED
    assert await Contact.filter(account=account).count() == 0
