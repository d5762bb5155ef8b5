"""Products (offers and courses), what contacts own, and purchases."""

from tortoise import fields
from tortoise.models import Model

from app.enums import GrantSource, ProductKind
from app.models.account import Account
from app.models.contact import Contact


class Product(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="products", on_delete=fields.CASCADE
    )
    external_id = fields.CharField(max_length=200)
    title = fields.CharField(max_length=300)
    kind = fields.CharEnumField(ProductKind, max_length=10, default=ProductKind.OFFER)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "products"
        unique_together = (("account_id", "external_id"),)


class OwnedProduct(Model):
    # A contact owns a product once: bought or granted; granting again updates the progress.

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="owned_products", on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="owned_products", on_delete=fields.CASCADE
    )
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="owners", on_delete=fields.CASCADE
    )
    source = fields.CharEnumField(GrantSource, max_length=10)
    granted_at = fields.DatetimeField()
    progress = fields.SmallIntField(default=0)  # course progress, percent

    class Meta:
        table = "owned_products"
        unique_together = (("account_id", "contact_id", "product_id"),)
        # ("contact_id",): ON DELETE CASCADE looks rows up by contact alone (erasure).
        indexes = (("account_id", "product_id", "contact_id", "progress"), ("contact_id",))


class Purchase(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="purchases", on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="purchases", on_delete=fields.CASCADE
    )
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="purchases", on_delete=fields.CASCADE
    )
    amount_cents = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "purchases"
        indexes = (
            ("account_id", "contact_id", "occurred_at"),
            ("account_id", "product_id", "contact_id", "occurred_at"),
            ("contact_id",),  # ON DELETE CASCADE looks purchases up by contact alone (erasure)
        )
