"""Tags and the links between tags and contacts."""

from tortoise import fields
from tortoise.models import Model

from app.models.account import Account
from app.models.contact import Contact


class Tag(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="tags", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    name_lower = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tags"
        unique_together = (("account_id", "name_lower"),)


class ContactTag(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="contact_tags", on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="tag_links", on_delete=fields.CASCADE
    )
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="contact_links", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "contact_tags"
        # Both directions: "contact has tag" semi-joins and "members of tag" scans.
        unique_together = (("account_id", "contact_id", "tag_id"),)
        # ("contact_id",): ON DELETE CASCADE looks links up by contact alone (erasure).
        indexes = (("account_id", "tag_id", "contact_id"), ("contact_id",))
