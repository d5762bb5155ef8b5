"""Snapshots: the members frozen by one statement stay the same after the segment's filter and
its contacts change; an erased contact drops out of the pages; pages are keyset pages; another
account's snapshot and segment are not found."""

from __future__ import annotations

import pytest

from app import limits
from app.models import Account, Contact
from app.services import snapshots
from app.services.contacts import ContactData
from app.services.erasure import delete_contacts
from app.services.errors import DomainError, ErrorCode
from app.services.segments import create_segment, update_segment

from .helpers import upsert_ok


async def _all_members(account: Account, snapshot_id: int, page: int) -> list[int]:
    found: list[int] = []
    while True:
        ids = await snapshots.member_ids(
            account.id, snapshot_id, after_contact_id=found[-1] if found else None, limit=page
        )
        found += ids
        if len(ids) < page:
            return found


async def test_a_snapshot_keeps_its_members_whatever_changes_after(account: Account) -> None:
    await upsert_ok(
        account,
        *(ContactData(email=f"vip{i}@x.io", tags=["vip"]) for i in range(7)),
        ContactData(email="other@x.io"),
    )
    segment = await create_segment(
        account, name="VIPs", description=None, filter_input={"tags": {"hasAny": ["vip"]}}
    )
    snapshot = await snapshots.create_snapshot(account.id, segment.id)
    vips = sorted(
        await Contact.filter(account=account, email__startswith="vip").values_list("id", flat=True)
    )
    assert snapshot.count == 7
    assert await _all_members(account, snapshot.id, 3) == vips

    # The segment now means something else, and the contacts move.
    await update_segment(
        account, segment.id, name="VIPs", description=None, filter_input={"tags": {"hasAny": ["x"]}}
    )
    await upsert_ok(account, ContactData(email="vip9@x.io", tags=["vip"]))
    assert await _all_members(account, snapshot.id, 3) == vips
    refreshed = await snapshots.get_snapshot(account.id, snapshot.id)
    assert refreshed is not None and refreshed.count == 7

    # Erasure wins: the erased contact is gone from the pages; the frozen count stays.
    await delete_contacts(account, [vips[2]], confirm=True)
    assert await _all_members(account, snapshot.id, 4) == vips[:2] + vips[3:]


async def test_another_accounts_snapshot_and_segment_are_not_found(
    account: Account, other_account: Account
) -> None:
    segment = await create_segment(
        account, name="Mine", description=None, filter_input={"tags": {"hasAny": ["a"]}}
    )
    with pytest.raises(DomainError) as raised:
        await snapshots.create_snapshot(other_account.id, segment.id)
    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, ("id",))
    snapshot = await snapshots.create_snapshot(account.id, segment.id)
    assert await snapshots.get_snapshot(other_account.id, snapshot.id) is None
    assert (
        await snapshots.member_ids(other_account.id, snapshot.id, after_contact_id=None, limit=5)
        == []
    )


async def test_an_account_holds_a_bounded_number_of_snapshots(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_SNAPSHOTS", 2)
    segment = await create_segment(
        account, name="Few", description=None, filter_input={"tags": {"hasAny": ["a"]}}
    )
    for _ in range(2):
        await snapshots.create_snapshot(account.id, segment.id)
    with pytest.raises(DomainError) as raised:
        await snapshots.create_snapshot(account.id, segment.id)
    assert (raised.value.code, raised.value.field) == (ErrorCode.LIMIT_REACHED, ("id",))
