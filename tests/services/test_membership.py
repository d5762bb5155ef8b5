"""Membership changes: each computation of a segment's members records exactly who entered and
who left since the previous one (checked against the plain-Python reference evaluator on
generated data, on SQLite and PostgreSQL); the first records nothing; a refresh keeps the
members, the count and the log together; the nightly trim drops old changes."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from tortoise.transactions import in_transaction

from app.db import fetch
from app.enums import MembershipChangeKind, SegmentKind
from app.filters import query
from app.filters.sql import sql
from app.models import Account, Contact, MembershipChange, Segment
from app.services import counts, membership
from app.services.accounts import create_account
from app.services.contacts import tag_contacts
from app.services.events import EventData, record_events
from app.services.segments import create_segment, delete_segment, segment_filter
from filters import dataset, reference
from filters.strategies import Example, examples

from .helpers import NOW, at, event, make_contact
from .test_counts import recorded

OPENED_TWICE = {
    "emailActivity": {"event": "OPENED", "count": {"gte": 2}, "window": {"withinLastDays": 30}}
}


def opened(name: str, days: float) -> EventData:
    return event("OPENED", at(days), f"{name}@x.io")


EXAMPLES = int(os.environ.get("SEGMENTS_HYPOTHESIS_EXAMPLES", "300")) // 3 or 1
DERANDOMIZE = bool(os.environ.get("CI")) or os.environ.get("SEGMENTS_REQUIRE_SERVICES") == "1"


async def _members(segment_id: int) -> set[int]:
    rows = await fetch(
        sql("SELECT contact_id FROM segment_members WHERE segment_id = ?", segment_id)
    )
    return {int(row["contact_id"]) for row in rows}


async def _changes(segment_id: int, after: int = 0) -> dict[MembershipChangeKind, set[int]]:
    rows = await MembershipChange.filter(segment_id=segment_id, id__gt=after)
    found: dict[MembershipChangeKind, set[int]] = {k: set() for k in MembershipChangeKind}
    for row in rows:
        assert row.contact_id not in found[row.kind], "a change recorded twice"
        found[row.kind].add(row.contact_id)
    return found


async def _last_change_id(segment_id: int) -> int:
    last = await MembershipChange.filter(segment_id=segment_id).order_by("-id").first()
    return last.id if last else 0


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None if DERANDOMIZE else settings.default.database,
    suppress_health_check=list(HealthCheck),
)
@given(example=examples())
async def test_each_computation_records_who_entered_and_left(db: str, example: Example) -> None:
    """The members of one segment computed under a sequence of filters (to the diff, a new
    filter and new data are the same thing: a new set of members)."""
    account = (await create_account(f"Membership {secrets.token_hex(4)}")).account
    ids = await dataset.insert(example.dataset, account.id)
    segment = await Segment.create(
        account=account, name="Moving", name_lower="moving", kind=SegmentKind.CUSTOM
    )
    previous: set[int] | None = None
    for tree in example.filters:
        stored = None if tree is None else ids.remap(tree)
        expected = {ids.contacts[c] for c in reference.members(tree, example.dataset, example.now)}
        members = await query.members_select(account.id, stored, now=example.now, distinct=False)
        before = await _last_change_id(segment.id)
        async with in_transaction() as conn:
            assert await membership.hold_segment(conn, account.id, segment.id) is not None
            result = await membership.compute(
                conn, account.id, segment.id, members, now=example.now, record=previous is not None
            )
        changes = await _changes(segment.id, before)
        if previous is None:
            assert changes == {
                MembershipChangeKind.ENTERED: set(),
                MembershipChangeKind.LEFT: set(),
            }
        else:
            assert changes[MembershipChangeKind.ENTERED] == expected - previous
            assert changes[MembershipChangeKind.LEFT] == previous - expected
        assert (result.count, result.entered, result.left) == (
            len(expected),
            len(expected - (previous if previous is not None else set())),
            len((previous or set()) - expected),
        )
        assert await _members(segment.id) == expected
        previous = expected


async def test_a_refresh_records_the_contacts_events_moved(account: Account) -> None:
    """Opened twice in the last 30 days: opens move contacts in, time moves them out."""
    with recorded():  # no background refresh: this test says when members are computed
        for email in ("ann@x.io", "bob@x.io", "cy@x.io"):
            await make_contact(account, email)
        segment = await create_segment(
            account, name="Engaged", description=None, filter_input=OPENED_TWICE
        )
        await record_events(account, [opened("ann", -1), opened("ann", -2)], now=NOW)
        first = await counts.refresh_count(account.id, segment.id, NOW)
        assert first is not None and first.cached_count == 1
        assert await MembershipChange.filter(segment_id=segment.id).count() == 0  # no "before"

        await record_events(
            account, [opened("bob", -1), opened("bob", -0.5), opened("cy", -1)], now=NOW
        )
        second = await counts.refresh_count(account.id, segment.id, NOW)
        assert second is not None and second.cached_count == 2
        ids = {c.email_lower: c.id for c in await Contact.filter(account=account)}
        rows = await MembershipChange.filter(segment_id=segment.id)
        assert [(c.contact_id, c.kind, c.at) for c in rows] == [
            (ids["bob@x.io"], MembershipChangeKind.ENTERED, NOW)
        ]
        # A day and a half later, Ann's second open (2 days before NOW) has left the window.
        later = NOW + timedelta(days=28, hours=12)
        third = await counts.refresh_count(account.id, segment.id, later)
        assert third is not None and third.cached_count == 1
        rows = await MembershipChange.filter(segment_id=segment.id, id__gt=rows[-1].id)
        assert [(c.contact_id, c.kind, c.at) for c in rows] == [
            (ids["ann@x.io"], MembershipChangeKind.LEFT, later)
        ]
        assert await _members(segment.id) == {ids["bob@x.io"]}


async def test_the_trim_drops_changes_older_than_the_retention(account: Account) -> None:
    segment = await Segment.get(account=account, name="All Contacts")
    for days_ago in (100, 91, 89, 1):
        await MembershipChange.create(
            account=account,
            segment=segment,
            contact_id=days_ago,
            kind=MembershipChangeKind.ENTERED,
            at=NOW - timedelta(days=days_ago),
        )
    assert await membership.trim_changes(account.id, NOW, timedelta(days=90)) == 2
    left = await MembershipChange.filter(segment_id=segment.id).values_list("contact_id", flat=True)
    assert sorted(left) == [1, 89]


async def test_deleting_a_segment_drops_its_members(account: Account) -> None:
    await make_contact(account, "a@x.io", tags=["t"])
    with recorded():
        segment = await create_segment(
            account, name="T", description=None, filter_input={"tags": {"hasAny": ["t"]}}
        )
        await counts.refresh_count(account.id, segment.id, NOW)
    assert len(await _members(segment.id)) == 1
    await delete_segment(account, segment.id, confirm=True)
    assert await _members(segment.id) == set()


@pytest.mark.postgres
async def test_a_deletion_waits_for_a_computation_under_way(
    account: Account, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("concurrent writers are a PostgreSQL matter (SQLite has one writer)")
    await make_contact(account, "a@x.io", tags=["t"])
    with recorded():
        segment = await create_segment(
            account, name="T", description=None, filter_input={"tags": {"hasAny": ["t"]}}
        )
    members = await query.members_select(account.id, segment_filter(segment), now=NOW)
    release = asyncio.Event()

    async def computation() -> None:
        async with in_transaction() as conn:
            assert await membership.hold_segment(conn, account.id, segment.id) is False
            await membership.compute(conn, account.id, segment.id, members, now=NOW, record=False)
            await release.wait()

    computing = asyncio.create_task(computation())
    await asyncio.sleep(0.2)
    deleting = asyncio.create_task(delete_segment(account, segment.id, confirm=True))
    await asyncio.sleep(0.3)
    assert not deleting.done()  # it waits for the computation
    release.set()
    await computing
    assert await asyncio.wait_for(deleting, 10) == segment.id
    assert await _members(segment.id) == set()  # what the computation kept went too


@pytest.mark.postgres
async def test_refreshes_racing_writers_log_each_move_once(
    account: Account, is_postgres: bool
) -> None:
    """Six refreshes of one segment at once, while writers tag and untag its contacts: no
    change is logged twice (each contact's changes alternate, starting from the first
    computation's state), and the kept members are the filter's at the end."""
    if not is_postgres:
        pytest.skip("concurrent writers are a PostgreSQL matter (SQLite has one writer)")
    emails = [f"m{i}@x.io" for i in range(40)]
    with recorded():
        for email in emails[::2]:
            await make_contact(account, email, tags=["in"])
        for email in emails[1::2]:
            await make_contact(account, email)
        segment = await create_segment(
            account, name="In", description=None, filter_input={"tags": {"hasAny": ["in"]}}
        )
        await counts.refresh_count(account.id, segment.id, NOW)
        start = await _members(segment.id)
        ids = {c.email_lower: c.id for c in await Contact.filter(account=account)}
        rng = random.Random(11)

        async def writer() -> None:
            for _ in range(15):
                pk = ids[rng.choice(emails)]
                add = rng.random() < 0.5
                await tag_contacts(
                    account, [pk], add=["in"] if add else [], remove=[] if add else ["in"]
                )

        async def refresher() -> None:
            for _ in range(5):
                await counts.refresh_count(account.id, segment.id, NOW)

        await asyncio.wait_for(
            asyncio.gather(*(writer() for _ in range(4)), *(refresher() for _ in range(6))), 120
        )
        await counts.refresh_count(account.id, segment.id, NOW)
    tagged = await query.matching_ids(account.id, segment_filter(segment), now=NOW)
    assert await _members(segment.id) == set(tagged)
    history: dict[int, list[MembershipChangeKind]] = {}
    for change in await MembershipChange.filter(segment_id=segment.id).order_by("id"):
        history.setdefault(change.contact_id, []).append(change.kind)
    for pk, kinds in history.items():
        expected_first = MembershipChangeKind.LEFT if pk in start else MembershipChangeKind.ENTERED
        assert kinds[0] == expected_first, (pk, kinds)
        assert all(a != b for a, b in pairwise(kinds)), (pk, kinds)
        assert (kinds[-1] == MembershipChangeKind.ENTERED) == (pk in tagged), (pk, kinds)
