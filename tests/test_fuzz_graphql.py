"""Schemathesis against a real server: `segments serve` on PostgreSQL with a seeded account,
its GraphQL schema loaded by introspection, and at least SEGMENTS_FUZZ_REQUESTS (default 4 000)
generated requests with the account's bearer token, spread over every query and mutation, in
schemathesis' positive mode (documents the schema accepts) and negative mode (documents it
refuses).

Besides schemathesis' own generation, the scalars get hostile values: strings with NUL, lone
surrogates, control, zero-width and bidi characters; Ints at the 32-bit bounds and past them;
dates and times at the ends of the calendar; IDs of the seeded account's objects, their
malformed spellings and noise; JSON objects nested deep. Every answer must be: no HTTP 5xx,
no request left without an answer, JSON a strict parser reads, valid Unicode, no masked fault
(INTERNAL_SERVER_ERROR), no traceback, exception or SQL text, no null in a non-null field.
Failures are grouped by operation and kind, each with its smallest request and a curl line.

SEGMENTS_FUZZ_REQUESTS sets the number of requests (CI runs the default: about a minute on two
cores, plus 5 s to seed); SEGMENTS_FUZZ_SEED fixes the seed (fixed in CI, random otherwise,
printed either way); SEGMENTS_FUZZ_SECONDS bounds the run (default 900); SEGMENTS_FUZZ_REPORT=FILE
writes every failure class as JSON, with a curl line for its smallest request.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from graphql import NameNode, ObjectFieldNode
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS

from api.test_hostile import (
    CURATED_TEXT,
    DATES,
    DATETIMES,
    EMAIL_TEXT,
    INT_EDGES,
    SPECIAL_CHARS,
    malformed_ids,
    pk,
    read,
)
from processes import free_port, new_token, segments, spawned, wait_ready

REQUESTS = int(os.environ.get("SEGMENTS_FUZZ_REQUESTS", "4000"))
CI = bool(os.environ.get("CI")) or os.environ.get("SEGMENTS_REQUIRE_SERVICES") == "1"
SEED = int(os.environ.get("SEGMENTS_FUZZ_SEED") or (20260615 if CI else random.getrandbits(32)))
TIME_LIMIT_S = float(os.environ.get("SEGMENTS_FUZZ_SECONDS", "900"))
REPORT = os.environ.get("SEGMENTS_FUZZ_REPORT")
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@dataclass
class Server:
    url: str
    token: str
    log: Path
    process: Any


@pytest.fixture
def server(empty_postgres: str, tmp_path: Path) -> Iterator[Server]:
    env = {
        "DATABASE_URL": empty_postgres,
        "SEGMENTS_ENV": "production",
        "REDIS_URL": "",
        "SEGMENTS_SCHEDULE": "false",
    }
    migrated = segments("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    seeded = segments("seed-demo", "--contacts", "200", "--seed", "7", env=env, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    token = new_token(seeded.stdout)
    port = free_port()
    log = tmp_path / "server.log"
    with spawned(["serve", "--port", str(port)], env, log) as process:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, lambda response: response.status_code == 200)
        yield Server(f"{base}/graphql", token, log, process)


# ----------------------------------------------------------------- hostile scalars

HARVEST = """{
  viewer { id }
  contacts(first: 20) { edges { node { id } } }
  segments(first: 20) { edges { node { id } } }
  tags(first: 10) { edges { node { id } } }
  products(first: 10) { edges { node { id } } }
}"""
RECOMPUTE = "mutation { accountRecompute { job { id } userErrors { code } } }"


def harvest(server: Server) -> list[str]:
    """Real IDs of the seeded account, so generated queries reach past the lookup."""
    headers = {"Authorization": f"Bearer {server.token}"}
    data = httpx.post(server.url, json={"query": HARVEST}, headers=headers, timeout=30).json()
    job = httpx.post(server.url, json={"query": RECOMPUTE}, headers=headers, timeout=30).json()
    ids = [data["data"]["viewer"]["id"], job["data"]["accountRecompute"]["job"]["id"]]
    for name in ("contacts", "segments", "tags", "products"):
        ids += [edge["node"]["id"] for edge in data["data"][name]["edges"]]
    return ids


def fuzz_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        st.sampled_from([t for t in (*CURATED_TEXT, *EMAIL_TEXT) if len(t) <= 20_000]),
        st.text(alphabet=st.sampled_from(SPECIAL_CHARS), min_size=1, max_size=6),
    )


def json_nodes() -> st.SearchStrategy[Any]:
    """JSON values as GraphQL literals (object keys must be GraphQL names there)."""
    names = st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,20}\Z")
    leaves = st.one_of(
        fuzz_text().map(nodes.String),
        st.integers(-(2**31), 2**31 - 1).map(nodes.Int),
        st.sampled_from(INT_EDGES).map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.booleans().map(nodes.Boolean),
        st.just(nodes.Null),
    )

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        fields = st.lists(st.tuples(names, children), max_size=4, unique_by=lambda kv: kv[0])
        return st.one_of(
            st.lists(children, max_size=4).map(nodes.List),
            fields.map(
                lambda kv: nodes.Object(
                    [ObjectFieldNode(name=NameNode(value=k), value=v) for k, v in kv]
                )
            ),
        )

    deep = st.integers(5, 80).map(lambda depth: _nested_node(depth))
    return st.one_of(st.recursive(leaves, extend, max_leaves=12), deep)


def _nested_node(depth: int) -> Any:
    value: Any = nodes.Int(1)
    for _ in range(depth):
        value = nodes.Object([ObjectFieldNode(name=NameNode(value="a"), value=value)])
    return value


def id_nodes(ids: list[str]) -> st.SearchStrategy[Any]:
    bad = []
    for global_id in ids[:8]:
        type_name = base64.b64decode(global_id).decode().partition(":")[0]
        bad += [i for i in malformed_ids(type_name, pk(global_id)) if len(i) < 10_000]
    return st.one_of(
        st.sampled_from(ids),
        st.sampled_from(ids),
        st.sampled_from(bad),
        fuzz_text(),
    ).map(nodes.String)


@contextmanager
def hostile_scalars(ids: list[str]) -> Iterator[None]:
    """Hostile strategies for the schema's scalars, for the length of the run."""
    saved = dict(CUSTOM_SCALARS)
    ints = st.one_of(
        st.integers(-(2**31), 2**31 - 1),
        st.sampled_from((0, -1, 1, 100, 101, 366, 367, 500, 501, 1000, 1001, *INT_EDGES)),
    )
    strategies = {
        "String": fuzz_text().map(nodes.String),
        "ID": id_nodes(ids),
        "Int": ints.map(nodes.Int),
        "Date": st.one_of(
            st.sampled_from([d for d in DATES if isinstance(d, str)]), st.dates().map(str)
        ).map(nodes.String),
        "DateTime": st.one_of(
            st.sampled_from([d for d in DATETIMES if isinstance(d, str)]),
            st.datetimes().map(lambda t: t.isoformat() + "Z"),
        ).map(nodes.String),
        "JSON": json_nodes(),
    }
    for name, strategy in strategies.items():
        schemathesis.graphql.scalar(name, strategy)
    try:
        yield
    finally:
        CUSTOM_SCALARS.clear()
        CUSTOM_SCALARS.update(saved)


