import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.enums import DeliveryStatus, MembershipChangeKind, WebhookEvent


class Migration(migrations.Migration):
    dependencies = [("models", "0003_erasure_and_campaign_indexes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="MembershipChange",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="membership_changes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "segment",
                    fields.ForeignKeyField(
                        "models.Segment",
                        source_field="segment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="membership_changes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("contact_id", fields.BigIntField()),
                (
                    "kind",
                    fields.CharEnumField(
                        description="ENTERED: ENTERED\nLEFT: LEFT",
                        enum_type=MembershipChangeKind,
                        max_length=10,
                    ),
                ),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "segment_membership_changes",
                "app": "models",
                "indexes": [
                    Index(fields=["account_id", "segment_id", "id"]),
                    Index(fields=["account_id", "at"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SegmentSnapshot",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="member_snapshots",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "segment",
                    fields.ForeignKeyField(
                        "models.Segment",
                        source_field="segment_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="member_snapshots",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("count", fields.BigIntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "segment_snapshots",
                "app": "models",
                "indexes": [Index(fields=["account_id", "expires_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Webhook",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="webhooks",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("url", fields.TextField(unique=False)),
                (
                    "events",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "segment_ids",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("secret", fields.CharField(max_length=100)),
                (
                    "sending_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "webhooks",
                "app": "models",
                "indexes": [Index(fields=["account_id", "id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="WebhookDelivery",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="webhook_deliveries",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "webhook",
                    fields.ForeignKeyField(
                        "models.Webhook",
                        source_field="webhook_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deliveries",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "event",
                    fields.CharEnumField(
                        description="SEGMENT_MEMBERSHIP_CHANGED: SEGMENT_MEMBERSHIP_CHANGED\nBULK_JOB_FINISHED: BULK_JOB_FINISHED\nMAINTENANCE_RUN_FINISHED: MAINTENANCE_RUN_FINISHED",
                        enum_type=WebhookEvent,
                        max_length=40,
                    ),
                ),
                ("event_id", fields.CharField(max_length=64)),
                ("body", fields.TextField(unique=False)),
                (
                    "status",
                    fields.CharEnumField(
                        default=DeliveryStatus.PENDING,
                        description="PENDING: PENDING\nDELIVERED: DELIVERED\nFAILED: FAILED",
                        enum_type=DeliveryStatus,
                        max_length=10,
                    ),
                ),
                ("attempts", fields.IntField(default=0)),
                (
                    "next_attempt_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "last_attempt_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("response_status", fields.IntField(null=True)),
                ("error", fields.TextField(null=True, unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "webhook_deliveries",
                "app": "models",
                "indexes": [
                    Index(fields=["account_id", "webhook_id", "status", "next_attempt_at"]),
                    Index(fields=["account_id", "webhook_id", "id"]),
                    Index(fields=["status", "next_attempt_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Segment",
            name="changes_notified_id",
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name="Segment",
            name="members_computed_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # Pairs keyed by both columns, without foreign keys (app.models.automation says why).
        ops.RunSQL(
            [
                "CREATE TABLE segment_members ("
                "segment_id BIGINT NOT NULL, "
                "contact_id BIGINT NOT NULL, PRIMARY KEY (segment_id, contact_id))",
                "CREATE TABLE segment_snapshot_members ("
                "snapshot_id BIGINT NOT NULL, "
                "contact_id BIGINT NOT NULL, PRIMARY KEY (snapshot_id, contact_id))",
            ],
            reverse_sql=["DROP TABLE segment_snapshot_members", "DROP TABLE segment_members"],
        ),
    ]
