"""The checks that need the account's data: do the referenced products and segments exist, and
do segment references form a cycle. Shape and bounds are checked by codec.parse."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from app.db import id_set
from app.filters import ast
from app.filters.errors import FilterError
from app.filters.query import segment_definitions, walk
from app.models import Product

Path = tuple[str, ...]


def product_references(tree: ast.Filter) -> Iterator[tuple[Path, int]]:
    for path, node in walk(tree):
        match node:
            case ast.ProductMatch(owns_any, owns_all, owns_none):
                for key, ids in (
                    ("ownsAny", owns_any),
                    ("ownsAll", owns_all),
                    ("ownsNone", owns_none),
                ):
                    for index, pk in enumerate(ids or ()):
                        yield path + ("products", key, str(index)), pk
            case ast.ProductProgress(product, _):
                yield path + ("productProgress", "product"), product
            case ast.PurchaseMatch(product, _, _, _) if product is not None:
                yield path + ("purchases", "product"), product


def segment_references(tree: ast.Filter | None) -> Iterator[tuple[Path, int]]:
    if tree is None:
        return
    for path, node in walk(tree):
        if isinstance(node, ast.SegmentIn):
            yield path + ("segment", "in"), node.segment


async def validate(account_id: int, tree: ast.Filter, *, segment_id: int | None = None) -> None:
    """Raise FilterError (with the path in the input) for an unknown product or segment of the
    account, or for references that lead back to `segment_id` (the segment being saved) or
    round in any other cycle."""
    products = list(product_references(tree))
    if products:
        wanted = {pk for _, pk in products}
        found = await id_set(Product.filter(account_id=account_id, id__in=wanted))
        for path, pk in products:
            if pk not in found:
                raise FilterError(path, "No such product in this account.")
    references = list(segment_references(tree))
    if not references:
        return
    definitions = (await segment_definitions(account_id)).filters
    for path, pk in references:
        if pk not in definitions:
            raise FilterError(path, "No such segment in this account.")
        if pk == segment_id or _reaches(pk, segment_id, definitions, ()):
            raise FilterError(path, "Segment references may not form a cycle.")


def _reaches(
    start: int,
    target: int | None,
    definitions: Mapping[int, ast.Filter | None],
    trail: tuple[int, ...],
) -> bool:
    """Does following references from `start` lead to `target`, or round a cycle?"""
    if start in trail:
        return True
    for _, pk in segment_references(definitions.get(start)):
        if pk == target or _reaches(pk, target, definitions, trail + (start,)):
            return True
    return False
