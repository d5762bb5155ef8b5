"""GET /segments/<segment id>/members.csv: a segment's members as CSV, streamed, with the same
bearer token as the GraphQL API. The segment is named by its ID as the API shows it (the
global ID), like everything the API takes; anything else is not found."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.auth import authenticate, bearer_token
from app.filters.ids import from_global_id
from app.graphql.masking import is_statement_timeout
from app.graphql.transport import error_response
from app.graphql.view import request_id, unauthorized
from app.models import Segment
from app.services.export import members_csv

log = logging.getLogger("app.exports")


async def segment_members_csv(request: Request) -> Response:
    """A fault before the CSV starts is logged with a request id and answered as JSON, as
    the GraphQL endpoint answers one; once it streams, the connection is cut."""
    ident = request_id(request.headers.get("x-request-id"))
    try:
        return await _answer(request)
    except Exception as exc:
        if is_statement_timeout(exc):
            return error_response(
                "The export ran past the statement timeout; `segments export` has none.",
                503,
                {"X-Request-ID": ident},
            )
        log.exception("export %s failed before it started", ident)
        return error_response(
            f"Internal server error (request id {ident}).", 500, {"X-Request-ID": ident}
        )


async def _answer(request: Request) -> Response:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return unauthorized("Authentication required: send Authorization: Bearer <token>.")
    account = await authenticate(token)
    if account is None:
        return unauthorized("The token is invalid or revoked.")
    pk = from_global_id(request.path_params["segment_id"], "Segment")
    segment = await Segment.get_or_none(account=account, id=pk) if pk else None
    if segment is None:
        return error_response("No such segment.", 404)
    chunks = members_csv(account.id, segment)
    # The header needs the custom field keys: read before the answer starts, so a fault
    # there is still answered as one.
    header = await anext(chunks)
    return StreamingResponse(
        _then(header, chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="segment-{pk}-members.csv"'},
    )


async def _then(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    yield first
    async for chunk in rest:
        yield chunk
