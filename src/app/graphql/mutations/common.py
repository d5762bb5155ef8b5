"""What every mutation shares: IDs from the caller's input, domain errors as user errors."""

from __future__ import annotations

from app.filters.ids import from_global_id
from app.services.errors import DomainError, ErrorCode


def pk_of(global_id: object, type_name: str, field: str = "id") -> int:
    """The primary key in a global ID; a malformed one or one of another type is NOT_FOUND,
    just like an ID of another account."""
    pk = from_global_id(str(global_id), type_name)
    if pk is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"No such {type_name.lower()}.", (field,))
    return pk
