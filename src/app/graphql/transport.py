"""GraphQL over HTTP, as its specification says: JSON error bodies, 405 for a mutation over
GET, and the `application/graphql-response+json` media type when the client asks for it (then a
request that can't be executed is answered 400 without `data`)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError
from starlette.responses import JSONResponse
from starlette.types import Message, Receive

from app.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH

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
        try:
            media, quality = match.group(1).lower(), float(match.group(2) or 1)
        except ValueError:  # a malformed weight: the part doesn't count
            continue
        if media in (GRAPHQL_RESPONSE, JSON) and quality > best_q:
            best, best_q = media, quality
    return best


def is_request_error(data: dict[str, Any]) -> bool:
    """Errors that stopped execution before it began carry no path (syntax, validation)."""
    errors = data.get("errors") or []
    return data.get("data") is None and bool(errors) and all(not e.get("path") for e in errors)


# A UTF-16 surrogate escape that isn't half of a pair: what JSON writes for a lone surrogate.
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def encode(content: Any) -> str:
    """JSON escaped to ASCII, with any lone surrogate (an error quoting a request's bad text)
    written as U+FFFD: every response is valid Unicode."""
    text = json.dumps(content, separators=(",", ":"))
    return _LONE_SURROGATE.sub(r"\\ufffd", text) if "\\ud" in text.lower() else text


# orjson leaves to `default` what plain JSON would not write either (dataclasses, times, str
# and int subclasses...): refused there, they take the slow path, which writes or refuses them
# exactly as before.
_STRICT = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def encode_utf8(content: Any) -> bytes:
    """JSON as UTF-8, fast (orjson). What orjson refuses (a lone surrogate, which is not
    Unicode; an integer beyond 64 bits; a key that is not text; any other type) goes through
    `encode`: ASCII, with U+FFFD for a lone surrogate. Either way, valid JSON of valid Unicode."""
    try:
        return orjson.dumps(content, option=_STRICT)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return encode(content).encode("ascii")


class AsciiJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return encode(content).encode("ascii")


def error_response(
    message: str, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    return AsciiJSONResponse(
        {"errors": [{"message": message}]}, status_code=status, headers=headers
    )


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


def _refuse(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")


def read_json(data: str | bytes) -> object:
    """A request's JSON, strictly: no NaN or Infinity (they are not JSON, and would come back
    in responses no client can read), nesting at most MAX_JSON_DEPTH. A 400 otherwise."""
    too_deep = f"The request's JSON nests deeper than {MAX_JSON_DEPTH} levels."
    try:
        value = json.loads(data, parse_constant=_refuse)
    except RecursionError:
        raise HTTPException(400, too_deep) from None
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(
            400, "The request is not valid JSON (NaN and Infinity are not JSON)."
        ) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise HTTPException(400, too_deep)
    if not isinstance(value, dict | list):
        raise HTTPException(400, "A GraphQL request is a JSON object: query, variables, ...")
    return value


def _depth(value: object) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                break
            items = current.values() if isinstance(current, dict) else current
            stack.extend((item, depth + 1) for item in items)
    return deepest


async def read_body(receive: Receive, declared: str | None) -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY_BYTES (stopping as soon as
    it says or shows so, without reading the rest)."""
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def replay(body: bytes) -> Receive:
    """A `receive` that hands the already read body to the next application."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
