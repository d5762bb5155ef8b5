"""Field helpers Tortoise's typing lacks."""

import functools
import json
from enum import Enum
from typing import Any, TypeVar, cast

from tortoise import fields

E = TypeVar("E", bound=Enum)


def nullable_enum(enum_type: type[E], max_length: int) -> "fields.Field[E | None]":
    # CharEnumField is typed as never null, whatever `null=` says.
    return cast(
        "fields.Field[E | None]", fields.CharEnumField(enum_type, max_length=max_length, null=True)
    )


def nullable_text() -> "fields.Field[str | None]":
    # TextField too is typed as never null.
    return cast("fields.Field[str | None]", fields.TextField(null=True))


_dumps = functools.partial(json.dumps, separators=(",", ":"))


def json_object() -> "fields.Field[dict[str, Any]]":
    # The standard library's JSON, whether or not orjson is installed (Tortoise prefers it when
    # it is): orjson refuses integers beyond 64 bits, which a custom field may hold.
    return cast(
        "fields.Field[dict[str, Any]]",
        fields.JSONField(default=dict, encoder=_dumps, decoder=json.loads),
    )


def json_list() -> "fields.Field[list[Any]]":
    return cast(
        "fields.Field[list[Any]]",
        fields.JSONField(default=list, encoder=_dumps, decoder=json.loads),
    )
