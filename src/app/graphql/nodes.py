"""Relay node resolution, always within the caller's account: another account's object is
simply not found."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from tortoise.models import Model

from app.filters.ids import parse_pk
from app.graphql.context import Info

M = TypeVar("M", bound=Model)


async def account_nodes(
    model: type[M], info: Info, node_ids: Iterable[str], convert: Callable[[M], Any]
) -> list[Any]:
    ids = list(node_ids)
    keys = {pk for pk in map(parse_pk, ids) if pk is not None}
    found = {obj.pk: obj for obj in await model.filter(account=info.context.account, id__in=keys)}
    return [convert(found[pk]) if (pk := parse_pk(i)) in found else None for i in ids]
