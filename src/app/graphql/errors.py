"""User errors (business failures, in payloads) and public errors (malformed requests, shown as
top-level errors). Anything else is a fault: logged with the request id and masked."""

from __future__ import annotations

import re
from collections.abc import Iterable

import strawberry
from graphql import GraphQLError

from app.graphql import enums  # noqa: F401 - registers UserErrorCode
from app.services.errors import DomainError, ItemError
from app.services.errors import ErrorCode as UserErrorCode


@strawberry.type
class UserError:
    message: str
    field: list[str] | None
    code: UserErrorCode


class PublicError(GraphQLError):
    """An error whose message is meant for the client (a bad argument, a timeout)."""

    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message, extensions={"code": code})


def camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def user_error(code: UserErrorCode, message: str, field: Iterable[str] = ()) -> UserError:
    path = [camel(part) for part in field]
    return UserError(message=message, field=path or None, code=code)


def from_domain(exc: DomainError) -> UserError:
    return user_error(exc.code, exc.message, exc.field)


def from_items(errors: Iterable[ItemError], argument: str = "input") -> list[UserError]:
    return [
        user_error(e.code, e.message, [argument, str(e.index), *([e.field] if e.field else [])])
        for e in errors
    ]
