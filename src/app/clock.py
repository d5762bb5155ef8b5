"""The service's clock: the current UTC time, shifted by `SEGMENTS_CLOCK_OFFSET_S` when set.

Every "now" of the services, the schedule and the workers comes from here, so a rehearsal (or
a test) can run the rules, the counts and the nightly schedule as of another day by giving
every process the same offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def set_offset(offset: timedelta) -> None:
    global _offset
    _offset = offset


def offset() -> timedelta:
    return _offset
