"""The work that runs without anyone asking, on real processes: Celery beat and a worker on
Redis and PostgreSQL, and the embedded mode's own schedule on SQLite without Redis.

Time is moved by giving every process the same clock offset (SEGMENTS_CLOCK_OFFSET_S): data is
recorded "today", then the stack starts 91 days later, a few seconds before the nightly hour,
so the schedule fires as it would that night."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from processes import (
    free_port,
    graphql,
    new_token,
    segments,
    spawned,
    until,
    wait_ready,
)

LEAD_S = 15  # the stack starts this long before the nightly hour (beat needs a few seconds)

PEOPLE = """mutation($at: DateTime!) {
  contactsUpsert(input: [
    {email: "ann@x.com", subscriptionStatus: SUBSCRIBED},
    {email: "bob@x.com", subscriptionStatus: SUBSCRIBED, emailRisk: HIGH_RISK},
    {email: "cy@x.com"}
  ]) { userErrors { code } }
  emailEventsRecord(input: [
    {email: "ann@x.com", kind: OPENED, occurredAt: $at},
    {email: "bob@x.com", kind: OPENED, occurredAt: $at}
  ]) { recorded userErrors { code } }
}"""
MAINTENANCE = "{ viewer { maintenance { lastRun { status flagsChanged countsRefreshed error startedAt } nextRunAt } } }"
FLAGS = "{ contacts(first: 10, orderBy: {field: EMAIL, direction: ASC}) { edges { node { email isInactive isExcluded flagsComputedAt } } } }"
SEGMENTS = "{ segments { edges { node { defaultKey count { value isStale } history(days: 3) { date count } } } } }"


def before_a_night(days: int) -> tuple[int, str, datetime]:
    """A clock offset that puts "now" `days` days ahead, LEAD_S seconds before a whole
    minute; that minute as SEGMENTS_NIGHTLY_AT; and the moment the night starts."""
    real = datetime.now(UTC)
    night = (real + timedelta(days=days, seconds=LEAD_S + 60)).replace(second=0, microsecond=0)
    offset = int((night - timedelta(seconds=LEAD_S) - real).total_seconds())
    return offset, night.strftime("%H:%M"), night


@dataclass
class Stack:
    env: dict[str, str]
    token: str
    logs: Path

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/graphql"

    def serve(self, stack: ExitStack, **extra: str) -> str:
        port = free_port()
        stack.enter_context(
            spawned(["serve", "--port", str(port)], {**self.env, **extra}, self.logs / "api.log")
        )
        wait_ready(f"http://127.0.0.1:{port}", lambda response: response.status_code == 200)
        return self.url(port)

    def run(self, url: str, query: str, **variables: Any) -> dict[str, Any]:
        return graphql(url, self.token, query, **variables)


def _flags(stack: Stack, url: str) -> dict[str, tuple[bool, bool]]:
    edges = stack.run(url, FLAGS)["contacts"]["edges"]
    return {e["node"]["email"]: (e["node"]["isInactive"], e["node"]["isExcluded"]) for e in edges}


def _segments(stack: Stack, url: str) -> dict[str, dict[str, Any]]:
    edges = stack.run(url, SEGMENTS)["segments"]["edges"]
    return {e["node"]["defaultKey"]: e["node"] for e in edges}


def _record_today(stack: Stack, url: str) -> None:
    opened = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    data = stack.run(url, PEOPLE, at=opened)
    assert data["emailEventsRecord"]["recorded"] == 2


def _check_the_night(stack: Stack, url: str, night: datetime) -> None:
    """After the night's run: flags moved, counts and one history point, the run shown."""
    run = until(
        lambda: (
            (stack.run(url, MAINTENANCE)["viewer"]["maintenance"]["lastRun"] or {}).get("status")
            == "SUCCEEDED"
            and stack.run(url, MAINTENANCE)["viewer"]["maintenance"]
        ),
        "the nightly run",
    )
    assert run["lastRun"]["flagsChanged"] == 2 and run["lastRun"]["countsRefreshed"] == 6
    assert datetime.fromisoformat(run["lastRun"]["startedAt"]) >= night
    assert datetime.fromisoformat(run["nextRunAt"]) == night + timedelta(days=1)
    assert _flags(stack, url) == {
        "ann@x.com": (True, False),
        "bob@x.com": (True, True),  # inactive and a risky address
        "cy@x.com": (False, False),
    }
    counted = _segments(stack, url)
    assert counted["INACTIVE"]["count"]["value"] == 2
    assert counted["EXCLUDED"]["count"]["value"] == 1
    assert counted["ALL_CONTACTS"]["count"]["value"] == 3
    assert counted["INACTIVE"]["history"] == [{"date": night.date().isoformat(), "count": 2}]


