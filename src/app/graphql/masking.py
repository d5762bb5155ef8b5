"""Errors that may reach a client, and the rest: an unexpected exception is logged with the
request id and answered as a masked error, never with its text or a traceback."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from app.graphql.errors import PublicError

log = logging.getLogger("app.graphql")


def is_statement_timeout(error: BaseException | None) -> bool:
    while error is not None:
        if type(error).__name__ == "QueryCanceledError":
            return True
        error = error.__cause__ or error.__context__
    return False


def _is_public(error: GraphQLError) -> bool:
    """A GraphQL error all the way down is about the request (a syntax or validation error, a
    variable that doesn't coerce, a PublicError); an error caused by any other exception is
    a fault."""
    cause: BaseException | None = error
    while isinstance(cause, GraphQLError):
        if cause.original_error is None or isinstance(cause, PublicError):
            return True
        cause = cause.original_error
    return False


class MaskFaults(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _is_public(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = getattr(self.execution_context.context, "request_id", "-")
        original = error.original_error
        if is_statement_timeout(original):
            message = "The query ran past the statement timeout; narrow it or try again later."
            code = "STATEMENT_TIMEOUT"
        else:
            log.error("request %s failed at %s", request_id, error.path, exc_info=original)
            message = f"Internal server error (request id {request_id})."
            code = "INTERNAL_SERVER_ERROR"
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": code, "requestId": request_id},
        )
