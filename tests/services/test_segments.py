"""Segment services: save, update, delete (confirmed, never a default or a referenced one),
cached counts with history, previews, explanations, and the bulk tag job."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.enums import DefaultSegment, JobStatus
from app.filters.ids import to_global_id
from app.models import Account, BulkJob, Contact, ContactTag, Segment, SegmentCountSnapshot
from app.services import counts, segments
from app.services.contacts import ContactData, upsert_contacts
from app.services.errors import DomainError, ErrorCode
from app.services.jobs import start_tag_job
from app.services.tasks import finish_pending

VIP = {"tags": {"hasAny": ["vip"]}}


async def _drain() -> None:
    await finish_pending()


async def _people(account: Account) -> list[Contact]:
    result = await upsert_contacts(
        account,
        [
            ContactData(email="ada@x.com", tags=["VIP"], subscription_status="SUBSCRIBED"),
            ContactData(email="bob@x.com", tags=["vip", "new"]),
            ContactData(email="cy@x.com"),
        ],
    )
    return result.items


def _code(caught: pytest.ExceptionInfo[DomainError]) -> tuple[ErrorCode, tuple[str, ...]]:
    return caught.value.code, caught.value.field


async def test_save_counts_in_the_background_and_keeps_history(account: Account) -> None:
    await _people(account)
    segment = await segments.create_segment(account, name="VIPs", description=" ", filter_input=VIP)
    assert segment.count_stale and segment.description is None
    await _drain()
    await segment.refresh_from_db()
    assert (segment.cached_count, segment.count_stale) == (2, False)
    assert segments.filter_input(segment) == VIP
    points = await counts.history(segment, days=90)
    assert points == [(datetime.now(UTC).date(), 2)]
    # A second refresh on the same day updates that day's point.
    await upsert_contacts(account, [ContactData(email="dee@x.com", tags=["vip"])])
    await counts.refresh_count(account.id, segment.id)
    assert await SegmentCountSnapshot.filter(segment_id=segment.id).count() == 1
    assert (await counts.history(segment, days=1))[0][1] == 3


async def test_history_is_one_point_a_day_within_the_window(account: Account) -> None:
    segment = await segments.create_segment(account, name="s", description=None, filter_input=VIP)
    await _drain()
    today = date(2026, 6, 15)
    for back in (0, 1, 5, 90, 200):
        await SegmentCountSnapshot.create(
            account=account, segment=segment, day=today - timedelta(days=back), count=back
        )
    days = [d for d, _ in await counts.history(segment, days=90, today=today)]
    assert days == [today - timedelta(days=b) for b in (5, 1, 0)]


async def test_names_are_unique_case_insensitively(account: Account) -> None:
    await segments.create_segment(account, name="Buyers", description=None, filter_input=VIP)
    with pytest.raises(DomainError) as caught:
        await segments.create_segment(account, name="BUYERS ", description=None, filter_input=VIP)
    assert _code(caught) == (ErrorCode.DUPLICATE_NAME, ("input", "name"))
    with pytest.raises(DomainError) as caught:
        await segments.create_segment(account, name="customers", description=None, filter_input=VIP)
    assert caught.value.code is ErrorCode.DUPLICATE_NAME  # a default's name is taken too


async def test_invalid_filters_point_into_the_input(account: Account) -> None:
    with pytest.raises(DomainError) as caught:
        await segments.create_segment(
            account,
            name="x",
            description=None,
            filter_input={"and": [VIP, {"products": {"ownsAny": [to_global_id("Product", 999)]}}]},
        )
    assert _code(caught) == (
        ErrorCode.INVALID_FILTER,
        ("input", "filter", "and", "1", "products", "ownsAny", "0"),
    )


async def test_defaults_are_read_only(account: Account) -> None:
    customers = await Segment.get(account=account, default_key=DefaultSegment.CUSTOMERS)
    with pytest.raises(DomainError) as caught:
        await segments.update_segment(
            account, customers.id, name="x", description=None, filter_input=VIP
        )
    assert caught.value.code is ErrorCode.DEFAULT_SEGMENT_READ_ONLY
    with pytest.raises(DomainError) as caught:
        await segments.delete_segment(account, customers.id, confirm=True)
    assert caught.value.code is ErrorCode.DEFAULT_SEGMENT_READ_ONLY


async def test_update_and_cycles(account: Account) -> None:
    a = await segments.create_segment(account, name="A", description=None, filter_input=VIP)
    b = await segments.create_segment(
        account,
        name="B",
        description=None,
        filter_input={"segment": {"in": to_global_id("Segment", a.id)}},
    )
    with pytest.raises(DomainError) as caught:
        await segments.update_segment(
            account,
            a.id,
            name="A",
            description=None,
            filter_input={"segment": {"in": to_global_id("Segment", b.id)}},
        )
    assert _code(caught) == (ErrorCode.INVALID_FILTER, ("input", "filter", "segment", "in"))
    updated = await segments.update_segment(
        account, a.id, name="A2", description="new", filter_input={"isCustomer": True}
    )
    assert (updated.name, updated.description, updated.count_stale) == ("A2", "new", True)
    await _drain()


async def test_delete_needs_confirmation_and_no_referrers(account: Account) -> None:
    a = await segments.create_segment(account, name="A", description=None, filter_input=VIP)
    b = await segments.create_segment(
        account,
        name="B",
        description=None,
        filter_input={"not": {"segment": {"in": to_global_id("Segment", a.id)}}},
    )
    await _drain()
    with pytest.raises(DomainError) as caught:
        await segments.delete_segment(account, a.id, confirm=True)
    assert caught.value.code is ErrorCode.SEGMENT_IN_USE and "'B'" in caught.value.message
    with pytest.raises(DomainError) as caught:
        await segments.delete_segment(account, b.id, confirm=False)
    assert caught.value.code is ErrorCode.CONFIRMATION_REQUIRED
    assert await Segment.exists(id=b.id)
    assert await segments.delete_segment(account, b.id, confirm=True) == b.id
    assert not await Segment.exists(id=b.id)
    assert not await SegmentCountSnapshot.exists(segment_id=b.id)
    assert await segments.delete_segment(account, a.id, confirm=True) == a.id
    with pytest.raises(DomainError) as caught:
        await segments.delete_segment(account, a.id, confirm=True)
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_preview_counts_and_samples_newest_first(account: Account) -> None:
    people = await _people(account)
    result = await segments.preview(account, VIP, sample=1)
    assert result.count == 2
    assert [c.email for c in result.sample] == [people[1].email]
    with pytest.raises(DomainError) as caught:
        await segments.preview(account, VIP, sample=101)
    assert caught.value.code is ErrorCode.OUT_OF_RANGE


async def test_explain_custom_and_default(account: Account) -> None:
    ada, _, cy = await _people(account)
    segment = await segments.create_segment(
        account,
        name="x",
        description=None,
        filter_input={"and": [VIP, {"not": {"isCustomer": True}}]},
    )
    explanation = await segments.explain(account, segment, ada.id)
    assert explanation.matches
    assert [c.path for c in explanation.conditions] == [
        (),
        ("and", "0"),
        ("and", "1"),
        ("and", "1", "not"),
    ]
    inactive = await Segment.get(account=account, default_key=DefaultSegment.INACTIVE)
    explanation = await segments.explain(account, inactive, cy.id)
    assert not explanation.matches
    assert ("rules", "inactive") in [c.path for c in explanation.conditions]
    everyone = await Segment.get(account=account, default_key=DefaultSegment.ALL_CONTACTS)
    assert (await segments.explain(account, everyone, cy.id)).matches
    with pytest.raises(DomainError) as caught:
        await segments.explain(account, everyone, cy.id + 100_000)
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_tag_job_tags_every_member_and_reports_progress(account: Account) -> None:
    ada, bob, cy = await _people(account)
    segment = await segments.create_segment(account, name="x", description=None, filter_input=VIP)
    job = await start_tag_job(account, segment.id, add=["Launch"], remove=["new"])
    assert job.status is JobStatus.QUEUED
    await _drain()
    await job.refresh_from_db()
    assert (job.status, job.processed, job.total) == (JobStatus.SUCCEEDED, 2, 2)
    assert job.finished_at is not None

    async def names(contact: Contact) -> set[str]:
        links = await ContactTag.filter(contact_id=contact.id).prefetch_related("tag")
        return {link.tag.name for link in links}

    assert await names(ada) == {"VIP", "Launch"}
    assert await names(bob) == {"VIP", "Launch"}  # "new" removed
    assert await names(cy) == set()
    with pytest.raises(DomainError) as caught:
        await start_tag_job(account, segment.id, add=[], remove=[])
    assert caught.value.code is ErrorCode.REQUIRED
    assert await BulkJob.filter(account=account).count() == 1
