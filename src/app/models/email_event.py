"""Email events as the provider reports them; the contact's engagement fields summarise them."""

from tortoise import fields
from tortoise.models import Model

from app.enums import EmailEventKind
from app.models.account import Account
from app.models.contact import Contact


class EmailEvent(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="email_events", on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="email_events", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(EmailEventKind, max_length=20)
    campaign = fields.CharField(max_length=200, null=True)
    occurred_at = fields.DatetimeField()
    # The provider's id: a webhook delivered twice is recorded once.
    external_id = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "email_events"
        unique_together = (("account_id", "external_id"),)
        indexes = (
            # "contact X opened at least N times in window": correlated semi-joins.
            ("account_id", "contact_id", "kind", "occurred_at"),
            # "anyone who opened in the last 30 days": a range scan that drives the query.
            ("account_id", "kind", "occurred_at", "contact_id"),
            ("account_id", "campaign", "kind", "contact_id"),
            # A campaign's first and last event, two index probes each (the campaigns picker).
            ("account_id", "campaign", "occurred_at"),
            # ON DELETE CASCADE looks events up by contact alone (erasure).
            ("contact_id",),
        )