# ------------------------------------------------------------------------- tally


@dataclass
class Example:
    count: int
    problem: str
    body: str
    status: int | None
    response: str
    curl: str


@dataclass
class Tally:
    """Requests sent, and failures grouped by operation and kind (the smallest request of
    each kind kept)."""

    headers: dict[str, str]
    sent: int = 0
    failures: dict[tuple[str, str], Example] = field(default_factory=dict)

    def record(self, case: Any, response: Any | None, problems: list[str]) -> None:
        self.sent += 1
        body = str(case.body)
        for problem in problems:
            key = (case.operation.label, problem.split(":")[0][:80])
            known = self.failures.get(key)
            if known is None or len(body) < len(known.body):
                curl = case.as_curl_command(headers=self.headers)
                text = response.content.decode("utf-8", "replace") if response else ""
                status = response.status_code if response else None
                example = Example(1, problem, body, status, text[:2000], curl[:4000])
                if known is not None:
                    example.count = known.count + 1
                self.failures[key] = example
            else:
                known.count += 1

    def check(self, case: Any, response: Any) -> None:
        answer = read(response, case.body)
        problems = list(answer.problems)
        for error in answer.errors:
            if "Cannot return null for non-nullable field" in str(error.get("message")):
                problems.append(f"null in a non-null field: {error.get('path')}")
        self.record(case, response, problems)

    def summary(self) -> str:
        lines = []
        for (label, _), example in sorted(self.failures.items()):
            lines.append(
                f"- {label}: {example.problem[:200]} (x{example.count})\n"
                f"    query: {example.body[:600]}\n"
                f"    HTTP {example.status}: {example.response[:400]}"
            )
        return "\n".join(lines)


