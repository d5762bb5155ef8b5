"""Segments: save, update and delete custom ones; previews; membership explanations. The six
defaults are read-only rows of each account. Counts live in app.services.counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app import clock, limits
from app.engagement import explain_flags
from app.enums import DefaultSegment, SegmentKind
from app.filters import ast, codec, query
from app.filters.defaults import default_filter
from app.filters.errors import FilterError
from app.filters.validate import segment_references, validate
from app.models import Account, Contact, Segment
from app.services import membership, tasks
from app.services.checks import clean_text, single_value
from app.services.errors import DomainError, ErrorCode
from app.text import fold

# Rules behind the flag-based default segments, shown in their explanations.
_RULE_PARTS: dict[DefaultSegment, tuple[str, ...]] = {
    DefaultSegment.INACTIVE: ("subscribed", "unengaged_in_window", "inactive"),
    DefaultSegment.EXCLUDED: (
        "subscribed",
        "unengaged_in_window",
        "inactive",
        "risky_address",
        "soft_bouncing",
        "unengaged_sends",
        "high_risk",
        "excluded",
    ),
    DefaultSegment.HARD_BOUNCED: (
        "bounced_after_engagement",
        "no_delivery_since_bounce",
        "hard_bounced",
    ),
}


def segment_filter(segment: Segment) -> ast.Filter | None:
    """The segment's filter; None for All Contacts."""
    if segment.default_key is not None:
        return default_filter(segment.default_key)
    return codec.decode(segment.filter_json) if segment.filter_json else None


async def get_segment(account: Account, segment_id: int) -> Segment:
    segment = await Segment.get_or_none(account=account, id=segment_id)
    if segment is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such segment.", ("id",))
    return segment


async def parse_filter(
    account: Account, data: object, *, segment_id: int | None = None, field: str = "filter"
) -> ast.Filter:
    """The filter from its input shape, validated against the account; errors carry the path
    from the mutation's input."""
    try:
        tree = codec.parse(data)
        await validate(account.id, tree, segment_id=segment_id)
    except FilterError as exc:
        raise DomainError(
            ErrorCode.INVALID_FILTER, exc.message, ("input", field, *exc.path)
        ) from None
    return tree


def _clean_name(name: str, description: str | None) -> tuple[str, str | None]:
    with single_value("input", "name"):
        clean = clean_text(name, "name", limits.MAX_NAME, required=True) or ""
    with single_value("input", "description"):
        about = clean_text(description, "description", limits.MAX_DESCRIPTION, multiline=True)
    return clean, about or None


async def _check_name_free(account: Account, name: str, segment_id: int | None) -> None:
    clash = (
        await Segment.filter(account=account, name_lower=fold(name))
        .exclude(id=segment_id or 0)
        .first()
    )
    if clash is not None:
        raise DomainError(
            ErrorCode.DUPLICATE_NAME,
            f"A segment named {clash.name!r} already exists.",
            ("input", "name"),
        )


async def _lock_definitions(account: Account) -> None:
    """Serialise the changes of an account's segment definitions (in the caller's
    transaction): a save checks that the segments it references exist and form no cycle, a
    delete that nothing references what it deletes, and neither check may go stale before
    the write. The account row, FOR NO KEY UPDATE: ingestion, which only references that row,
    never waits for it."""
    await Account.filter(id=account.id).select_for_update(no_key=True).first()


async def create_segment(
    account: Account, *, name: str, description: str | None, filter_input: object
) -> Segment:
    name, description = _clean_name(name, description)
    async with in_transaction():
        await _lock_definitions(account)
        tree = await parse_filter(account, filter_input)
        await _check_name_free(account, name, None)
        try:
            segment = await Segment.create(
                account=account,
                name=name,
                name_lower=fold(name),
                description=description,
                kind=SegmentKind.CUSTOM,
                filter_json=codec.encode(tree),
                count_stale=True,
            )
        except IntegrityError:  # created by a concurrent request since the check
            raise _duplicate(name) from None
    await tasks.refresh_segment_count.send(account.id, segment.id)
    return segment


def _duplicate(name: str) -> DomainError:
    return DomainError(
        ErrorCode.DUPLICATE_NAME, f"A segment named {name!r} already exists.", ("input", "name")
    )


