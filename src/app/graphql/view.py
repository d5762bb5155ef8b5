"""GraphQL over HTTP: bearer authentication in front of Strawberry's ASGI view."""

from __future__ import annotations

import logging
import re
import uuid

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse

from app import clock
from app.auth import authenticate, bearer_token
from app.graphiql import page as graphiql_page
from app.graphql.context import Context
from app.graphql.schema import schema
from app.graphql.transport import (
    GRAPHQL_RESPONSE,
    JSON,
    AsciiJSONResponse,
    encode_utf8,
    error_response,
    is_mutation,
    is_request_error,
    preferred_media,
    read_body,
    read_json,
    replay,
)
from app.limits import MAX_BODY_BYTES


class GraphQLView(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = error_response(exc.reason, exc.status_code)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        return read_json(data)

    def encode_json(self, data: object) -> bytes:
        return encode_utf8(data)

    async def get_sub_response(self, request: Request) -> Response:  # type: ignore[override]
        sub_response = await super().get_sub_response(request)
        sub_response.headers["X-Media"] = preferred_media(request.headers.get("accept"))
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        media = sub_response.headers.get("X-Media", JSON)
        del sub_response.headers["X-Media"]
        response = super().create_response(response_data, sub_response)
        if media == GRAPHQL_RESPONSE and isinstance(response_data, dict):
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
            if is_request_error(dict(response_data)):
                body = {k: v for k, v in response_data.items() if k != "data"}
                encoded = self.encode_json(body)
                response.body = encoded.encode() if isinstance(encoded, str) else encoded
                response.headers["content-length"] = str(len(response.body))
                response.status_code = 400
        return response

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        state = request.scope["state"]
        response.headers["X-Request-ID"] = state["request_id"]
        return Context(
            request=request,
            response=response,
            account=state["account"],
            request_id=state["request_id"],
            now=clock.now(),
        )


log = logging.getLogger("app.graphql")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id(given: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new one (it goes into logs)."""
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


def unauthorized(message: str) -> JSONResponse:
    return AsciiJSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="segments"'},
    )


class AuthenticatedGraphQL:
    """Answers 401 without a valid token; GraphiQL's page itself needs none (it is ours, with
    its assets served by the app: app.graphiql)."""

    def __init__(self, graphiql: bool) -> None:
        self.view = GraphQLView(schema, graphql_ide=None)
        self.graphiql = graphiql

    def _is_ide_page(self, request: Request) -> bool:
        return (
            self.graphiql
            and request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The last guard: a fault anywhere before GraphQL's own masking is logged with a
        request id and answered as a GraphQL error body, never as a bare 500 page."""
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        ident = request_id(Request(scope).headers.get("x-request-id"))
        try:
            await self._handle(scope, receive, watched, ident)
        except Exception:
            log.exception("request %s failed before GraphQL could answer", ident)
            if started:
                raise
            fault = AsciiJSONResponse(
                {
                    "errors": [
                        {
                            "message": f"Internal server error (request id {ident}).",
                            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": ident},
                        }
                    ]
                },
                status_code=500,
                headers={"X-Request-ID": ident},
            )
            await fault(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, ident: str) -> None:
        body = await read_body(receive, Request(scope).headers.get("content-length"))
        if body is None:
            refusal = error_response(
                f"The request body is larger than {MAX_BODY_BYTES} bytes.", 413
            )
            await refusal(scope, receive, send)
            return
        receive = replay(body)
        request = Request(scope, receive)
        if self._is_ide_page(request):
            page = graphiql_page(scope.get("root_path", ""))
            await HTMLResponse(page)(scope, receive, send)
            return
        query = request.query_params.get("query")
        if (
            request.method == "GET"
            and query
            and is_mutation(query, request.query_params.get("operationName"))
        ):
            refusal = error_response("Mutations must be sent with POST.", 405, {"Allow": "POST"})
            await refusal(scope, receive, send)
            return
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            refusal = unauthorized("Authentication required: send Authorization: Bearer <token>.")
            await refusal(scope, receive, send)
            return
        account = await authenticate(token)
        if account is None:
            await unauthorized("The token is invalid or revoked.")(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["account"] = account
        state["request_id"] = ident
        await self.view(scope, receive, send)
