"""productsUpsert (by external id) and offersGrant: ownership, purchases, the customer flag and
the total spent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.enums import GrantSource, ProductKind
from app.models import Account, Contact, OwnedProduct, Product, Purchase
from app.services.batch import MAX_BATCH
from app.services.errors import DomainError, ErrorCode
from app.services.products import ProductData, grant_offers, upsert_products

from .helpers import (
    NOW,
    at,
    errors_of,
    grant,
    grant_ok,
    load,
    make_contact,
    make_product,
    purchase,
)

# --- products ----------------------------------------------------------------------------------


async def test_product_upsert_by_external_id_is_idempotent(account: Account) -> None:
    first = await make_product(account, "c-1", title="Course", kind=ProductKind.COURSE)
    again = await make_product(account, "c-1", title="Course")

    assert again.id == first.id
    assert await Product.filter(account=account).count() == 1
    stored = await Product.get(id=first.id)
    assert (stored.external_id, stored.title, stored.kind) == ("c-1", "Course", ProductKind.COURSE)


async def test_product_upsert_updates_title_and_kind_only_when_given(account: Account) -> None:
    product = await make_product(account, "c-1", title="Old", kind="course")

    await make_product(account, "c-1", title="New")
    stored = await Product.get(id=product.id)
    assert (stored.title, stored.kind) == ("New", ProductKind.COURSE)

    await make_product(account, "c-1", title="New", kind=ProductKind.OFFER)
    assert (await Product.get(id=product.id)).kind is ProductKind.OFFER


async def test_new_products_default_to_offers(account: Account) -> None:
    product = await make_product(account, "o-1")

    assert (await Product.get(id=product.id)).kind is ProductKind.OFFER


async def test_the_last_item_for_an_external_id_wins(account: Account) -> None:
    result = await upsert_products(
        account,
        [
            ProductData(external_id="p", title="First"),
            ProductData(external_id="q", title="Other"),
            ProductData(external_id="p", title="Second"),
        ],
    )

    assert result.errors == []
    assert [(p.external_id, p.title) for p in result.items] == [("p", "Second"), ("q", "Other")]
    assert await Product.filter(account=account).count() == 2


async def test_invalid_products_are_reported_and_valid_ones_kept(account: Account) -> None:
    result = await upsert_products(
        account,
        [
            ProductData(external_id=" ", title="No id"),
            ProductData(external_id="ok", title=" Fine "),
            ProductData(external_id="long", title="t" * 301),
            ProductData(external_id="kind", title="Bad kind", kind="BOOK"),
            ProductData(external_id="x" * 201, title="Long id"),
        ],
    )

    assert errors_of(result) == [
        (0, "external_id", ErrorCode.REQUIRED),
        (2, "title", ErrorCode.TOO_LONG),
        (3, "kind", ErrorCode.INVALID),
        (4, "external_id", ErrorCode.TOO_LONG),
    ]
    assert [(p.external_id, p.title) for p in result.items] == [("ok", "Fine")]
    assert await Product.filter(account=account).count() == 1


async def test_too_many_products_are_refused(account: Account) -> None:
    with pytest.raises(DomainError) as raised:
        await upsert_products(
            account, [ProductData(external_id=str(i), title="t") for i in range(MAX_BATCH + 1)]
        )
    assert raised.value.code is ErrorCode.BATCH_TOO_LARGE


# --- grant validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"email": "nobody@example.com"}, "email", ErrorCode.CONTACT_NOT_FOUND),
        ({"email": "not an email"}, "email", ErrorCode.INVALID_EMAIL),
        ({"product_id": 0}, "product", ErrorCode.PRODUCT_NOT_FOUND),
        ({"amount_cents": -1}, "amount_cents", ErrorCode.NEGATIVE_AMOUNT),
        ({"amount_cents": None}, "amount_cents", ErrorCode.REQUIRED),
        ({"occurred_at": at(minutes=6)}, "occurred_at", ErrorCode.TIME_IN_FUTURE),
        ({"progress": -1}, "progress", ErrorCode.OUT_OF_RANGE),
        ({"progress": 101}, "progress", ErrorCode.OUT_OF_RANGE),
        ({"currency": "EURO"}, "currency", ErrorCode.INVALID),
        ({"source": "STOLEN"}, "source", ErrorCode.INVALID),
        ({"source": GrantSource.GRANT}, "amount_cents", ErrorCode.INVALID),  # a grant with a price
    ],
)
async def test_an_invalid_grant_is_reported_and_the_valid_ones_kept(
    account: Account, changes: dict[str, Any], field: str, code: ErrorCode
) -> None:
    await make_contact(account, "ann@example.com")
    await make_contact(account, "bob@example.com")
    product = await make_product(account)
    bad = purchase("ann@example.com", product, 1000)
    for name, value in changes.items():
        setattr(bad, name, value)

    result = await grant_offers(account, [bad, purchase("bob@example.com", product, 500)], now=NOW)

    assert errors_of(result) == [(0, field, code)]
    assert [o.contact_id for o in result.items] == [(await load(account, "bob@example.com")).id]
    ann = await load(account, "ann@example.com")
    assert (ann.is_customer, ann.total_spent_cents) == (False, 0)
    assert not await OwnedProduct.filter(contact_id=ann.id).exists()
    assert await Purchase.filter(account=account).count() == 1


async def test_another_accounts_product_is_not_found(
    account: Account, other_account: Account
) -> None:
    await make_contact(account, "ann@example.com")
    theirs = await make_product(other_account, "course-1")

    result = await grant_offers(account, [grant("ann@example.com", theirs)], now=NOW)

    assert errors_of(result) == [(0, "product", ErrorCode.PRODUCT_NOT_FOUND)]
    assert not await OwnedProduct.filter(product_id=theirs.id).exists()
    assert not (await load(account, "ann@example.com")).is_customer


@pytest.mark.parametrize("progress", [0, 100])
async def test_progress_bounds_are_inclusive(account: Account, progress: int) -> None:
    await make_contact(account, "ann@example.com")
    product = await make_product(account)

    [owned] = await grant_ok(account, grant("ann@example.com", product, progress=progress))

    assert owned.progress == progress


async def test_clock_skew_is_tolerated(account: Account) -> None:
    await make_contact(account, "ann@example.com")
    product = await make_product(account)

    await grant_ok(account, purchase("ann@example.com", product, 100, occurred_at=at(minutes=4)))

    assert (await Purchase.get(account=account)).occurred_at == at(minutes=4)


async def test_errors_come_in_input_order(account: Account) -> None:
    await make_contact(account, "ann@example.com")
    product = await make_product(account)

    result = await grant_offers(
        account,
        [
            grant("nobody@example.com", product),  # found missing in the database step
            purchase("ann@example.com", product, -5),  # found invalid up front
            grant("ann@example.com", product),
        ],
        now=NOW,
    )

    assert errors_of(result) == [
        (0, "email", ErrorCode.CONTACT_NOT_FOUND),
        (1, "amount_cents", ErrorCode.NEGATIVE_AMOUNT),
    ]


async def test_too_many_grants_are_refused(account: Account) -> None:
    product = await make_product(account)
    with pytest.raises(DomainError) as raised:
        await grant_offers(account, [grant("a@example.com", product)] * (MAX_BATCH + 1), now=NOW)
    assert raised.value.code is ErrorCode.BATCH_TOO_LARGE


# --- grant effects -----------------------------------------------------------------------------


async def test_a_purchase_makes_a_customer_and_is_recorded(account: Account) -> None:
    await make_contact(account, "Ann@Example.com")
    product = await make_product(account)

    [owned] = await grant_ok(
        account,
        purchase("ANN@example.com", product, 4900, currency="eur", occurred_at=at(-3)),
    )

    ann = await load(account, "ann@example.com")
    assert (ann.is_customer, ann.total_spent_cents) == (True, 4900)
    assert (owned.contact_id, owned.product_id) == (ann.id, product.id)
    assert (owned.source, owned.granted_at, owned.progress) == (GrantSource.PURCHASE, at(-3), 0)
    [bought] = await Purchase.filter(account=account).values(
        "contact_id", "product_id", "amount_cents", "currency", "occurred_at"
    )
    assert bought == {
        "contact_id": ann.id,
        "product_id": product.id,
        "amount_cents": 4900,
        "currency": "EUR",
        "occurred_at": at(-3),
    }


async def test_purchases_add_up_and_default_to_now_and_usd(account: Account) -> None:
    await make_contact(account, "ann@example.com")
    course = await make_product(account, "course")
    ebook = await make_product(account, "ebook")

    await grant_ok(account, purchase("ann@example.com", course, 1000))
    await grant_ok(
        account,
        purchase("ann@example.com", ebook, 250),
        purchase("ann@example.com", course, 1000),  # a second purchase of the same course
    )

    ann = await load(account, "ann@example.com")
    assert ann.total_spent_cents == 2250
    assert await Purchase.filter(contact_id=ann.id).count() == 3
    assert set(await Purchase.filter(contact_id=ann.id).values_list("currency", flat=True)) == {
        "USD"
    }
    assert set(await Purchase.filter(contact_id=ann.id).values_list("occurred_at", flat=True)) == {
        NOW
    }
    assert await OwnedProduct.filter(contact_id=ann.id).count() == 2


async def test_a_free_grant_makes_a_customer_without_spending(account: Account) -> None:
    await make_contact(account, "ann@example.com")
    product = await make_product(account)

    [owned] = await grant_ok(account, grant("ann@example.com", product, amount_cents=0))

    ann = await load(account, "ann@example.com")
    assert (ann.is_customer, ann.total_spent_cents) == (True, 0)
    assert owned.source is GrantSource.GRANT
    assert owned.granted_at == NOW
    assert await Purchase.filter(account=account).count() == 0


async def test_granting_again_updates_progress_on_the_same_row(account: Account) -> None:
    await make_contact(account, "ann@example.com")
    product = await make_product(account)

    [first] = await grant_ok(account, grant("ann@example.com", product, progress=10), now=at(-5))
    [second] = await grant_ok(account, grant("ann@example.com", product, progress=60))
    [third] = await grant_ok(account, grant("ann@example.com", product))  # no progress: kept

    assert first.id == second.id == third.id
    assert await OwnedProduct.filter(account=account).count() == 1
    stored = await OwnedProduct.get(id=first.id)
    assert stored.progress == 60
    assert stored.granted_at == at(-5)  # the first grant's time is kept


async def test_progress_given_twice_in_a_batch_keeps_the_last(account: Account) -> None:
    await make_contact(account, "ann@example.com")
    product = await make_product(account)

    owned = await grant_ok(
        account,
        grant("ann@example.com", product, progress=20),
        grant("ann@example.com", product, progress=70),
    )

    assert [o.progress for o in owned] == [70]
    assert await OwnedProduct.filter(account=account).count() == 1


async def test_a_purchase_after_a_grant_upgrades_the_ownership(account: Account) -> None:
    await make_contact(account, "ann@example.com")
    product = await make_product(account)
    await grant_ok(account, grant("ann@example.com", product, progress=40), now=at(-2))

    [owned] = await grant_ok(
        account, purchase("ann@example.com", product, 990, occurred_at=at(-10))
    )

    assert owned.source is GrantSource.PURCHASE
    assert owned.progress == 40
    assert owned.granted_at == at(-10)  # the earliest of the two
    assert (await load(account, "ann@example.com")).total_spent_cents == 990


async def test_a_grant_after_a_purchase_keeps_purchase_as_source(account: Account) -> None:
    await make_contact(account, "ann@example.com")
    product = await make_product(account)
    await grant_ok(account, purchase("ann@example.com", product, 990))

    [owned] = await grant_ok(account, grant("ann@example.com", product, progress=5))

    assert (owned.source, owned.progress) == (GrantSource.PURCHASE, 5)


async def test_grants_change_only_the_named_contacts(account: Account) -> None:
    await make_contact(account, "ann@example.com")
    await make_contact(account, "bob@example.com")
    product = await make_product(account)

    await grant_ok(account, purchase("ann@example.com", product, 100))

    bob = await load(account, "bob@example.com")
    assert (bob.is_customer, bob.total_spent_cents) == (False, 0)
    assert await Contact.filter(account=account, is_customer=True).count() == 1


async def test_grant_results_are_the_touched_rows_only(account: Account) -> None:
    await make_contact(account, "ann@example.com")
    course = await make_product(account, "course")
    ebook = await make_product(account, "ebook")
    await grant_ok(account, grant("ann@example.com", course))

    owned = await grant_ok(account, grant("ann@example.com", ebook))

    assert [o.product_id for o in owned] == [ebook.id]


async def test_concurrent_purchases_all_count(account: Account) -> None:
    await make_contact(account, "ann@example.com")
    product = await make_product(account)

    await asyncio.gather(
        *(
            grant_offers(account, [purchase("ann@example.com", product, 100 * (i + 1))], now=NOW)
            for i in range(4)
        )
    )

    ann = await load(account, "ann@example.com")
    assert ann.total_spent_cents == 100 + 200 + 300 + 400
    assert await Purchase.filter(contact_id=ann.id).count() == 4
    assert await OwnedProduct.filter(contact_id=ann.id).count() == 1
