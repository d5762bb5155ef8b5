"""Domain errors with a code. The GraphQL layer turns them into `userErrors`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    INVALID_EMAIL = "INVALID_EMAIL"
    TIME_IN_FUTURE = "TIME_IN_FUTURE"
    NEGATIVE_AMOUNT = "NEGATIVE_AMOUNT"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    UNKNOWN_EVENT_KIND = "UNKNOWN_EVENT_KIND"
    CONTACT_NOT_FOUND = "CONTACT_NOT_FOUND"
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    NOT_FOUND = "NOT_FOUND"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    DUPLICATE_NAME = "DUPLICATE_NAME"
    INVALID_FILTER = "INVALID_FILTER"
    CONFIRMATION_REQUIRED = "CONFIRMATION_REQUIRED"
    DEFAULT_SEGMENT_READ_ONLY = "DEFAULT_SEGMENT_READ_ONLY"
    SEGMENT_IN_USE = "SEGMENT_IN_USE"
    BUSY = "BUSY"
    URL_NOT_ALLOWED = "URL_NOT_ALLOWED"
    LIMIT_REACHED = "LIMIT_REACHED"


@dataclass(frozen=True)
class ItemError:
    """What is wrong with one item of a batch: `field` is the input's field name (snake_case)."""

    index: int
    field: str | None
    message: str
    code: ErrorCode


class DomainError(Exception):
    """A business failure of a whole call, reported to the caller rather than logged."""

    def __init__(self, code: ErrorCode, message: str, field: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class ItemInvalid(Exception):
    """Raised by a per-item check; the batch records it and carries on with the next item."""

    def __init__(self, field: str | None, message: str, code: ErrorCode = ErrorCode.INVALID):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


def public_message(exc: Exception) -> str:
    """What a job or a run may record about its failure: a domain error's own message, never
    an unexpected exception's text (that goes to the log)."""
    if isinstance(exc, DomainError):
        return exc.message
    return "It failed unexpectedly; the error has been logged."
