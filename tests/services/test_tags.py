"""contactsTag: add and remove tags on contacts given by id, all of them the account's own."""

from __future__ import annotations

import pytest

from app.models import Account, ContactTag, Tag
from app.services.batch import MAX_BATCH
from app.services.contacts import tag_contacts
from app.services.errors import DomainError, ErrorCode

from .helpers import make_contact, tag_names


async def test_add_and_remove(account: Account) -> None:
    ann = await make_contact(account, "ann@example.com", tags=["old"])
    bob = await make_contact(account, "bob@example.com")

    returned = await tag_contacts(account, [bob.id, ann.id, bob.id], add=["Hot", "cold"])

    assert [c.id for c in returned] == [bob.id, ann.id]  # input order, each once
    assert await tag_names(ann) == {"old", "Hot", "cold"}
    assert await tag_names(bob) == {"Hot", "cold"}

    await tag_contacts(account, [ann.id], remove=["HOT", "OLD"])

    assert await tag_names(ann) == {"cold"}
    assert await tag_names(bob) == {"Hot", "cold"}
    # Removing unlinks; the tag itself stays.
    assert await Tag.filter(account=account, name_lower="old").exists()


async def test_adding_a_tag_twice_links_it_once(account: Account) -> None:
    ann = await make_contact(account, "ann@example.com", tags=["vip"])

    await tag_contacts(account, [ann.id], add=["VIP", "Vip"])
    await tag_contacts(account, [ann.id], add=["vip"])

    assert await ContactTag.filter(contact_id=ann.id).count() == 1
    assert await tag_names(ann) == {"vip"}
    assert await Tag.filter(account=account).count() == 1


async def test_removing_a_tag_the_contact_lacks_is_a_no_op(account: Account) -> None:
    ann = await make_contact(account, "ann@example.com", tags=["a"])

    await tag_contacts(account, [ann.id], remove=["b", "never-created"])

    assert await tag_names(ann) == {"a"}


async def test_an_unknown_id_is_not_found_and_nothing_changes(account: Account) -> None:
    ann = await make_contact(account, "ann@example.com")

    with pytest.raises(DomainError) as raised:
        await tag_contacts(account, [ann.id, ann.id + 10_000_000], add=["x"])

    assert raised.value.code is ErrorCode.NOT_FOUND
    assert raised.value.field == ("ids",)
    assert str(ann.id + 10_000_000) in raised.value.message
    assert await tag_names(ann) == set()
    assert await Tag.filter(account=account).count() == 0


async def test_another_accounts_contact_is_not_found_and_nothing_changes(
    account: Account, other_account: Account
) -> None:
    mine = await make_contact(account, "ann@example.com", tags=["keep"])
    theirs = await make_contact(other_account, "ann@example.com", tags=["keep"])

    for kwargs in ({"add": ["x"]}, {"remove": ["keep"]}):
        with pytest.raises(DomainError) as raised:
            await tag_contacts(account, [mine.id, theirs.id], **kwargs)
        assert raised.value.code is ErrorCode.NOT_FOUND

    assert await tag_names(mine) == {"keep"}
    assert await tag_names(theirs) == {"keep"}
    assert not await Tag.filter(
        name_lower="x", account_id__in=[account.id, other_account.id]
    ).exists()


@pytest.mark.parametrize(
    ("add", "remove", "code", "field"),
    [
        (["a"], ["A"], ErrorCode.INVALID, ("remove",)),
        ([" "], [], ErrorCode.REQUIRED, ("add",)),
        ([], [""], ErrorCode.REQUIRED, ("remove",)),
        (["x" * 201], [], ErrorCode.TOO_LONG, ("add",)),
    ],
)
async def test_bad_tag_names_are_refused(
    account: Account, add: list[str], remove: list[str], code: ErrorCode, field: tuple[str, ...]
) -> None:
    ann = await make_contact(account, "ann@example.com", tags=["a"])

    with pytest.raises(DomainError) as raised:
        await tag_contacts(account, [ann.id], add=add, remove=remove)

    assert (raised.value.code, raised.value.field) == (code, field)
    assert await tag_names(ann) == {"a"}


async def test_too_many_ids_are_refused(account: Account) -> None:
    with pytest.raises(DomainError) as raised:
        await tag_contacts(account, list(range(1, MAX_BATCH + 2)), add=["x"])

    assert raised.value.code is ErrorCode.BATCH_TOO_LARGE