def _an_open_takes_ann_out(stack: Stack, url: str, night: datetime) -> None:
    opened = stack.run(
        url,
        'mutation($at: DateTime!) { emailEventsRecord(input: [{email: "ann@x.com", kind: OPENED, occurredAt: $at}]) { recorded } }',
        at=(night + timedelta(seconds=1)).isoformat(),
    )
    assert opened["emailEventsRecord"]["recorded"] == 1
    assert _flags(stack, url)["ann@x.com"] == (False, False)  # at once
    inactive = until(
        lambda: (
            (c := _segments(stack, url)["INACTIVE"])["count"]["value"] == 1
            and not c["count"]["isStale"]
            and c
        ),
        "the sweep to refresh the stale count",
    )
    assert inactive["history"] == [{"date": night.date().isoformat(), "count": 1}]


@pytest.fixture
def celery_stack(empty_postgres: str, redis_server: str, tmp_path: Path) -> Iterator[Stack]:
    broker = redis.Redis.from_url(redis_server)
    broker.flushdb()
    env = {
        "DATABASE_URL": empty_postgres,
        "REDIS_URL": redis_server,
        "SEGMENTS_ENV": "production",
        "SEGMENTS_SWEEP_EVERY_S": "2",
        "SEGMENTS_VISIBILITY_TIMEOUT_S": "10",
        "SEGMENTS_LOCK_TTL_S": "3",
    }
    assert segments("migrate", env=env).returncode == 0
    token = new_token(segments("create-account", "Night School", env=env).stdout)
    try:
        yield Stack(env, token, tmp_path)
    finally:
        broker.flushdb()


@pytest.mark.postgres
@pytest.mark.redis
def test_beat_and_a_worker_run_the_night_91_days_later(celery_stack: Stack) -> None:
    stack = celery_stack
    with ExitStack() as today:
        url = stack.serve(today)
        _record_today(stack, url)
        assert stack.run(url, MAINTENANCE)["viewer"]["maintenance"]["lastRun"] is None

    offset, nightly_at, night = before_a_night(91)
    later = {"SEGMENTS_CLOCK_OFFSET_S": str(offset), "SEGMENTS_NIGHTLY_AT": nightly_at}
    with ExitStack() as processes:
        env = {**stack.env, **later}
        processes.enter_context(
            spawned(["worker", "--concurrency", "2"], env, stack.logs / "worker.log")
        )
        processes.enter_context(
            spawned(
                ["beat", "--schedule-file", str(stack.logs / "beat-schedule")],
                env,
                stack.logs / "beat.log",
            )
        )
        url = stack.serve(processes, **later)
        _check_the_night(stack, url, night)
        _an_open_takes_ann_out(stack, url, night)


@pytest.fixture
def embedded(tmp_path: Path) -> Stack:
    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'embedded.sqlite3'}", "REDIS_URL": ""}
    assert segments("migrate", env=env).returncode == 0
    token = new_token(segments("create-account", "Home School", env=env).stdout)
    return Stack({**env, "SEGMENTS_SWEEP_EVERY_S": "2"}, token, tmp_path)


def test_the_embedded_mode_runs_the_night_in_the_api_process(embedded: Stack) -> None:
    stack = embedded
    with ExitStack() as today:
        url = stack.serve(today)
        _record_today(stack, url)
        maintenance = stack.run(url, MAINTENANCE)["viewer"]["maintenance"]
        assert maintenance["lastRun"] is None and maintenance["nextRunAt"]

    offset, nightly_at, night = before_a_night(91)
    with ExitStack() as processes:
        url = stack.serve(
            processes, SEGMENTS_CLOCK_OFFSET_S=str(offset), SEGMENTS_NIGHTLY_AT=nightly_at
        )
        _check_the_night(stack, url, night)
        _an_open_takes_ann_out(stack, url, night)


def test_segments_recompute_runs_it_from_the_command_line(embedded: Stack) -> None:
    stack = embedded
    with ExitStack() as today:
        url = stack.serve(today)
        _record_today(stack, url)
        account = stack.run(url, "{ viewer { id } }")["viewer"]["id"]
    later = {**stack.env, "SEGMENTS_CLOCK_OFFSET_S": str(91 * 86400)}
    done = segments("recompute", "--account", account, env=later)
    assert done.returncode == 0, done.stderr
    assert "2 flags changed, 6 counts refreshed" in done.stdout
    again = segments("recompute", env=later)  # every account; nothing left to change
    assert again.returncode == 0 and "0 flags changed" in again.stdout
    missing = segments("recompute", "--account", "999999", env=later)
    assert missing.returncode == 1 and "No account with id 999999" in missing.stderr
    with ExitStack() as processes:
        url = stack.serve(processes, SEGMENTS_CLOCK_OFFSET_S=str(91 * 86400))
        assert _flags(stack, url)["bob@x.com"] == (True, True)
        run = stack.run(url, MAINTENANCE)["viewer"]["maintenance"]["lastRun"]
        assert run["status"] == "SUCCEEDED" and run["flagsChanged"] == 0
        today = (datetime.now(UTC) + timedelta(days=91)).date()
        history = _segments(stack, url)["EXCLUDED"]["history"]
        assert history == [{"date": today.isoformat(), "count": 1}]
    assert date.fromisoformat(history[0]["date"]) == today
