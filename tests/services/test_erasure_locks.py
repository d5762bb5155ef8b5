"""Erasure among other writers, on PostgreSQL (SQLite has one writer at a time): a writer that
holds a contact keeps it from erasure until it commits, without holding up the contact's other
writers, and a writer that comes after finds it gone rather than failing."""

from __future__ import annotations

import asyncio

import pytest
from tortoise.transactions import in_transaction

from app.enums import EmailEventKind
from app.models import Account, ContactTag, Tag
from app.services.contacts import hold_contacts, tag_contacts
from app.services.erasure import delete_contacts
from app.services.errors import DomainError, ErrorCode

from .helpers import at, event, make_contact, record_ok

WAIT = 0.5  # long enough for a statement that could go through to go through


@pytest.fixture
def postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("row locks: PostgreSQL")


async def test_erasure_waits_for_a_holder_and_then_takes_its_rows_too(
    account: Account, postgres_only: None
) -> None:
    ann = await make_contact(account, "ann@example.com")
    tag = await Tag.create(account=account, name="vip", name_lower="vip")
    held, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with in_transaction():
            assert await hold_contacts(account, [ann.id]) == [ann.id]
            held.set()
            await release.wait()
            await ContactTag.create(account=account, contact_id=ann.id, tag_id=tag.id)

    holding = asyncio.create_task(holder())
    await held.wait()
    erasing = asyncio.create_task(delete_contacts(account, [ann.id], confirm=True))
    await asyncio.sleep(WAIT)
    assert not erasing.done()
    # Held, the contact's other writers go on: recording an event does not wait.
    await asyncio.wait_for(
        record_ok(account, event(EmailEventKind.OPENED, at(-1), "ann@example.com")), WAIT * 4
    )

    release.set()
    await holding
    result = await erasing

    assert result.items == [ann.id]
    assert not await ContactTag.filter(contact_id=ann.id).exists()


async def test_a_writer_after_the_erasure_finds_the_contact_gone(
    account: Account, postgres_only: None
) -> None:
    ann = await make_contact(account, "ann@example.com")
    bob = await make_contact(account, "bob@example.com")
    await delete_contacts(account, [ann.id], confirm=True)

    async with in_transaction():
        assert await hold_contacts(account, [bob.id, ann.id]) == [bob.id]
    with pytest.raises(DomainError) as raised:
        await tag_contacts(account, [ann.id, bob.id], add=["vip"])

    assert raised.value.code is ErrorCode.NOT_FOUND
    assert not await ContactTag.filter(contact_id=bob.id).exists()
