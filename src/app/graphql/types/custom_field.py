"""Custom field keys, for a filter builder's `customField` choices."""

from __future__ import annotations

import strawberry

from app.enums import CustomFieldKind
from app.services.custom_fields import CustomFieldKey


@strawberry.type(name="CustomFieldKey")
class CustomFieldKeyType:
    key: str
    kinds: list[CustomFieldKind] = strawberry.field(
        description="The kinds of value the key holds: DATE for strings that start with a day "
        "(YYYY-MM-DD), which the `date` condition reads; STRING for other strings."
    )
    contact_count: int = strawberry.field(description="Contacts that hold a value under the key.")

    @classmethod
    def from_domain(cls, found: CustomFieldKey) -> CustomFieldKeyType:
        return cls(key=found.key, kinds=found.kinds, contact_count=found.contact_count)
