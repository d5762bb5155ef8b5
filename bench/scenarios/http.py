"""Scenarios over HTTP against real server processes: `segments serve` (production settings, no
Redis, no schedule) and the bare Starlette endpoint (bench/bare_app.py), each under uvicorn.

3. GraphQL `contacts(first: 50)` against the bare endpoint: requests per second, p50 / p95,
   one process each, then `--workers 2` (when `segments serve` has that option).
2. (its HTTP half) the first and a deep page of a large segment through GraphQL.
5. Ingestion: `emailEventsRecord` with 1 000 events a request, one client, then several.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import load
from common import HarnessError, Report, ms, ratio
from shapes import Ctx

from app.graphql.pagination import encode_cursor
from app.settings import Settings
from scenarios.pages import FROM_END, PAGE, deep_position, paged_segments

BENCH_DIR = Path(__file__).resolve().parent.parent
CONTACT_FIELDS = (
    "id email firstName lastName createdAt subscriptionStatus emailRisk isCustomer "
    "totalSpentCents lastOpenedAt country tags { name }"
)
CONTACTS_QUERY = "{ contacts(first: 50) { edges { node { " + CONTACT_FIELDS + " } } } }"
GRAPHQL_TARGET, GRAPHQL_GOAL = 0.3, 0.5
INGEST_TARGET = 20_000
BATCH = 1_000
RECORD = (
    "mutation($input: [EmailEventInput!]!) { emailEventsRecord(input: $input) "
    "{ recorded duplicates userErrors { field code message } } }"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def segments_command() -> list[str]:
    script = Path(sys.executable).with_name("segments")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def serve_has_workers() -> bool:
    done = subprocess.run(
        [*segments_command(), "serve", "--help"], capture_output=True, text=True, check=False
    )
    return "--workers" in done.stdout


@dataclass
class Server:
    """A server process of our own (in its own process group, so its uvicorn workers go with
    it), up once /healthz answers."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("wb") as out:
            return subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    async def __aenter__(self) -> Server:
        self.process = self.start()
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise HarnessError(f"{self.name} exited at start:\n{self.tail()}")
                try:
                    response = await client.get(f"http://127.0.0.1:{self.port}/healthz")
                    if response.status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise HarnessError(f"{self.name} did not answer within 90 s:\n{self.tail()}")

    async def __aexit__(self, *exc: object) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)  # the group this Popen created
        for _ in range(100):
            if process.poll() is not None:
                return
            await asyncio.sleep(0.1)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def tail(self) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-30:])


