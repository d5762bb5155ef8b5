"""Contacts, with the engagement fields kept denormalised by the ingestion services."""

from tortoise import fields
from tortoise.models import Model

from app.enums import EmailRisk, SubscriptionStatus, UnsubscribeReason
from app.models.account import Account
from app.models.fields import json_object, nullable_enum


class Contact(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="contacts", on_delete=fields.CASCADE
    )
    email = fields.CharField(max_length=320)
    # Lower-cased copy: uniqueness and lookups are case-insensitive on every database.
    email_lower = fields.CharField(max_length=320)
    first_name = fields.CharField(max_length=200, null=True)
    last_name = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    subscription_status = fields.CharEnumField(
        SubscriptionStatus, max_length=20, default=SubscriptionStatus.NEVER_SUBSCRIBED
    )
    subscribed_at = fields.DatetimeField(null=True)
    unsubscribe_reason = nullable_enum(UnsubscribeReason, max_length=20)
    email_risk = fields.CharEnumField(EmailRisk, max_length=20, default=EmailRisk.VALID)

    # Stored flags: is_customer follows ownership at once; the others are set by events and
    # recomputed nightly (app.engagement).
    is_customer = fields.BooleanField(default=False)
    is_inactive = fields.BooleanField(default=False)
    is_hard_bounced = fields.BooleanField(default=False)
    is_excluded = fields.BooleanField(default=False)
    # When the rules last moved these flags or were applied to this contact alone (an event,
    # an upsert); a nightly run that changes nothing writes nothing and stamps the account.
    flags_computed_at = fields.DatetimeField(null=True)

    last_opened_at = fields.DatetimeField(null=True)
    last_clicked_at = fields.DatetimeField(null=True)
    last_engaged_at = fields.DatetimeField(null=True)  # the later of last open and last click
    last_sent_at = fields.DatetimeField(null=True)
    sends_since_engagement = fields.IntField(default=0)
    soft_bounces = fields.IntField(default=0)  # soft bounces since the last engagement
    last_soft_bounce_at = fields.DatetimeField(null=True)
    hard_bounced_at = fields.DatetimeField(null=True)
    total_spent_cents = fields.BigIntField(default=0)

    birth_date = fields.DateField(null=True)
    country = fields.CharField(max_length=100, null=True)
    custom_fields = json_object()

    class Meta:
        table = "contacts"
        unique_together = (("account_id", "email_lower"),)
        indexes = (
            ("account_id", "created_at", "id"),
            ("account_id", "last_opened_at", "id"),
            ("account_id", "total_spent_cents", "id"),
            ("account_id", "subscription_status", "last_engaged_at"),
        )
