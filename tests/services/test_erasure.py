"""Erasure on both databases: a deleted contact leaves no row in any table, and nothing else
goes with it."""

from __future__ import annotations

from typing import Any

import pytest

from app.db import connection, is_postgres
from app.enums import EmailEventKind
from app.limits import MAX_DELETE_IDS
from app.models import Account, Contact, Segment
from app.services.counts import refresh_all_counts
from app.services.erasure import contact_ids_by_email, delete_contacts
from app.services.errors import DomainError, ErrorCode

from .helpers import (
    at,
    event,
    grant,
    grant_ok,
    make_contact,
    make_product,
    purchase,
    record_ok,
    snapshot,
)

# The tables that reference a contact today; the test looks for every one there is.
KNOWN = {"contact_tags", "owned_products", "purchases", "email_events"}
# Tables that keep a bare contact id and nothing else about the contact, by design: the change
# log (API.md: a change's `contactId` outlives its contact), a segment's kept members (the
# next computation records the contact as LEFT, and drops it) and snapshots' members (pages
# join the contacts, so an erased one never shows).
IDS_ONLY = {"segment_members", "segment_membership_changes", "segment_snapshot_members"}


async def tables_with_contact_id() -> set[str]:
    if is_postgres():
        found = await connection().execute_query_dict(
            "SELECT table_name AS name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND column_name = 'contact_id'"
        )
    else:
        found = await connection().execute_query_dict(
            "SELECT m.name AS name FROM sqlite_master m, pragma_table_info(m.name) p"
            " WHERE m.type = 'table' AND p.name = 'contact_id'"
        )
    return {row["name"] for row in found} - IDS_ONLY


async def rows_of(contact_ids: list[int]) -> dict[str, int]:
    """How many rows of each table name one of these contacts."""
    marks = ", ".join("?" if not is_postgres() else f"${i + 1}" for i in range(len(contact_ids)))
    counts = {}
    for table in sorted(await tables_with_contact_id()):
        [row] = await connection().execute_query_dict(
            f"SELECT COUNT(*) AS n FROM {table} WHERE contact_id IN ({marks})", contact_ids
        )
        counts[table] = int(row["n"])
    [row] = await connection().execute_query_dict(
        f"SELECT COUNT(*) AS n FROM contacts WHERE id IN ({marks})", contact_ids
    )
    counts["contacts"] = int(row["n"])
    return counts


async def rich_contact(account: Account, email: str, product: Any) -> Contact:
    """A contact with a row in every table that references contacts."""
    contact = await make_contact(account, email, tags=["vip", "webinar"])
    await grant_ok(account, purchase(email, product, 4_900, occurred_at=at(-3)))
    await record_ok(
        account,
        event(EmailEventKind.SENT, at(-2), email, campaign="launch", external_id=f"s-{email}"),
        event(EmailEventKind.OPENED, at(-1), email, campaign="launch"),
    )
    return contact


async def test_a_deleted_contact_leaves_no_row_in_any_table(account: Account) -> None:
    product = await make_product(account)
    ann = await rich_contact(account, "ann@example.com", product)
    bob = await rich_contact(account, "bob@example.com", product)
    await grant_ok(account, grant("ann@example.com", await make_product(account, "offer-2")))
    assert await tables_with_contact_id() >= KNOWN
    assert all(n > 0 for n in (await rows_of([ann.id])).values())
    bob_before = await rows_of([bob.id])

    result = await delete_contacts(account, [ann.id], confirm=True)

    assert result.items == [ann.id] and result.errors == []
    assert set((await rows_of([ann.id])).values()) == {0}
    assert await rows_of([bob.id]) == bob_before  # the rest stays, tags and products too
    after = await snapshot(account)  # the account's tags and products stay
    assert (len(after["tags"]), len(after["products"])) == (2, 2)
    assert [c["email"] for c in after["contacts"]] == ["bob@example.com"]


