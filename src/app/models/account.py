"""Accounts (a creator's site) and the API tokens that act for them."""

from tortoise import fields
from tortoise.models import Model


class Account(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=200)
    # Engagement rules (see app.engagement): the inactivity window and the high-risk thresholds.
    inactivity_days = fields.IntField(default=90)
    soft_bounce_threshold = fields.IntField(default=3)
    unengaged_send_threshold = fields.IntField(default=10)
    # When the rules were last applied to every contact; a contact's own stamp says when
    # they last changed its flags (app.engagement).
    flags_evaluated_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "accounts"


class ApiToken(Model):
    # A bearer token is `sgt_<key>_<secret>`: `key` finds the row, only sha256(secret) is kept.

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="tokens", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=32, unique=True)
    secret_hash = fields.CharField(max_length=64)
    name = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_tokens"
