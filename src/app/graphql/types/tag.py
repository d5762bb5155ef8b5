"""Tags and products."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from app.enums import GrantSource, ProductKind
from app.graphql.context import Info
from app.graphql.nodes import account_nodes
from app.models import OwnedProduct, Product, Tag


@strawberry.type(name="Tag")
class TagType(relay.Node):
    id: relay.NodeID[int]
    name: str

    @strawberry.field(description="How many contacts carry the tag.")
    async def contact_count(self, info: Info) -> int:
        return await info.context.loaders.tag_contact_count.load(int(self.id))

    @classmethod
    def from_model(cls, tag: Tag) -> TagType:
        return cls(id=tag.id, name=tag.name)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await account_nodes(Tag, info, node_ids, cls.from_model)


@strawberry.type(name="Product")
class ProductType(relay.Node):
    id: relay.NodeID[int]
    external_id: str
    title: str
    kind: ProductKind

    @classmethod
    def from_model(cls, product: Product) -> ProductType:
        return cls(
            id=product.id, external_id=product.external_id, title=product.title, kind=product.kind
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await account_nodes(Product, info, node_ids, cls.from_model)


@strawberry.type(name="OwnedProduct")
class OwnedProductType:
    product: ProductType
    granted_at: datetime
    source: GrantSource
    progress: int

    @classmethod
    def from_model(cls, owned: OwnedProduct) -> OwnedProductType:
        return cls(
            product=ProductType.from_model(owned.product),
            granted_at=owned.granted_at,
            source=owned.source,
            progress=owned.progress,
        )