async def test_counts_are_marked_stale(account: Account) -> None:
    ann = await make_contact(account, "ann@example.com")
    await refresh_all_counts(account.id)
    assert not await Segment.filter(account=account, count_stale=True).exists()

    await delete_contacts(account, [ann.id], confirm=True)

    assert not await Segment.filter(account=account, count_stale=False).exists()


async def test_without_confirmation_nothing_is_deleted(account: Account) -> None:
    ann = await make_contact(account, "ann@example.com")
    await refresh_all_counts(account.id)

    with pytest.raises(DomainError) as raised:
        await delete_contacts(account, [ann.id], confirm=False)

    assert raised.value.code is ErrorCode.CONFIRMATION_REQUIRED
    assert raised.value.field == ("confirm",)
    assert await Contact.exists(id=ann.id)
    assert not await Segment.filter(account=account, count_stale=True).exists()


async def test_ids_of_no_contact_are_item_errors_and_the_rest_goes(
    account: Account, other_account: Account
) -> None:
    ann = await make_contact(account, "ann@example.com")
    bob = await make_contact(account, "bob@example.com")
    theirs = await make_contact(other_account, "ann@example.com")

    result = await delete_contacts(
        account, [theirs.id, bob.id, 0, ann.id, bob.id, 2**62], confirm=True
    )

    assert result.items == [bob.id, ann.id]  # in the order given, each once
    assert [(e.index, e.field, e.code) for e in result.errors] == [
        (0, None, ErrorCode.NOT_FOUND),
        (2, None, ErrorCode.NOT_FOUND),
        (5, None, ErrorCode.NOT_FOUND),
    ]
    assert await Contact.exists(id=theirs.id)
    assert not await Contact.filter(account=account).exists()


async def test_deleting_again_finds_nothing(account: Account) -> None:
    ann = await make_contact(account, "ann@example.com")
    await delete_contacts(account, [ann.id], confirm=True)

    again = await delete_contacts(account, [ann.id], confirm=True)

    assert again.items == [] and [e.code for e in again.errors] == [ErrorCode.NOT_FOUND]


async def test_an_empty_list_deletes_nothing(account: Account) -> None:
    await make_contact(account, "ann@example.com")

    result = await delete_contacts(account, [], confirm=True)

    assert result.items == [] and result.errors == []
    assert await Contact.filter(account=account).count() == 1


async def test_the_batch_is_bounded(account: Account) -> None:
    ann = await make_contact(account, "ann@example.com")

    with pytest.raises(DomainError) as raised:
        await delete_contacts(account, [ann.id] * (MAX_DELETE_IDS + 1), confirm=True)

    assert raised.value.code is ErrorCode.BATCH_TOO_LARGE
    assert raised.value.field == ("ids",)
    assert await Contact.exists(id=ann.id)


async def test_contacts_are_found_by_email_in_any_spelling(
    account: Account, other_account: Account
) -> None:
    ann = await make_contact(account, "Ann@Example.com")
    jose = await make_contact(account, "jos\u00e9@example.com")
    await make_contact(other_account, "zoe@example.com")

    found = await contact_ids_by_email(
        account,
        ["ann@example.COM", "jose\u0301@example.com", "zoe@example.com", "not an email", ""],
    )

    assert found == {"ann@example.COM": ann.id, "jose\u0301@example.com": jose.id}
    assert await contact_ids_by_email(account, []) == {}


async def test_the_tables_that_keep_an_erased_id_hold_nothing_else_about_it() -> None:
    if is_postgres():
        rows = await connection().execute_query_dict(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns"
            " WHERE table_schema = 'public'"
        )
    else:
        rows = await connection().execute_query_dict(
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p"
            " WHERE m.type = 'table'"
        )
    columns: dict[str, set[str]] = {}
    for row in rows:
        columns.setdefault(row["t"], set()).add(row["c"])
    assert columns["segment_members"] == {"segment_id", "contact_id"}
    assert columns["segment_snapshot_members"] == {"snapshot_id", "contact_id"}
    assert columns["segment_membership_changes"] == {
        "id", "account_id", "segment_id", "contact_id", "kind", "at"
    }  # fmt: skip
