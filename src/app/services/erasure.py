"""Erasure: contacts deleted for good, with everything recorded about them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tortoise.transactions import in_transaction

from app.limits import MAX_DELETE_IDS
from app.models import Account, Contact
from app.services.batch import BatchResult
from app.services.checks import normalize_email
from app.services.counts import mark_counts_stale
from app.services.errors import DomainError, ErrorCode, ItemError, ItemInvalid
from app.text import fold


async def delete_contacts(
    account: Account, contact_ids: Sequence[int], *, confirm: bool
) -> BatchResult[int]:
    """Delete these contacts of the account for good. Their tag links, products owned,
    purchases and email events go with them: every table that references a contact does so
    ON DELETE CASCADE, through an index on contact_id. The deleted ids come back in the order
    given; an id that names no contact of the account (0 for an ID that names nothing) is an
    item error. Without `confirm` nothing is read or deleted."""
    if len(contact_ids) > MAX_DELETE_IDS:
        raise DomainError(
            ErrorCode.BATCH_TOO_LARGE,
            f"At most {MAX_DELETE_IDS} contacts per call; got {len(contact_ids)}.",
            ("ids",),
        )
    if not confirm:
        raise DomainError(
            ErrorCode.CONFIRMATION_REQUIRED,
            "Deleting contacts can't be undone: send confirm: true to delete them.",
            ("confirm",),
        )
    wanted = sorted({pk for pk in contact_ids if pk > 0})
    found: set[int] = set()
    async with in_transaction():
        if wanted:
            # Contacts first, in id order, as every writer locks them; FOR UPDATE, as a delete
            # needs. Their child rows go next (the cascade), the account's counts last.
            locked = await (
                Contact.filter(account=account, id__in=wanted).order_by("id").only("id")
            ).select_for_update()
            found = {contact.id for contact in locked}
        if found:
            await Contact.filter(account=account, id__in=found).delete()
            await mark_counts_stale(account.id)
    return BatchResult(
        items=[pk for pk in dict.fromkeys(contact_ids) if pk in found],
        errors=[
            ItemError(index, None, "No such contact.", ErrorCode.NOT_FOUND)
            for index, pk in enumerate(contact_ids)
            if pk not in found
        ],
    )


async def contact_ids_by_email(account: Account, emails: Iterable[str]) -> dict[str, int]:
    """The ids of the account's contacts with these emails (in any case or Unicode spelling),
    by the email as given; an email that is no contact's is left out."""
    keys = {email: _lookup_key(email) for email in emails}
    rows = await Contact.filter(
        account=account, email_lower__in={key for key in keys.values() if key}
    ).values_list("email_lower", "id")
    found = {str(email): int(str(pk)) for email, pk in rows}
    return {email: found[key] for email, key in keys.items() if key in found}


def _lookup_key(email: str) -> str | None:
    try:
        return fold(normalize_email(email))
    except ItemInvalid:
        return None  # can't be a stored email