def fuzz(
    operation: Any,
    mode: GenerationMode,
    budget: int,
    seed_value: int,
    session: requests.Session,
    tally: Tally,
) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @seed(seed_value)
    @settings(
        max_examples=budget,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        try:
            response = case.call(session=session, headers=tally.headers, timeout=30)
        except requests.RequestException as exc:
            tally.record(case, None, [f"no answer: {type(exc).__name__}"])
            return
        tally.check(case, response)

    with suppress(Unsatisfiable):
        run()


def server_faults(log: Path) -> list[str]:
    """The last line of each traceback the server logged (what the masked faults were)."""
    lines = log.read_text(errors="replace").splitlines()
    faults = []
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
                j += 1
            if j < len(lines):
                faults.append(lines[j][:200])
    return faults


@pytest.mark.postgres
def test_schemathesis_finds_no_fault(server: Server) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    schema = schemathesis.graphql.from_url(server.url, headers=headers, timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, [o.label for o in operations]
    tally = Tally(headers)
    started = time.monotonic()
    print(f"schemathesis: seed {SEED}, {REQUESTS} requests over {len(operations)} operations")
    with requests.Session() as session, hostile_scalars(harvest(server)):
        round_ = 0
        while tally.sent < REQUESTS and time.monotonic() - started < TIME_LIMIT_S:
            budget = max(2, -(-(REQUESTS - tally.sent) // (len(operations) * len(MODES))))
            for i, operation in enumerate(operations):
                for j, mode in enumerate(MODES):
                    fuzz(operation, mode, budget, SEED + 1000 * round_ + 10 * i + j, session, tally)
                assert server.process.poll() is None, "the server died"
            round_ += 1
    elapsed = time.monotonic() - started
    faults = server_faults(server.log)
    if REPORT:
        Path(REPORT).write_text(
            json.dumps(
                {
                    "seed": SEED,
                    "sent": tally.sent,
                    "seconds": round(elapsed, 1),
                    "server_faults": sorted(set(faults)),
                    "failures": [
                        {"operation": label, "kind": kind, **vars(example)}
                        for (label, kind), example in sorted(tally.failures.items())
                    ],
                },
                indent=2,
            )
        )
    print(f"schemathesis: {tally.sent} requests in {elapsed:.0f} s")
    assert tally.sent >= REQUESTS, f"only {tally.sent} requests in {elapsed:.0f} s"
    if tally.failures:
        pytest.fail(
            f"{len(tally.failures)} kinds of failure in {tally.sent} requests (seed {SEED}):\n"
            + tally.summary()
            + f"\nserver tracebacks ({len(faults)}): {sorted(set(faults))[:20]}",
            pytrace=False,
        )
