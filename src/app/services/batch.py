"""What every batch call shares: the size bound, per-item validation and the result shape. The
checks of the values themselves are app.services.checks'."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from app.limits import MAX_BATCH
from app.services.errors import DomainError, ErrorCode, ItemError, ItemInvalid

__all__ = ["MAX_BATCH", "BatchResult", "check_size", "validate_all"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class BatchResult(Generic[R]):
    items: list[R] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    duplicates: int = 0


def check_size(items: Sequence[object], field_name: str = "input") -> None:
    if len(items) > MAX_BATCH:
        raise DomainError(
            ErrorCode.BATCH_TOO_LARGE,
            f"At most {MAX_BATCH} items per call; got {len(items)}.",
            (field_name,),
        )


def validate_all(
    items: Sequence[T], check: Callable[[T], R], errors: list[ItemError]
) -> list[tuple[int, R]]:
    """Run `check` on every item; keep what passes, record an error for what doesn't."""
    valid: list[tuple[int, R]] = []
    for index, item in enumerate(items):
        try:
            valid.append((index, check(item)))
        except ItemInvalid as exc:
            errors.append(ItemError(index, exc.field, exc.message, exc.code))
    return valid
