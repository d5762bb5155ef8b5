"""GET /segments/<id>/members.csv: who may export, what the CSV holds, and that it streams with
memory that does not grow with the segment."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import secrets
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.data import UPSERT
from api.support import Api
from app.db import analyze, connection, dialect
from app.filters.sql import time_param
from app.main import create_app
from app.models import Account, Segment
from app.services.accounts import create_account, issue_token
from app.services.export import BATCH, FIXED_COLUMNS, members_csv
from app.settings import Settings

CREATE = """
mutation($input: SegmentInput!) { segmentCreate(input: $input) { segment { id } userErrors { code } } }"""
SEGMENTS = "{ segments { edges { node { id defaultKey } } } }"


def url(segment_id: str) -> str:
    return f"/segments/{segment_id}/members.csv"


def auth(api: Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}"}


async def default_segment(api: Api, key: str = "ALL_CONTACTS") -> str:
    edges = (await api.run(SEGMENTS))["segments"]["edges"]
    return str(next(e["node"]["id"] for e in edges if e["node"]["defaultKey"] == key))


async def export(api: Api, segment_id: str) -> list[dict[str, str]]:
    response = await api.client.get(url(segment_id), headers=auth(api))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_members_with_tags_and_custom_fields_in_columns(api: Api) -> None:
    contacts = [
        {
            "email": "ada@example.com",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "subscriptionStatus": "SUBSCRIBED",
            "tags": ["vip", "Beta"],
            "customFields": {"plan": "pro", "score": 12, "meta": {"a": [1]}, "ok": True},
        },
        {"email": "bob@example.com", "firstName": "Bob", "tags": ["vip"]},
        {"email": "cy@example.com", "customFields": {"outside": "x"}},
    ]
    assert (await api.run(UPSERT, {"input": contacts}))["contactsUpsert"]["userErrors"] == []
    created = await api.run(
        CREATE, {"input": {"name": "VIPs", "filter": {"tags": {"hasAny": ["vip"]}}}}
    )
    segment = created["segmentCreate"]["segment"]["id"]

    response = await api.client.get(url(segment), headers=auth(api))
    header = next(csv.reader(io.StringIO(response.text)))
    rows = await export(api, segment)

    # The custom columns are the members' keys (not cy's), sorted, after the fixed ones.
    assert header == [*FIXED_COLUMNS, "meta", "ok", "plan", "score"]
    assert response.text.endswith("\r\n")
    ada, bob = sorted(rows, key=lambda row: row["email"])
    assert {k: v for k, v in ada.items() if k != "created_at"} == {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "subscription_status": "SUBSCRIBED",
        "tags": "Beta;vip",
        "meta": '{"a":[1]}',
        "ok": "true",
        "plan": "pro",
        "score": "12",
    }
    created_at = datetime.fromisoformat(ada["created_at"])
    assert created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created_at) < timedelta(minutes=5)
    assert (bob["first_name"], bob["last_name"], bob["tags"], bob["plan"]) == ("Bob", "", "vip", "")


async def test_cells_a_spreadsheet_would_run_are_neutralised(api: Api) -> None:
    hostile = {
        "email": "=1+2@example.com",
        "firstName": '=HYPERLINK("http://evil")',
        "lastName": "@SUM(A1)",
        "tags": ["+danger"],
        "customFields": {"a": "-2+3", "b": -5, "c": "\tx", "d": "plain", "=key": "+1"},
    }
    assert (await api.run(UPSERT, {"input": [hostile]}))["contactsUpsert"]["userErrors"] == []

    response = await api.client.get(url(await default_segment(api)), headers=auth(api))
    header, row = list(csv.reader(io.StringIO(response.text)))

    assert header[len(FIXED_COLUMNS) :] == ["'=key", "a", "b", "c", "d"]
    assert row[:5] == [
        "'=1+2@example.com",
        '\'=HYPERLINK("http://evil")',
        "'@SUM(A1)",
        "NEVER_SUBSCRIBED",
        "'+danger",
    ]
    # A number stays a number; text that looks like one is text.
    assert row[len(FIXED_COLUMNS) :] == ["'+1", "'-2+3", "-5", "'\tx", "plain"]


async def test_every_segment_kind_exports(api: Api) -> None:
    upserts = [{"email": f"u{i}@example.com", "subscriptionStatus": "SUBSCRIBED"} for i in range(3)]
    upserts.append({"email": "gone@example.com", "subscriptionStatus": "UNSUBSCRIBED"})
    assert (await api.run(UPSERT, {"input": upserts}))["contactsUpsert"]["userErrors"] == []
    subscribed = await default_segment(api, "SUBSCRIBED")
    inner = (
        await api.run(
            CREATE, {"input": {"name": "Inner", "filter": {"segment": {"in": subscribed}}}}
        )
    )["segmentCreate"]["segment"]["id"]
    outer = (
        await api.run(
            CREATE,
            {"input": {"name": "Outer", "filter": {"not": {"segment": {"in": inner}}}}},
        )
    )["segmentCreate"]["segment"]["id"]

    assert len(await export(api, await default_segment(api))) == 4
    assert len(await export(api, subscribed)) == 3
    assert [row["email"] for row in await export(api, outer)] == ["gone@example.com"]
    assert await export(api, await default_segment(api, "EXCLUDED")) == []


async def test_who_may_export_what(api: Api, other: Api) -> None:
    mine = await default_segment(api)
    theirs = await default_segment(other)
    pk = base64.b64decode(mine).decode().partition(":")[2]

    missing = await api.client.get(url(mine))
    assert missing.status_code == 401
    assert missing.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    bad = await api.client.get(url(mine), headers={"Authorization": "Bearer sgt_nope"})
    assert bad.status_code == 401
    for segment_id in (theirs, pk, "junk", base64.b64encode(b"Contact:1").decode()):
        response = await api.client.get(url(segment_id), headers=auth(api))
        assert response.status_code == 404, segment_id
        assert response.json() == {"errors": [{"message": "No such segment."}]}
    assert (await api.client.post(url(mine), headers=auth(api))).status_code == 405


class QueryCanceledError(Exception):
    """Named as asyncpg names a statement timeout."""


async def test_a_fault_before_the_first_byte_is_answered(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    segment = await default_segment(api)

    async def failing(*args: Any, **kwargs: Any) -> AsyncIterator[str]:
        raise fault
        yield ""

    monkeypatch.setattr("app.exports.members_csv", failing)
    fault: Exception = RuntimeError("secret detail")
    crashed = await api.client.get(url(segment), headers={**auth(api), "X-Request-ID": "r-1"})
    fault = QueryCanceledError("canceling statement due to statement timeout")
    timed_out = await api.client.get(url(segment), headers=auth(api))

    assert crashed.status_code == 500
    assert crashed.json() == {"errors": [{"message": "Internal server error (request id r-1)."}]}
    assert "secret detail" not in crashed.text and "r-1" in caplog.text
    assert timed_out.status_code == 503
    assert "statement timeout" in timed_out.json()["errors"][0]["message"]


# ---------------------------------------------------------------------------- large exports


async def seed_members(count: int) -> Account:
    """An account with `count` contacts, each with a tag and custom fields, inserted by SQL."""
    account = (await create_account(f"Export {secrets.token_hex(3)}")).account
    kind = dialect()
    numbers = (
        "generate_series(1, ?) AS n(i)"
        if kind == "postgres"
        else "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "SELECT i FROM n) AS n"
    )
    text, json = ("::text", "::jsonb") if kind == "postgres" else ("", "")
    moment = time_param(datetime.now(UTC), kind)
    statements: list[tuple[str, list[Any]]] = [
        (
            "INSERT INTO contacts (account_id, email, email_lower, first_name, created_at,"
            " updated_at, subscription_status, email_risk, is_customer, is_inactive,"
            " is_hard_bounced, is_excluded, sends_since_engagement, soft_bounces,"
            " total_spent_cents, custom_fields)"
            f" SELECT ?, 'user' || i{text} || '@example.com', 'user' || i{text} || '@example.com',"
            f" 'User ' || i{text}, ?, ?, 'SUBSCRIBED', 'VALID', false, false, false, false, 0, 0,"
            f' 0, (\'{{"plan": "pro", "seat": \' || i{text} || \'}}\'){json} FROM {numbers}',
            [account.id, moment, moment, count],
        ),
        (
            "INSERT INTO tags (account_id, name, name_lower, created_at) VALUES (?, 'vip', 'vip', ?)",
            [account.id, moment],
        ),
        (
            "INSERT INTO contact_tags (account_id, contact_id, tag_id, created_at)"
            " SELECT c.account_id, c.id, t.id, ? FROM contacts c JOIN tags t"
            " ON t.account_id = c.account_id WHERE c.account_id = ?",
            [moment, account.id],
        ),
    ]
    for statement, params in statements:
        if kind == "postgres":
            for number in range(1, statement.count("?") + 1):
                statement = statement.replace("?", f"${number}", 1)
        await connection().execute_query(statement, params)
    await analyze(["contacts", "contact_tags", "tags"])  # as after every bulk load
    return account


async def warm_up(account: Account) -> None:
    """The header and a first batch: what runs once per process is not the export's peak."""
    segment = await Segment.get(account=account, default_key="ALL_CONTACTS")
    chunks = members_csv(account.id, segment)
    await anext(chunks)
    await anext(chunks)
    await chunks.aclose()


