"""GraphQL over HTTP, as its specification says: JSON error bodies, 405 for a mutation over
GET, and the `application/graphql-response+json` media type when the client asks for it (then a
request that can't be executed is answered 400 without `data`)."""

from __future__ import annotations

import re
from typing import Any

from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError
from starlette.responses import JSONResponse

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_MEDIA = re.compile(r"\s*([^;,\s]+)\s*(?:;\s*q=([0-9.]+))?")


def preferred_media(accept: str | None) -> str:
    """application/graphql-response+json if the client prefers it, else application/json."""
    if not accept:
        return JSON
    best, best_q = JSON, -1.0
    for part in accept.split(","):
        match = _MEDIA.match(part)
        if not match:
            continue
        media, quality = match.group(1).lower(), float(match.group(2) or 1)
        if media in (GRAPHQL_RESPONSE, JSON) and quality > best_q:
            best, best_q = media, quality
    return best


def is_request_error(data: dict[str, Any]) -> bool:
    """Errors that stopped execution before it began carry no path (syntax, validation)."""
    errors = data.get("errors") or []
    return data.get("data") is None and bool(errors) and all(not e.get("path") for e in errors)


def error_response(
    message: str, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message}]}, status_code=status, headers=headers)


def is_mutation(query: str, operation_name: str | None) -> bool:
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return False  # the view reports it
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    elif len(operations) != 1:
        return False
    return any(o.operation is OperationType.MUTATION for o in operations)
