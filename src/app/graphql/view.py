"""GraphQL over HTTP: bearer authentication in front of Strawberry's ASGI view."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from app.auth import authenticate, bearer_token
from app.graphql.context import Context
from app.graphql.schema import schema


class GraphQLView(GraphQL[Context, None]):
    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        state = request.scope["state"]
        response.headers["X-Request-ID"] = state["request_id"]
        return Context(
            request=request,
            response=response,
            account=state["account"],
            request_id=state["request_id"],
            now=datetime.now(UTC),
        )


def unauthorized(message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="segments"'},
    )


class AuthenticatedGraphQL:
    """Answers 401 without a valid token; GraphiQL's page itself needs none."""

    def __init__(self, graphiql: bool) -> None:
        self.view = GraphQLView(schema, graphql_ide="graphiql" if graphiql else None)
        self.graphiql = graphiql

    def _is_ide_page(self, request: Request) -> bool:
        return (
            self.graphiql
            and request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if self._is_ide_page(request):
            await HTMLResponse(self.view.graphql_ide_html)(scope, receive, send)
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
        state["request_id"] = request.headers.get("x-request-id") or uuid.uuid4().hex
        await self.view(scope, receive, send)
