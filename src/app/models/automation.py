"""What automations read: who entered and left each segment, members frozen for a send, and
webhooks with their deliveries.

A segment's current members (`segment_members`) and a snapshot's members
(`segment_snapshot_members`) are plain (owner, contact) pairs keyed by both columns; Tortoise
has no composite keys, so those two tables are created by SQL in the migration and have no
model (`RAW_TABLES`). They carry no foreign keys: checking one per row made writing the half a
million members of a segment take minutes on PostgreSQL instead of about two seconds (the
owner's row is locked once per member), so the services that delete a segment or a snapshot
delete its pairs. Contact ids there and in the change log carry none either: a deleted contact
leaves its id behind, shows as LEFT at the next computation, and drops out of pages, which join
the contacts. An erasure never waits on, or deadlocks with, a membership write."""

from tortoise import fields
from tortoise.models import Model

from app.enums import DeliveryStatus, MembershipChangeKind, WebhookEvent
from app.models.account import Account
from app.models.fields import json_list, nullable_text
from app.models.segment import Segment

RAW_TABLES = ("segment_members", "segment_snapshot_members")


class MembershipChange(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="membership_changes", on_delete=fields.CASCADE
    )
    segment: fields.ForeignKeyRelation[Segment] = fields.ForeignKeyField(
        "models.Segment", related_name="membership_changes", on_delete=fields.CASCADE
    )
    contact_id = fields.BigIntField()
    kind = fields.CharEnumField(MembershipChangeKind, max_length=10)
    at = fields.DatetimeField()

    class Meta:
        table = "segment_membership_changes"
        # Pages go by id within a segment; the nightly trim goes by time within an account.
        indexes = (("account_id", "segment_id", "id"), ("account_id", "at"))


class SegmentSnapshot(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="member_snapshots", on_delete=fields.CASCADE
    )
    # Kept when the segment is deleted: a send under way still has its members.
    segment: fields.ForeignKeyNullableRelation[Segment] = fields.ForeignKeyField(
        "models.Segment", related_name="member_snapshots", on_delete=fields.SET_NULL, null=True
    )
    count = fields.BigIntField(default=0)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "segment_snapshots"
        indexes = (("account_id", "expires_at"),)


class Webhook(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="webhooks", on_delete=fields.CASCADE
    )
    url = fields.TextField()
    events = json_list()  # WebhookEvent values
    segment_ids = json_list()  # the segments it hears about; empty: every segment
    # Kept in clear: the HMAC needs it. The API shows it once, at creation.
    secret = fields.CharField(max_length=100)
    # Held while one task sends this webhook's deliveries, in order; expires if its worker dies.
    sending_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "webhooks"
        indexes = (("account_id", "id"),)


class WebhookDelivery(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="webhook_deliveries", on_delete=fields.CASCADE
    )
    webhook: fields.ForeignKeyRelation[Webhook] = fields.ForeignKeyField(
        "models.Webhook", related_name="deliveries", on_delete=fields.CASCADE
    )
    event = fields.CharEnumField(WebhookEvent, max_length=40)
    # The body's "id" (what receivers deduplicate by) and the exact body, the same on every try.
    event_id = fields.CharField(max_length=64)
    body = fields.TextField()
    status = fields.CharEnumField(DeliveryStatus, max_length=10, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_attempt_at = fields.DatetimeField(null=True)
    response_status = fields.IntField(null=True)
    error = nullable_text()
    created_at = fields.DatetimeField()

    class Meta:
        table = "webhook_deliveries"
        # A webhook's queue in order, its listing, and the sweep's look for due deliveries
        # of every account (the one index not led by account_id: the sweep spans accounts).
        indexes = (
            ("account_id", "webhook_id", "status", "next_attempt_at"),
            ("account_id", "webhook_id", "id"),
            ("status", "next_attempt_at"),
        )