async def peak_of_export(account: Account) -> tuple[int, int]:
    """The export's peak of traced memory, and the lines it wrote."""
    segment = await Segment.get(account=account, default_key="ALL_CONTACTS")
    lines = 0
    tracemalloc.start()
    try:
        async for chunk in members_csv(account.id, segment):
            lines += chunk.count("\r\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, lines


async def test_memory_does_not_grow_with_the_segment(db: str, is_postgres: bool) -> None:
    if is_postgres:
        pytest.skip("measured on SQLite: the export's Python is the same on both")
    small, large = await seed_members(10_000), await seed_members(100_000)
    try:
        await warm_up(small)
        small_peak, small_lines = await peak_of_export(small)
        large_peak, large_lines = await peak_of_export(large)
    finally:
        for account in (small, large):
            await account.delete()

    assert (small_lines, large_lines) == (10_001, 100_001)
    # Ten times the members, about the same peak: one batch of BATCH members at a time.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)
    assert large_peak < 20_000_000, large_peak


async def test_the_route_streams_batch_by_batch(db: str) -> None:
    account = await seed_members(BATCH * 2 + 10)
    try:
        segment = await Segment.get(account=account, default_key="ALL_CONTACTS")
        token = await issue_token(account)
        chunks = await asgi_chunks(
            db, url(base64.b64encode(f"Segment:{segment.id}".encode()).decode()), token
        )
    finally:
        await account.delete()

    # The header, then one chunk per batch: the body is never built whole.
    assert len(chunks) >= 4
    assert sum(chunk.count(b"\r\n") for chunk in chunks) == BATCH * 2 + 11


async def asgi_chunks(db: str, path: str, token: str) -> list[bytes]:
    """The body chunks the app sends, as the server would write them."""
    app = create_app(Settings(database_url=db))
    sent: list[dict[str, Any]] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await never.wait()  # the client stays: no disconnect while the body streams
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
        "scheme": "http",
        "server": ("test", 80),
        "client": ("test", 1),
        "root_path": "",
        "http_version": "1.1",
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 200
    return [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]
