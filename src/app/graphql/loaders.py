"""DataLoaders: one query per relation per request, whatever the page size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.dataloader import DataLoader

from app.db import connection
from app.enums import SegmentKind
from app.filters import query
from app.filters.sql import Sql, placeholders, render, sql
from app.models import Account, OwnedProduct, Segment
from app.services.segments import segment_filter

if TYPE_CHECKING:
    from app.graphql.types.tag import TagType

K = TypeVar("K")
V = TypeVar("V")


_by_name = itemgetter(0)


def _loader(load: Callable[[list[K]], Awaitable[list[V]]]) -> DataLoader[K, V]:
    async def batch(keys: Sequence[K]) -> list[V]:
        return await load(list(keys))

    return DataLoader(load_fn=batch)


class Loaders:
    def __init__(self, account: Account, now: datetime) -> None:
        self.account = account
        self.now = now
        self.tags_by_contact = _loader(self.read_tags)
        self.owned_by_contact = _loader(self.read_owned)
        self.segments_by_contact = _loader(self.read_segments)
        self.tag_contact_count = _loader(self._tag_counts)
        self._segments: list[Segment] | None = None

    async def segments(self) -> list[Segment]:
        """Every segment of the account, the defaults first, then custom ones by name."""
        if self._segments is None:
            rows = await Segment.filter(account=self.account).order_by("id")
            defaults = [s for s in rows if s.kind is SegmentKind.DEFAULT]
            custom = sorted(
                (s for s in rows if s.kind is SegmentKind.CUSTOM),
                key=lambda s: (s.name_lower, s.id),
            )
            self._segments = defaults + custom
        return self._segments

    async def read_tags(self, contact_ids: list[int]) -> list[list[TagType]]:
        # Rows, not models: a contact's tags show their id and name.
        from app.graphql.types.tag import TagType  # the types import the context, which needs us

        statement = (
            sql(
                "SELECT l.contact_id, t.id, t.name, t.name_lower FROM contact_tags l"
                " JOIN tags t ON t.id = l.tag_id WHERE l.account_id = ?",
                self.account.id,
            )
            + Sql(" AND l.contact_id IN (")
            + placeholders(contact_ids)
            + Sql(")")
        )
        rows: list[dict[str, Any]] = await connection().execute_query_dict(
            render(statement, query.dialect()), list(statement.params)
        )
        grouped: dict[int, list[tuple[str, TagType]]] = defaultdict(list)
        for row in rows:
            tag = TagType(id=int(row["id"]), name=row["name"])
            grouped[int(row["contact_id"])].append((row["name_lower"], tag))
        return [[tag for _, tag in sorted(grouped[cid], key=_by_name)] for cid in contact_ids]

    async def read_owned(self, contact_ids: list[int]) -> list[list[OwnedProduct]]:
        rows = await OwnedProduct.filter(
            account=self.account, contact_id__in=contact_ids
        ).select_related("product")
        grouped: dict[int, list[OwnedProduct]] = defaultdict(list)
        for row in rows:
            grouped[row.contact_id].append(row)  # type: ignore[attr-defined]
        return [sorted(grouped[cid], key=lambda o: o.granted_at) for cid in contact_ids]

    async def read_segments(self, contact_ids: list[int]) -> list[list[Segment]]:
        segments = await self.segments()
        definitions = {s.id: segment_filter(s) for s in segments}
        held = await query.memberships(self.account.id, definitions, contact_ids, now=self.now)
        by_id = {s.id: s for s in segments}
        order = {s.id: i for i, s in enumerate(segments)}
        return [
            sorted((by_id[pk] for pk in held[cid]), key=lambda s: order[s.id])
            for cid in contact_ids
        ]

    async def _tag_counts(self, tag_ids: list[int]) -> list[int]:
        statement = (
            sql(
                "SELECT tag_id, COUNT(*) AS n FROM contact_tags WHERE account_id = ?",
                self.account.id,
            )
            + Sql(" AND tag_id IN (")
            + placeholders(tag_ids)
            + Sql(") GROUP BY tag_id")
        )
        dialect = query.dialect()
        rows: list[dict[str, Any]] = await connection().execute_query_dict(
            render(statement, dialect), list(statement.params)
        )
        counts = {int(r["tag_id"]): int(r["n"]) for r in rows}
        return [counts.get(tid, 0) for tid in tag_ids]
