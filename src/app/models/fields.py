"""Field helpers Tortoise's typing lacks."""

from enum import Enum
from typing import TypeVar, cast

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