def api_server(url: str, scratch: Path, workers: int = 1) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENTS_")}
    env.pop("REDIS_URL", None)
    env.update(
        DATABASE_URL=url,
        SEGMENTS_ENV="production",
        SEGMENTS_SCHEDULE="false",
        SEGMENTS_GRAPHIQL="false",
        SEGMENTS_LOG_LEVEL="WARNING",
    )
    argv = [*segments_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        argv += ["--workers", str(workers)]
    return Server(
        f"segments serve (workers {workers})", argv, env, port, scratch / f"api-{port}.log"
    )


def bare_server(url: str, scratch: Path, workers: int = 1) -> Server:
    port = free_port()
    # The API's pool size and statement timeout under the settings api_server gives it.
    api = Settings()
    env = dict(
        os.environ,
        BENCH_DATABASE_URL=url,
        BENCH_POOL_SIZE=str(getattr(api, "db_pool_size", 5)),
        BENCH_STATEMENT_TIMEOUT_MS=str(api.statement_timeout_ms),
    )
    argv = [
        sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(BENCH_DIR),
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    if workers > 1:
        argv += ["--workers", str(workers)]
    return Server(
        f"bare endpoint (workers {workers})", argv, env, port, scratch / f"bare-{port}.log"
    )


async def post(client: httpx.AsyncClient, url: str, token: str, body: dict[str, Any]) -> Any:
    response = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise HarnessError(f"{url} answered {response.status_code}: {response.text[:500]}")
    data = response.json()
    if data.get("errors"):
        raise HarnessError(f"{url} answered errors: {json.dumps(data['errors'])[:500]}")
    return data


@dataclass
class HttpSettings:
    generator: str  # wrk or python
    connections: int
    seconds: float
    warmup: float
    page_requests: int  # sequential requests per GraphQL page measurement
    batches: int  # ingestion batches, one client
    clients: int  # concurrent ingestion clients


async def same_answers(api: Server, bare: Server, token: str) -> int:
    """The bare endpoint answers exactly what the API answers: the comparison is fair."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        answers = [
            await post(client, server.url, token, {"query": CONTACTS_QUERY})
            for server in (api, bare)
        ]
    if answers[0] != answers[1]:
        first = answers[0]["data"]["contacts"]["edges"][:1]
        other = answers[1]["data"]["contacts"]["edges"][:1]
        raise HarnessError(
            "the bare endpoint's answer differs from the API's:\n"
            f"  API:  {json.dumps(first)[:600]}\n  bare: {json.dumps(other)[:600]}"
        )
    return len(answers[0]["data"]["contacts"]["edges"])


async def graphql_vs_bare(
    url: str, token: str, scratch: Path, settings: HttpSettings, report: Report
) -> None:
    table = report.table(
        "3. GraphQL over HTTP against the bare Starlette endpoint (PostgreSQL)",
        "server",
        "processes",
        "requests/s",
        "p50 ms",
        "p95 ms",
        "ratio",
    )
    body = json.dumps({"query": CONTACTS_QUERY})
    table.notes.append(
        f"`{CONTACTS_QUERY}`, POSTed by {settings.generator} "
        f"({'wrk -t1' if settings.generator == 'wrk' else 'asyncio + httpx, in the harness'}), "
        f"{settings.connections} connections, {settings.seconds:.0f} s after a "
        f"{settings.warmup:.0f} s warm-up; the load generator runs on the same two cores. "
        "Ratio: GraphQL's requests/s to the bare endpoint's with as many processes. Both "
        "answers are checked to be the same JSON first."
    )
    workers_options = [1, 2] if serve_has_workers() else [1]
    if workers_options == [1]:
        table.notes.append(
            "`segments serve` has no `--workers` option yet: the two-process rows are skipped."
        )
        report.target(3, "GraphQL with --workers 2 (not measured)", None, "no --workers option")
    for workers in workers_options:
        async with (
            api_server(url, scratch, workers) as api,
            bare_server(url, scratch, workers) as bare,
        ):
            edges = await same_answers(api, bare, token)
            if edges != PAGE:
                raise HarnessError(f"contacts(first: 50) gave {edges} edges")
            results = {}
            for name, server in (
                ("bare Starlette + asyncpg", bare),
                ("GraphQL (segments serve)", api),
            ):
                results[name] = await load.run(
                    settings.generator, server.url, body, token,
                    connections=settings.connections, seconds=settings.seconds,
                    warmup=settings.warmup,
                )  # fmt: skip
        base = results["bare Starlette + asyncpg"].rps
        for name, result in results.items():
            table.add(
                name, workers, f"{result.rps:,.0f}", f"{result.p50_ms:.1f}",
                f"{result.p95_ms:.1f}", ratio(result.rps / base),
            )  # fmt: skip
        share = results["GraphQL (segments serve)"].rps / base
        report.target(
            3,
            f"GraphQL at least {GRAPHQL_TARGET}x the bare endpoint ({workers} process"
            f"{'es' if workers > 1 else ''}; goal {GRAPHQL_GOAL}x)",
            share >= GRAPHQL_TARGET,
            f"{share:.2f}x ({results['GraphQL (segments serve)'].rps:,.0f} against "
            f"{base:,.0f} requests/s; goal {GRAPHQL_GOAL}x "
            f"{'met' if share >= GRAPHQL_GOAL else 'missed'})",
        )
        print(f"  GraphQL/bare with {workers} process(es): {share:.2f}x", flush=True)


async def graphql_pages(
    api: Server, token: str, ctx: Ctx, settings: HttpSettings, report: Report
) -> None:
    """Scenario 2 through GraphQL: the first and a deep page of 50 of each paged segment."""
    table = report.table(
        "2. A page of 50 members, first and near the end, through GraphQL (PostgreSQL)",
        "segment",
        "page",
        "median ms",
        "ratio",
    )
    table.notes.append(
        f"`contacts(filter, orderBy, first: 50, after)` with the fields of scenario 3, "
        f"{settings.page_requests} sequential requests each after a warm-up, medians of the "
        f"request time; the deep page starts {FROM_END} members before the end."
    )
    from app.filters import codec

    async with httpx.AsyncClient(timeout=60.0) as client:
        for segment in paged_segments(ctx):
            position = await deep_position(ctx, segment, codec.parse(segment.filter))
            order_key = f"{segment.order.field}:{'desc' if segment.order.descending else 'asc'}"
            cursor = encode_cursor(order_key, position.keyset.value, position.keyset.id)
            text = (
                "query($filter: ContactFilter, $after: String) { contacts(filter: $filter, "
                f"orderBy: {segment.graphql_order}, first: {PAGE}, after: $after) "
                f"{{ edges {{ node {{ {CONTACT_FIELDS} }} }} }} }}"
            )
            pages = {
                "first page": {"query": text, "variables": {"filter": segment.filter}},
                "deep page": {
                    "query": text,
                    "variables": {"filter": segment.filter, "after": cursor},
                },
            }
            medians = {}
            for name, body in pages.items():
                answer = await post(client, api.url, token, body)
                edges = answer["data"]["contacts"]["edges"]
                if len(edges) != PAGE:
                    raise HarnessError(f"GraphQL {segment.key} {name}: {len(edges)} edges")
                seconds = []
                for _ in range(settings.page_requests):
                    started = time.perf_counter()
                    await post(client, api.url, token, body)
                    seconds.append(time.perf_counter() - started)
                medians[name] = statistics.median(seconds)
            base = medians["first page"]
            for name, seconds_ in medians.items():
                table.add(segment.title, name, ms(seconds_), ratio(seconds_ / base))
            report.target(
                2,
                f"deep page within 1.5x the first: {segment.title} (GraphQL)",
                medians["deep page"] / base <= 1.5,
                f"{medians['deep page'] / base:.2f}x",
            )


BACKUP = "bench_ingest_backup"


async def restore_ingested(url: str, account_id: int) -> None:
    """Take the ingestion's events out and put the contacts they touched back as they were
    (also after a run that died midway), so a kept database stays the generated one."""
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval(f"SELECT to_regclass('{BACKUP}') IS NOT NULL"):
            columns = [
                r["column_name"]
                for r in await conn.fetch(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'contacts' AND column_name <> 'id' "
                    "ORDER BY ordinal_position"
                )
            ]
            names = ", ".join(columns)
            values = ", ".join(f"b.{c}" for c in columns)
            await conn.execute(
                "DELETE FROM email_events WHERE account_id = $1 AND external_id LIKE 'bench-%'",
                account_id,
            )
            await conn.execute(
                f"UPDATE contacts c SET ({names}) = ({values}) FROM {BACKUP} b WHERE c.id = b.id"
            )
            await conn.execute(f"DROP TABLE {BACKUP}")
            await conn.execute("VACUUM ANALYZE contacts, email_events")
    finally:
        await conn.close()


async def ingestion(
    url: str,
    api: Server,
    token: str,
    ctx: Ctx,
    contacts: int,
    settings: HttpSettings,
    report: Report,
) -> None:
    """Scenario 5: email events through `emailEventsRecord`, 1 000 a request, for a pool of
    existing contacts (several events per contact per batch, as a provider's webhook sends
    them), unique externalIds; one client, then several at once."""
    await restore_ingested(url, ctx.account_id)
    pool_size = min(20_000, contacts)
    conn = await asyncpg.connect(url)
    try:
        people = await conn.fetch(
            "SELECT id, email FROM contacts WHERE account_id = $1 ORDER BY random() LIMIT $2",
            ctx.account_id,
            pool_size,
        )
        await conn.execute(
            f"CREATE TABLE {BACKUP} AS SELECT * FROM contacts WHERE account_id = $1 "
            "AND id = ANY($2::bigint[])",
            ctx.account_id,
            [r["id"] for r in people],
        )
    finally:
        await conn.close()
    emails = [r["email"] for r in people]
    rng = random.Random(7)
    run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    counter = iter(range(10**9))
    kinds = ["SENT"] * 40 + ["DELIVERED"] * 35 + ["OPENED"] * 18 + ["CLICKED"] * 5
    kinds += ["BOUNCED_SOFT"] * 2

    def batch() -> dict[str, Any]:
        now = datetime.now(UTC)
        items = [
            {
                "email": rng.choice(emails),
                "kind": rng.choice(kinds),
                "occurredAt": (now - timedelta(seconds=rng.uniform(0, 3600))).isoformat(),
                "campaign": "bench-ingest",
                "externalId": f"bench-{run}-{next(counter)}",
            }
            for _ in range(BATCH)
        ]
        return {"query": RECORD, "variables": {"input": items}}

    async def send(client: httpx.AsyncClient, body: dict[str, Any]) -> int:
        answer = (await post(client, api.url, token, body))["data"]["emailEventsRecord"]
        if answer["userErrors"] or answer["recorded"] != BATCH or answer["duplicates"]:
            raise HarnessError(f"emailEventsRecord answered {json.dumps(answer)[:500]}")
        return int(answer["recorded"])

    table = report.table(
        "5. Ingestion: email events through emailEventsRecord (PostgreSQL)",
        "clients",
        "batches",
        "events",
        "seconds",
        "events/s",
        "median ms a batch",
    )
    table.notes.append(
        f"Batches of {BATCH:,} events (SENT 40%, DELIVERED 35%, OPENED 18%, CLICKED 5%, "
        f"BOUNCED_SOFT 2%) for {pool_size:,} existing contacts, unique externalIds, POSTed to "
        "`segments serve` (one process) after one warm-up batch; the events and the contacts' "
        "fields are put back afterwards."
    )
    try:
        async with httpx.AsyncClient(timeout=120.0) as client:
            await send(client, batch())  # warm-up
            for clients, batches in ((1, settings.batches), (settings.clients, settings.batches)):
                bodies = [batch() for _ in range(batches)]
                per_batch: list[float] = []

                async def worker(
                    mine: list[dict[str, Any]], per_batch: list[float] = per_batch
                ) -> int:
                    recorded = 0
                    for body in mine:
                        started = time.perf_counter()
                        recorded += await send(client, body)
                        per_batch.append(time.perf_counter() - started)
                    return recorded

                started = time.perf_counter()
                recorded = sum(
                    await asyncio.gather(*(worker(bodies[i::clients]) for i in range(clients)))
                )
                seconds = time.perf_counter() - started
                rate = recorded / seconds
                table.add(
                    clients, batches, f"{recorded:,}", f"{seconds:.2f}", f"{rate:,.0f}",
                    ms(statistics.median(per_batch)),
                )  # fmt: skip
                report.target(
                    5,
                    f"ingestion at least {INGEST_TARGET:,} events/s ({clients} client"
                    f"{'s' if clients > 1 else ''})",
                    rate >= INGEST_TARGET,
                    f"{rate:,.0f} events/s",
                )
                print(f"  ingestion, {clients} client(s): {rate:,.0f} events/s", flush=True)
    finally:
        await restore_ingested(url, ctx.account_id)