async def update_segment(
    account: Account, segment_id: int, *, name: str, description: str | None, filter_input: object
) -> Segment:
    name, description = _clean_name(name, description)
    async with in_transaction():
        await _lock_definitions(account)
        segment = await get_segment(account, segment_id)
        if segment.kind is SegmentKind.DEFAULT:
            raise DomainError(
                ErrorCode.DEFAULT_SEGMENT_READ_ONLY, "Default segments can't be changed.", ("id",)
            )
        tree = await parse_filter(account, filter_input, segment_id=segment.id)
        await _check_name_free(account, name, segment.id)
        segment.name, segment.name_lower, segment.description = name, fold(name), description
        changed = codec.encode(tree) != segment.filter_json
        fields = ["name", "name_lower", "description", "updated_at"]
        if changed:
            segment.filter_json, segment.count_stale = codec.encode(tree), True
            fields += ["filter_json", "count_stale"]
        try:
            # Only what this call changes: a count a refresh wrote meanwhile stays.
            await segment.save(update_fields=fields)
        except IntegrityError:
            raise _duplicate(name) from None
    if changed:
        await tasks.refresh_segment_count.send(account.id, segment.id)
    return segment


async def referrers(account: Account, segment_id: int) -> list[Segment]:
    """The custom segments whose filters reference this one."""
    found = []
    for other in await Segment.filter(account=account, kind=SegmentKind.CUSTOM).exclude(
        id=segment_id
    ):
        if any(pk == segment_id for _, pk in segment_references(segment_filter(other))):
            found.append(other)
    return found


async def delete_segment(account: Account, segment_id: int, *, confirm: bool) -> int:
    """Delete a custom segment for good, with its history. Asks for confirmation; refuses for
    a default segment or one that another segment's filter uses."""
    async with in_transaction() as conn:
        await _lock_definitions(account)
        # A computation of its members under way finishes first (its lock before the row's).
        await membership.serialise(conn, segment_id)
        segment = await Segment.filter(account=account, id=segment_id).select_for_update().first()
        if segment is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such segment.", ("id",))
        if segment.kind is SegmentKind.DEFAULT:
            raise DomainError(
                ErrorCode.DEFAULT_SEGMENT_READ_ONLY, "Default segments can't be deleted.", ("id",)
            )
        users = await referrers(account, segment.id)
        if users:
            names = ", ".join(repr(s.name) for s in users)
            raise DomainError(
                ErrorCode.SEGMENT_IN_USE,
                f"{segment.name!r} is used by {names}; change those first.",
                ("id",),
            )
        if not confirm:
            raise DomainError(
                ErrorCode.CONFIRMATION_REQUIRED,
                f"Deleting {segment.name!r} can't be undone: send confirm: true to delete it.",
                ("confirm",),
            )
        await membership.forget(conn, segment_id)
        await segment.delete()  # its history and change log go with it (ON DELETE CASCADE)
    return segment_id


# ---------------------------------------------------------------------------- previews


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[Contact]


async def preview(
    account: Account, filter_input: object, sample: int, now: datetime | None = None
) -> Preview:
    """A live count and the first contacts (newest first) of a filter not yet saved."""
    if not 0 <= sample <= limits.MAX_SAMPLE:
        raise DomainError(
            ErrorCode.OUT_OF_RANGE, f"sample is between 0 and {limits.MAX_SAMPLE}.", ("sample",)
        )
    now = now or clock.now()
    tree = await parse_filter(account, filter_input)
    count = await query.count_matching(account.id, tree, now=now)
    rows = (
        await query.page(
            account.id,
            tree,
            now=now,
            order=query.Order("created_at", descending=True),
            limit=sample,
        )
        if sample
        else []
    )
    by_id = {c.id: c for c in await Contact.filter(account=account, id__in=[r["id"] for r in rows])}
    return Preview(count, [by_id[r["id"]] for r in rows if r["id"] in by_id])


# ---------------------------------------------------------------------------- explanations


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    description: str
    matches: bool


@dataclass(frozen=True)
class Explanation:
    matches: bool
    conditions: list[Condition]


async def explain(
    account: Account, segment: Segment, contact_id: int, now: datetime | None = None
) -> Explanation:
    """Does the segment hold the contact, and the truth of each node of its filter (for the
    flag-based defaults, also each part of the engagement rule behind the flag)."""
    now = now or clock.now()
    tree = segment_filter(segment)
    if not await Contact.exists(account=account, id=contact_id):
        raise DomainError(ErrorCode.NOT_FOUND, "No such contact.", ("contactId",))
    if tree is None:
        return Explanation(True, [Condition((), "every contact of the account", True)])
    truths = await query.explain(account.id, tree, contact_id, now=now) or []
    conditions = [Condition(t.path, t.description, t.matches) for t in truths]
    parts = _RULE_PARTS.get(segment.default_key) if segment.default_key else None
    if parts:
        flags = await explain_flags(account, contact_id, now) or {}
        conditions += [
            Condition(("rules", name), f"rule: {name.replace('_', ' ')} (as of now)", flags[name])
            for name in parts
        ]
    return Explanation(truths[0].matches if truths else False, conditions)


def filter_input(segment: Segment) -> dict[str, Any] | None:
    """The saved filter in the shape of the ContactFilter input (None for All Contacts)."""
    tree = segment_filter(segment)
    return codec.to_input(tree) if tree is not None else None
