"""Global IDs (`base64("Type:pk")`, as Relay and Strawberry make them), without Strawberry."""

from __future__ import annotations

import base64
import binascii


def to_global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def from_global_id(value: str, expected_type: str) -> int | None:
    """The primary key in a global ID of the expected type, or None if it is not one."""
    try:
        decoded = base64.b64decode(value.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, raw_pk = decoded.partition(":")
    if not sep or type_name != expected_type or not raw_pk.isdigit():
        return None
    return int(raw_pk)
