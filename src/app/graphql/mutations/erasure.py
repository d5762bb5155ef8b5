"""contactsDelete: erasure, with a user error for each ID that names no contact."""

from __future__ import annotations

import strawberry

from app.filters.ids import from_global_id, to_global_id
from app.graphql.context import Info
from app.graphql.errors import UserError, from_domain, from_items
from app.services import erasure
from app.services.errors import DomainError


@strawberry.type
class ContactsDeletePayload:
    deleted_contact_ids: list[strawberry.ID]
    user_errors: list[UserError]


@strawberry.type
class ErasureMutations:
    @strawberry.mutation(
        description="Delete contacts for good, with their tag links, products, purchases and "
        "email events; needs confirm: true."
    )
    async def contacts_delete(
        self, info: Info, ids: list[strawberry.ID], confirm: bool
    ) -> ContactsDeletePayload:
        # 0 names no contact: an ID that names nothing is reported with its index.
        keys = [from_global_id(str(i), "Contact") or 0 for i in ids]
        try:
            result = await erasure.delete_contacts(info.context.account, keys, confirm=confirm)
        except DomainError as exc:
            return ContactsDeletePayload(deleted_contact_ids=[], user_errors=[from_domain(exc)])
        return ContactsDeletePayload(
            deleted_contact_ids=[strawberry.ID(to_global_id("Contact", pk)) for pk in result.items],
            user_errors=from_items(result.errors, "ids"),
        )
