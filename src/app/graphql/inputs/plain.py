"""Strawberry input objects to the plain, GraphQL-named dicts the services take."""

from __future__ import annotations

from enum import Enum
from typing import Any

from strawberry.types.base import has_object_definition
from strawberry.types.unset import UNSET


def plain(value: Any) -> Any:
    """Inputs become dicts keyed by their GraphQL names, absent and null fields left out,
    enums by value; the filter codec and the services read that shape."""
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if has_object_definition(value):
        out: dict[str, Any] = {}
        for field in value.__strawberry_definition__.fields:
            item = getattr(value, field.python_name)
            if item is UNSET or item is None:
                continue
            out[field.graphql_name or _camel(field.python_name)] = plain(item)
        return out
    return value


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.title() for part in rest)
