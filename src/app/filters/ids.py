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
    if not sep or type_name != expected_type:
        return None
    pk = parse_pk(raw_pk)
    # One spelling per ID: no extra padding, spaces or line breaks that decoding would skip.
    return pk if pk is not None and to_global_id(type_name, pk) == value else None


MAX_PK = 2**63 - 1  # the BIGINT columns' range


def parse_pk(text: str) -> int | None:
    """A primary key written in its one canonical form (ASCII digits, no sign, no leading
    zero, within BIGINT), or None: "٣", "+3", "03" and 2**64 name nothing."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or text != str(int(text)):
        return None
    pk = int(text)
    return pk if 0 < pk <= MAX_PK else None
