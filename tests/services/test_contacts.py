"""contactsUpsert semantics: by email in any case, partial updates, custom fields, tags,
per-item errors and the subscription bookkeeping."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from app.engagement import recompute_flags
from app.enums import EmailRisk, SubscriptionStatus, UnsubscribeReason
from app.models import Account, Contact, ContactTag, Tag
from app.services.batch import MAX_BATCH
from app.services.contacts import ContactData, upsert_contacts
from app.services.errors import DomainError, ErrorCode

from .helpers import NOW, at, errors_of, load, make_contact, set_flags, tag_names, upsert_ok

# --- identity: one row per email, whatever its case ------------------------------------------


async def test_upsert_matches_email_case_insensitively_and_keeps_first_spelling(
    account: Account,
) -> None:
    created = await make_contact(account, "Ann.Lee@Example.COM", first_name="Ann")
    updated = await make_contact(account, "ann.lee@example.com", last_name="Lee")

    assert updated.id == created.id
    assert await Contact.filter(account=account).count() == 1
    stored = await load(account, "ANN.LEE@EXAMPLE.COM")
    # The address as first given is kept; a later spelling only finds the row.
    assert stored.email == "Ann.Lee@Example.COM"
    assert stored.email_lower == "ann.lee@example.com"
    assert (stored.first_name, stored.last_name) == ("Ann", "Lee")


async def test_the_same_email_twice_in_one_batch_is_one_contact(account: Account) -> None:
    items = await upsert_ok(
        account,
        ContactData(email="Bo@example.com", first_name="Bo"),
        ContactData(email="bo@EXAMPLE.com", last_name="Berg", tags=["x"]),
    )

    assert len(items) == 1
    stored = await load(account, "bo@example.com")
    assert stored.email == "Bo@example.com"
    assert (stored.first_name, stored.last_name) == ("Bo", "Berg")
    assert await tag_names(stored) == {"x"}


async def test_upsert_is_idempotent(account: Account) -> None:
    item = ContactData(
        email="cy@example.com", first_name="Cy", custom_fields={"plan": "pro"}, tags=["a", "b"]
    )
    first = await upsert_ok(account, item)
    before = await Contact.filter(account=account).values()
    second = await upsert_ok(account, item)

    assert [c.id for c in second] == [c.id for c in first]
    after = await Contact.filter(account=account).values()
    for row in (*before, *after):
        row.pop("updated_at")
    assert after == before
    assert await ContactTag.filter(account=account).count() == 2
    assert await Tag.filter(account=account).count() == 2


async def test_email_is_trimmed_and_results_follow_input_order(account: Account) -> None:
    items = await upsert_ok(
        account,
        ContactData(email="  zed@example.com "),
        ContactData(email="amy@example.com"),
        ContactData(email="ZED@example.com", first_name="Zed"),
    )

    assert [c.email for c in items] == ["zed@example.com", "amy@example.com"]
    assert (await load(account, "zed@example.com")).first_name == "Zed"


async def test_new_contacts_are_created_at_now(account: Account) -> None:
    contact = await make_contact(account, "new@example.com")

    stored = await load(account, contact.email)
    assert stored.created_at == NOW
    assert stored.subscription_status is SubscriptionStatus.NEVER_SUBSCRIBED
    assert stored.email_risk is EmailRisk.VALID
    assert stored.custom_fields == {}


# --- partial updates ---------------------------------------------------------------------------


async def test_unset_fields_are_left_alone_and_none_clears(account: Account) -> None:
    await make_contact(
        account,
        "dee@example.com",
        first_name="Dee",
        last_name="Dunn",
        country="FR",
        birth_date=date(1990, 5, 17),
        email_risk=EmailRisk.HIGH_RISK,
        custom_fields={"plan": "pro"},
    )

    await make_contact(account, "dee@example.com", country="DE")
    stored = await load(account, "dee@example.com")
    assert (stored.first_name, stored.last_name, stored.country) == ("Dee", "Dunn", "DE")
    assert stored.birth_date == date(1990, 5, 17)
    assert stored.email_risk is EmailRisk.HIGH_RISK
    assert stored.custom_fields == {"plan": "pro"}

    await make_contact(account, "dee@example.com", first_name=None, birth_date=None, country="  ")
    stored = await load(account, "dee@example.com")
    assert stored.first_name is None
    assert stored.birth_date is None
    assert stored.country is None  # blank text is stored as no value
    assert stored.last_name == "Dunn"
    assert stored.email_risk is EmailRisk.HIGH_RISK


async def test_text_fields_are_trimmed(account: Account) -> None:
    await make_contact(account, "eve@example.com", first_name="  Eve ", country=" NL")

    stored = await load(account, "eve@example.com")
    assert (stored.first_name, stored.country) == ("Eve", "NL")


async def test_enums_may_be_given_as_strings_in_any_case(account: Account) -> None:
    await make_contact(
        account, "fay@example.com", subscription_status="subscribed", email_risk="high_risk"
    )

    stored = await load(account, "fay@example.com")
    assert stored.subscription_status is SubscriptionStatus.SUBSCRIBED
    assert stored.email_risk is EmailRisk.HIGH_RISK


# --- custom fields -----------------------------------------------------------------------------


async def test_custom_fields_merge_and_null_removes_a_key(account: Account) -> None:
    await make_contact(
        account, "gus@example.com", custom_fields={"plan": "pro", "seats": 3, "ref": "ad"}
    )

    await make_contact(
        account, "gus@example.com", custom_fields={"seats": 5, "ref": None, "since": "2020-01-01"}
    )
    assert (await load(account, "gus@example.com")).custom_fields == {
        "plan": "pro",
        "seats": 5,
        "since": "2020-01-01",
    }

    await make_contact(account, "gus@example.com", first_name="Gus")  # custom_fields UNSET
    assert (await load(account, "gus@example.com")).custom_fields["plan"] == "pro"


async def test_custom_fields_merge_is_shallow(account: Account) -> None:
    await make_contact(account, "hal@example.com", custom_fields={"address": {"city": "Oslo"}})
    await make_contact(account, "hal@example.com", custom_fields={"address": {"zip": "0150"}})

    assert (await load(account, "hal@example.com")).custom_fields == {"address": {"zip": "0150"}}


async def test_null_custom_field_on_a_new_contact_is_dropped(account: Account) -> None:
    await make_contact(account, "ida@example.com", custom_fields={"gone": None, "kept": False})

    assert (await load(account, "ida@example.com")).custom_fields == {"kept": False}


# --- tags --------------------------------------------------------------------------------------


async def test_tags_are_added_case_insensitively_without_duplicates(account: Account) -> None:
    await make_contact(account, "jo@example.com", tags=["VIP", "vip", " Vip "])
    await make_contact(account, "jo@example.com", tags=["vip", "Beta"])
    await make_contact(account, "kim@example.com", tags=["BETA"])

    jo = await load(account, "jo@example.com")
    kim = await load(account, "kim@example.com")
    # The first spelling names the tag; later spellings find it.
    assert await tag_names(jo) == {"VIP", "Beta"}
    assert await tag_names(kim) == {"Beta"}
    assert sorted(await Tag.filter(account=account).values_list("name", flat=True)) == [
        "Beta",
        "VIP",
    ]
    assert await ContactTag.filter(contact_id=jo.id).count() == 2


async def test_the_first_spelling_of_a_new_tag_names_it_within_a_batch(account: Account) -> None:
    await upsert_ok(
        account,
        ContactData(email="ma@example.com", tags=["WebInar"]),
        ContactData(email="mb@example.com", tags=["webinar"]),
    )

    assert await Tag.filter(account=account).values_list("name", flat=True) == ["WebInar"]
    assert await tag_names(await load(account, "mb@example.com")) == {"WebInar"}


async def test_upsert_without_tags_keeps_existing_tags(account: Account) -> None:
    await make_contact(account, "lu@example.com", tags=["a"])
    await make_contact(account, "lu@example.com", first_name="Lu")

    assert await tag_names(await load(account, "lu@example.com")) == {"a"}


# --- per-item errors ---------------------------------------------------------------------------


async def test_invalid_items_are_reported_and_valid_ones_kept(account: Account) -> None:
    tomorrow = date.today() + timedelta(days=1)
    result = await upsert_contacts(
        account,
        [
            ContactData(email="ok1@example.com", tags=["kept"]),
            ContactData(email="not-an-email", tags=["lost"]),
            ContactData(email="long@example.com", first_name="x" * 201),
            ContactData(
                email="reason@example.com",
                subscription_status=SubscriptionStatus.SUBSCRIBED,
                unsubscribe_reason=UnsubscribeReason.OPTED_OUT,
            ),
            ContactData(email="born@example.com", birth_date=tomorrow),
            ContactData(email="enum@example.com", subscription_status="MAYBE"),
            ContactData(email="risk@example.com", email_risk="SHAKY"),
            ContactData(email="ok2@example.com"),
        ],
        now=NOW,
    )

    assert errors_of(result) == [
        (1, "email", ErrorCode.INVALID_EMAIL),
        (2, "first_name", ErrorCode.TOO_LONG),
        (3, "unsubscribe_reason", ErrorCode.INVALID),
        (4, "birth_date", ErrorCode.INVALID),
        (5, "subscription_status", ErrorCode.INVALID),
        (6, "email_risk", ErrorCode.INVALID),
    ]
    assert [c.email for c in result.items] == ["ok1@example.com", "ok2@example.com"]
    stored = await Contact.filter(account=account).order_by("email").values_list("email", flat=True)
    assert stored == ["ok1@example.com", "ok2@example.com"]
    assert await Tag.filter(account=account).values_list("name", flat=True) == ["kept"]


async def test_reason_for_a_contact_that_is_not_unsubscribed_is_rejected(account: Account) -> None:
    await make_contact(account, "mo@example.com", subscription_status="SUBSCRIBED", first_name="Mo")

    result = await upsert_contacts(
        account,
        [
            ContactData(
                email="mo@example.com", first_name="Changed", unsubscribe_reason="OPTED_OUT"
            ),
            ContactData(email="new@example.com", unsubscribe_reason="OPTED_OUT", tags=["t"]),
            ContactData(email="ned@example.com"),
        ],
        now=NOW,
    )

    assert errors_of(result) == [
        (0, "unsubscribe_reason", ErrorCode.INVALID),
        (1, "unsubscribe_reason", ErrorCode.INVALID),
    ]
    mo = await load(account, "mo@example.com")
    assert mo.first_name == "Mo"  # a rejected item changes nothing
    assert mo.subscription_status is SubscriptionStatus.SUBSCRIBED
    assert mo.unsubscribe_reason is None
    # A new contact whose only item is rejected is not created, and gets no tags.
    assert await Contact.filter(account=account, email_lower="new@example.com").count() == 0
    assert await Tag.filter(account=account).count() == 0
    assert [c.email for c in result.items] == ["ned@example.com"]


async def test_a_rejected_item_does_not_undo_an_earlier_one_for_the_same_email(
    account: Account,
) -> None:
    result = await upsert_contacts(
        account,
        [
            ContactData(email="nia@example.com", first_name="Nia", tags=["t"]),
            ContactData(email="NIA@example.com", unsubscribe_reason="OPTED_OUT"),
        ],
        now=NOW,
    )

    assert errors_of(result) == [(1, "unsubscribe_reason", ErrorCode.INVALID)]
    stored = await load(account, "nia@example.com")
    assert stored.first_name == "Nia"
    assert await tag_names(stored) == {"t"}


async def test_a_rejected_new_email_may_be_created_by_a_later_valid_item(account: Account) -> None:
    result = await upsert_contacts(
        account,
        [
            ContactData(email="oz@example.com", unsubscribe_reason="OPTED_OUT", first_name="Bad"),
            ContactData(email="oz@example.com", subscription_status="UNSUBSCRIBED"),
        ],
        now=NOW,
    )

    assert errors_of(result) == [(0, "unsubscribe_reason", ErrorCode.INVALID)]
    stored = await load(account, "oz@example.com")
    assert stored.first_name is None
    assert stored.subscription_status is SubscriptionStatus.UNSUBSCRIBED


async def test_more_than_a_batch_is_refused_whole(account: Account) -> None:
    items = [ContactData(email=f"u{i}@example.com") for i in range(MAX_BATCH + 1)]

    with pytest.raises(DomainError) as raised:
        await upsert_contacts(account, items, now=NOW)

    assert raised.value.code is ErrorCode.BATCH_TOO_LARGE
    assert raised.value.field == ("input",)
    assert await Contact.filter(account=account).count() == 0


async def test_a_full_batch_is_accepted(account: Account) -> None:
    items = [ContactData(email=f"u{i}@example.com", tags=["bulk"]) for i in range(MAX_BATCH)]

    result = await upsert_contacts(account, items, now=NOW)

    assert result.errors == []
    assert len(result.items) == MAX_BATCH
    assert await Contact.filter(account=account).count() == MAX_BATCH
    assert await ContactTag.filter(account=account).count() == MAX_BATCH


async def test_concurrent_upserts_of_a_new_email_all_succeed(account: Account) -> None:
    # PostgreSQL runs these in parallel transactions: all but one find the email taken only
    # when they insert it, and must then update the contact instead of failing.
    results = await asyncio.gather(
        *(
            upsert_contacts(
                account, [ContactData(email="Race@example.com", tags=[f"t{i}"])], now=NOW
            )
            for i in range(4)
        )
    )

    assert [r.errors for r in results] == [[]] * 4
    [stored] = await Contact.filter(account=account)
    assert {c.id for r in results for c in r.items} == {stored.id}
    assert await tag_names(stored) == {"t0", "t1", "t2", "t3"}


# --- subscription bookkeeping ------------------------------------------------------------------


async def test_subscribing_sets_subscribed_at_once(account: Account) -> None:
    await make_contact(account, "pia@example.com", subscription_status="SUBSCRIBED", now=at(-10))
    stored = await load(account, "pia@example.com")
    assert stored.subscribed_at == at(-10)
    assert stored.unsubscribe_reason is None

    # Saying SUBSCRIBED again is no new opt-in.
    await make_contact(account, "pia@example.com", subscription_status="SUBSCRIBED", now=at(-1))
    assert (await load(account, "pia@example.com")).subscribed_at == at(-10)


async def test_unsubscribing_defaults_to_manual_and_leaves_subscriber_views(
    account: Account,
) -> None:
    contact = await make_contact(
        account, "quinn@example.com", subscription_status="SUBSCRIBED", now=at(-10)
    )
    await set_flags(contact, is_inactive=True, is_excluded=True)

    await make_contact(account, "quinn@example.com", subscription_status="UNSUBSCRIBED")

    stored = await load(account, "quinn@example.com")
    assert stored.subscription_status is SubscriptionStatus.UNSUBSCRIBED
    assert stored.unsubscribe_reason is UnsubscribeReason.MANUAL
    assert (stored.is_inactive, stored.is_excluded) == (False, False)
    assert stored.subscribed_at == at(-10)  # history is kept


async def test_an_explicit_unsubscribe_reason_is_kept(account: Account) -> None:
    await make_contact(account, "rae@example.com", subscription_status="SUBSCRIBED")

    await make_contact(
        account,
        "rae@example.com",
        subscription_status="UNSUBSCRIBED",
        unsubscribe_reason="opted_out",
    )
    assert (
        await load(account, "rae@example.com")
    ).unsubscribe_reason is UnsubscribeReason.OPTED_OUT

    # Already unsubscribed: the reason alone may be corrected.
    await make_contact(account, "rae@example.com", unsubscribe_reason=UnsubscribeReason.MARKED_SPAM)
    stored = await load(account, "rae@example.com")
    assert stored.subscription_status is SubscriptionStatus.UNSUBSCRIBED
    assert stored.unsubscribe_reason is UnsubscribeReason.MARKED_SPAM

    # Repeating the status keeps the stored reason.
    await make_contact(account, "rae@example.com", subscription_status="UNSUBSCRIBED")
    assert (
        await load(account, "rae@example.com")
    ).unsubscribe_reason is UnsubscribeReason.MARKED_SPAM


async def test_resubscribing_clears_the_reason_and_restarts_the_clock(account: Account) -> None:
    await make_contact(account, "sam@example.com", subscription_status="SUBSCRIBED", now=at(-30))
    await make_contact(account, "sam@example.com", subscription_status="UNSUBSCRIBED", now=at(-20))

    await make_contact(account, "sam@example.com", subscription_status="SUBSCRIBED", now=at(-5))

    stored = await load(account, "sam@example.com")
    assert stored.subscription_status is SubscriptionStatus.SUBSCRIBED
    assert stored.unsubscribe_reason is None
    assert stored.subscribed_at == at(-5)


async def test_leaving_for_never_subscribed_clears_views_and_reason(account: Account) -> None:
    contact = await make_contact(account, "tia@example.com", subscription_status="SUBSCRIBED")
    await set_flags(contact, is_inactive=True, is_excluded=True)

    await make_contact(account, "tia@example.com", subscription_status="NEVER_SUBSCRIBED")

    stored = await load(account, "tia@example.com")
    assert stored.subscription_status is SubscriptionStatus.NEVER_SUBSCRIBED
    assert stored.unsubscribe_reason is None
    assert (stored.is_inactive, stored.is_excluded) == (False, False)


async def test_staying_subscribed_keeps_the_engagement_flags(account: Account) -> None:
    # Subscribed 200 days ago, never opened, a risky address: inactive and excluded.
    await make_contact(
        account,
        "uma@example.com",
        subscription_status="SUBSCRIBED",
        email_risk="HIGH_RISK",
        now=at(-200),
    )
    await recompute_flags(account, NOW)
    assert (await load(account, "uma@example.com")).is_excluded

    await make_contact(
        account, "uma@example.com", subscription_status="SUBSCRIBED", first_name="Uma"
    )

    stored = await load(account, "uma@example.com")
    assert (stored.is_inactive, stored.is_excluded) == (True, True)
    assert stored.flags_computed_at == NOW  # the upsert applied the rules to it


async def test_an_upsert_that_changes_the_risk_applies_the_rules_at_once(account: Account) -> None:
    await make_contact(account, "vic@example.com", subscription_status="SUBSCRIBED", now=at(-200))
    await recompute_flags(account, NOW)
    stored = await load(account, "vic@example.com")
    assert (stored.is_inactive, stored.is_excluded) == (True, False)

    await make_contact(account, "vic@example.com", email_risk="HIGH_RISK")
    assert (await load(account, "vic@example.com")).is_excluded
    await make_contact(account, "vic@example.com", email_risk="VALID")
    assert not (await load(account, "vic@example.com")).is_excluded
