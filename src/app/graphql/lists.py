"""The small connections: segments (defaults first, then by name), tags (by name), products
(oldest first). Cursors are keyset positions, like the contacts'."""

from __future__ import annotations

import strawberry
from strawberry import relay
from tortoise.expressions import Q

from app.graphql.context import Info
from app.graphql.pagination import Edge, Window, encode_cursor, page_info, page_request, window
from app.graphql.types.segment import SegmentType
from app.graphql.types.tag import ProductType, TagType
from app.models import Product, Tag


@strawberry.type
class SegmentEdge(Edge[SegmentType]):
    pass


@strawberry.type
class SegmentConnection:
    edges: list[SegmentEdge]
    page_info: relay.PageInfo
    total_count: int


@strawberry.type
class TagEdge(Edge[TagType]):
    pass


@strawberry.type
class TagConnection:
    edges: list[TagEdge]
    page_info: relay.PageInfo
    total_count: int


@strawberry.type
class ProductEdge(Edge[ProductType]):
    pass


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]
    page_info: relay.PageInfo
    total_count: int


async def segment_connection(info: Info, first: int | None, after: str | None) -> SegmentConnection:
    # An account has few segments: order them in memory (defaults first, then by name).
    request = page_request(first, after, None, None, "segments")
    ordered = await info.context.loaders.segments()
    start = 0
    if request.cursor is not None:
        positions = {s.id: i for i, s in enumerate(ordered)}
        start = positions.get(request.cursor.id, -1) + 1
    rows = [{"id": s.id, "segment": s} for s in ordered[start : start + request.size + 1]]
    win = window(rows, request)
    edges = [
        SegmentEdge(
            cursor=encode_cursor("segments", None, r["id"]),
            node=SegmentType.from_model(r["segment"]),
        )
        for r in win.rows
    ]
    return SegmentConnection(edges=edges, page_info=page_info(edges, win), total_count=len(ordered))


async def tag_connection(info: Info, first: int | None, after: str | None) -> TagConnection:
    request = page_request(first, after, None, None, "tags")
    tags = Tag.filter(account=info.context.account)
    total = await tags.count()
    if request.cursor is not None:
        name, pk = request.cursor.value, request.cursor.id
        tags = tags.filter(Q(name_lower__gt=name) | Q(name_lower=name, id__gt=pk))
    rows = await tags.order_by("name_lower", "id").limit(request.size + 1)
    win: Window = window([{"tag": t} for t in rows], request)
    edges = [
        TagEdge(
            cursor=encode_cursor("tags", r["tag"].name_lower, r["tag"].id),
            node=TagType.from_model(r["tag"]),
        )
        for r in win.rows
    ]
    return TagConnection(edges=edges, page_info=page_info(edges, win), total_count=total)


async def product_connection(info: Info, first: int | None, after: str | None) -> ProductConnection:
    request = page_request(first, after, None, None, "products")
    products = Product.filter(account=info.context.account)
    total = await products.count()
    if request.cursor is not None:
        products = products.filter(id__gt=request.cursor.id)
    rows = await products.order_by("id").limit(request.size + 1)
    win = window([{"product": p} for p in rows], request)
    edges = [
        ProductEdge(
            cursor=encode_cursor("products", None, r["product"].id),
            node=ProductType.from_model(r["product"]),
        )
        for r in win.rows
    ]
    return ProductConnection(edges=edges, page_info=page_info(edges, win), total_count=total)
