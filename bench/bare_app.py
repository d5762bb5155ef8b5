"""The bare endpoint GraphQL is measured against (scenario 3): a Starlette app that answers
`{ contacts(first: 50) { edges { node { id email firstName lastName createdAt
subscriptionStatus emailRisk isCustomer totalSpentCents lastOpenedAt country tags { name } } } }
}` by running the statements the API runs for it (the token's lookup, the keyset page, the page's
contact rows, their tags) with asyncpg and writing the same JSON by hand: no GraphQL, no ORM.

    BENCH_DATABASE_URL=postgres://... uvicorn bare_app:app --app-dir bench --port 8001
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PAGE = 50
TOKEN_PREFIX = "sgt_"
AUTH = (
    "SELECT t.id, t.secret_hash, t.account_id FROM api_tokens t "
    "LEFT OUTER JOIN accounts a ON a.id = t.account_id "
    "WHERE t.key = $1 AND t.revoked_at IS NULL LIMIT 1"
)
# As app.filters.query.page writes it for no filter, CREATED_AT ascending.
PAGE_IDS = (
    "SELECT c.id, c.created_at AS sort_value FROM contacts c WHERE c.account_id = $1 "
    "AND (1 = 1) ORDER BY c.created_at ASC NULLS LAST, c.id ASC LIMIT $2"
)


def _in(count: int) -> str:
    return ", ".join(f"${n}" for n in range(2, count + 2))


def contacts_sql(count: int) -> str:
    return f"SELECT * FROM contacts WHERE account_id = $1 AND id IN ({_in(count)})"


def tags_sql(count: int) -> str:
    return (
        "SELECT ct.contact_id, t.name, t.name_lower FROM contact_tags ct "
        "LEFT OUTER JOIN tags t ON t.id = ct.tag_id "
        f"WHERE ct.account_id = $1 AND ct.contact_id IN ({_in(count)})"
    )


def global_id(pk: int) -> str:
    return base64.b64encode(f"Contact:{pk}".encode()).decode()


def iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


def error(status: int, message: str) -> Response:
    body = json.dumps({"errors": [{"message": message}]}, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json")


async def authenticate(pool: asyncpg.Pool, header: str | None) -> int | None:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
        return None
    key, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    row = await pool.fetchrow(AUTH, key)
    digest = hashlib.sha256(secret.encode()).hexdigest()
    if row is None or not hmac.compare_digest(digest, row["secret_hash"]):
        return None
    return int(row["account_id"])


async def graphql(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    payload = json.loads(await request.body())
    if not isinstance(payload, dict) or "query" not in payload:
        return error(400, "No query.")
    account = await authenticate(pool, request.headers.get("authorization"))
    if account is None:
        return error(401, "The token is invalid or revoked.")
    page = await pool.fetch(PAGE_IDS, account, PAGE + 1)
    ids = [int(row["id"]) for row in page[:PAGE]]
    edges = []
    if ids:
        rows = {r["id"]: r for r in await pool.fetch(contacts_sql(len(ids)), account, *ids)}
        tags: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for r in await pool.fetch(tags_sql(len(ids)), account, *ids):
            tags[r["contact_id"]].append((r["name_lower"], r["name"]))
        for pk in ids:
            c = rows[pk]
            edges.append(
                {
                    "node": {
                        "id": global_id(pk),
                        "email": c["email"],
                        "firstName": c["first_name"],
                        "lastName": c["last_name"],
                        "createdAt": iso(c["created_at"]),
                        "subscriptionStatus": c["subscription_status"],
                        "emailRisk": c["email_risk"],
                        "isCustomer": c["is_customer"],
                        "totalSpentCents": c["total_spent_cents"],
                        "lastOpenedAt": iso(c["last_opened_at"]),
                        "country": c["country"],
                        "tags": [{"name": name} for _, name in sorted(tags[pk])],
                    }
                }
            )
    body = json.dumps({"data": {"contacts": {"edges": edges}}}, separators=(",", ":"))
    return Response(body, media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response("ok")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # The pool size and statement timeout the API's connections have (the harness passes them).
    timeout = os.environ.get("BENCH_STATEMENT_TIMEOUT_MS", "10000")
    app.state.pool = await asyncpg.create_pool(
        os.environ["BENCH_DATABASE_URL"],
        min_size=1,
        max_size=int(os.environ.get("BENCH_POOL_SIZE", "5")),
        server_settings={"statement_timeout": timeout},
    )
    try:
        yield
    finally:
        await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/graphql", graphql, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ],
    lifespan=lifespan,
)
