"""Cached counts: a change during a count leaves it stale, a refresh that died is done again,
what `Segment.count` shows, and the sweep that refreshes what needs it and resends jobs a
broker never took."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from app import clock
from app.enums import DefaultSegment, JobStatus
from app.filters import query
from app.models import Account, BulkJob, Segment
from app.services import counts, tasks
from app.services.jobs import start_recompute_job
from app.services.sweep import sweep

from .helpers import make_contact


class Recorder:
    """A broker that takes every task and runs none; or, when down, refuses them."""

    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    async def send(
        self,
        task: tasks.Task[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        expires: datetime | None,
    ) -> bool:
        if self.up:
            self.sent.append((task.name, args))
        return self.up


@contextmanager
def recorded(up: bool = True) -> Iterator[Recorder]:
    previous = tasks.backend()
    recorder = Recorder(up)
    tasks.use_backend(recorder)
    try:
        yield recorder
    finally:
        tasks.use_backend(previous)


async def _segment(account: Account, key: DefaultSegment) -> Segment:
    return await Segment.get(account=account, default_key=key)


async def test_a_change_during_a_count_leaves_it_stale(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_contact(account, "a@x.com")
    everyone = await _segment(account, DefaultSegment.ALL_CONTACTS)
    real_select = query.members_select

    async def count_while_an_import_lands(*args: Any, **kwargs: Any) -> Any:
        result = await real_select(*args, **kwargs)
        await make_contact(account, "b@x.com")  # marks the account's counts stale
        return result

    # The import lands after the refresh claimed the count: whatever the count read, the
    # import's mark stays.
    monkeypatch.setattr(query, "members_select", count_while_an_import_lands)
    await counts.refresh_count(account.id, everyone.id)
    monkeypatch.undo()
    await everyone.refresh_from_db()
    assert everyone.cached_count in (1, 2) and everyone.count_stale
    assert counts.count_state(everyone, clock.now()).is_stale
    assert await counts.refresh_stale(account.id) >= 1
    await everyone.refresh_from_db()
    assert (everyone.cached_count, everyone.count_stale) == (2, False)
    assert not counts.count_state(everyone, clock.now()).is_stale


async def test_a_refresh_that_died_midway_is_done_again(account: Account) -> None:
    await counts.refresh_all_counts(account.id)
    assert await counts.refresh_stale(account.id) == 0
    everyone = await _segment(account, DefaultSegment.ALL_CONTACTS)
    # A worker claimed the count (stale mark cleared) and was killed before writing it.
    claimed = clock.now() - counts.ABANDONED_AFTER - timedelta(minutes=1)
    await Segment.filter(id=everyone.id).update(
        count_started_at=claimed, count_computed_at=claimed - timedelta(seconds=5)
    )
    await everyone.refresh_from_db()
    assert counts.count_state(everyone, clock.now()).is_stale  # a refresh is under way
    assert await counts.refresh_stale(account.id) == 1
    # One claimed just now is still working: left alone.
    await Segment.filter(id=everyone.id).update(
        count_started_at=clock.now(), count_computed_at=clock.now() - timedelta(seconds=5)
    )
    assert await counts.refresh_stale(account.id) == 0


def test_count_state_reads_the_cache() -> None:
    now = clock.now()
    never = Segment(cached_count=None, count_computed_at=None, count_stale=True)
    assert counts.count_state(never, now) == counts.CountState(None, None, True)
    fresh = Segment(cached_count=5, count_computed_at=now, count_started_at=now, count_stale=False)
    assert counts.count_state(fresh, now) == counts.CountState(5, now, False)
    old = Segment(cached_count=5, count_computed_at=now - timedelta(days=2), count_stale=False)
    assert counts.count_state(old, now).is_stale


async def test_the_sweep_refreshes_stale_counts_and_resends_unsent_jobs(
    account: Account,
) -> None:
    await counts.refresh_all_counts(account.id)
    with recorded() as broker:
        assert account.id not in await counts.accounts_needing_refresh()
        await make_contact(account, "a@x.com")  # the counts are stale now
        assert account.id in await counts.accounts_needing_refresh()

        # A job whose task never reached a broker (Redis was down), then the sweep.
        with recorded(up=False):
            job = await start_recompute_job(account)
        assert job.dispatched_at is None
        await BulkJob.filter(id=job.id).update(created_at=clock.now() - timedelta(minutes=5))
        report = await sweep()
    assert report.accounts_refreshed >= 1 and report.jobs_sent >= 1
    assert ("refresh_stale_counts", (account.id,)) in broker.sent
    assert ("run_bulk_job", (job.id,)) in broker.sent
    await job.refresh_from_db()
    assert job.dispatched_at is not None and job.status is JobStatus.QUEUED
    with recorded() as again:
        await sweep()
    assert ("run_bulk_job", (job.id,)) not in again.sent  # a broker holds it now
