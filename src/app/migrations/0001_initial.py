import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.enums import (
    DefaultSegment,
    EmailEventKind,
    EmailRisk,
    GrantSource,
    JobStatus,
    ProductKind,
    SegmentKind,
    SubscriptionStatus,
    UnsubscribeReason,
)


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Account",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("name", fields.CharField(max_length=200)),
                ("inactivity_days", fields.IntField(default=90)),
                ("soft_bounce_threshold", fields.IntField(default=3)),
                ("unengaged_send_threshold", fields.IntField(default=10)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "accounts", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ApiToken",
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
                        related_name="tokens",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("key", fields.CharField(unique=True, max_length=32)),
                ("secret_hash", fields.CharField(max_length=64)),
                ("name", fields.CharField(default="", max_length=100)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "last_used_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "api_tokens", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="BulkJob",
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
                        related_name="bulk_jobs",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kind", fields.CharField(max_length=50)),
                (
                    "status",
                    fields.CharEnumField(
                        default=JobStatus.QUEUED,
                        description="QUEUED: QUEUED\nRUNNING: RUNNING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED",
                        enum_type=JobStatus,
                        max_length=10,
                    ),
                ),
                (
                    "params",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("processed", fields.BigIntField(default=0)),
                ("total", fields.BigIntField(null=True)),
                ("error", fields.TextField(null=True, unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "bulk_jobs",
                "app": "models",
                "indexes": [Index(fields=["account_id", "status", "created_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Contact",
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
                        related_name="contacts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("email", fields.CharField(max_length=320)),
                ("email_lower", fields.CharField(max_length=320)),
                ("first_name", fields.CharField(null=True, max_length=200)),
                ("last_name", fields.CharField(null=True, max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "subscription_status",
                    fields.CharEnumField(
                        default=SubscriptionStatus.NEVER_SUBSCRIBED,
                        description="SUBSCRIBED: SUBSCRIBED\nUNSUBSCRIBED: UNSUBSCRIBED\nNEVER_SUBSCRIBED: NEVER_SUBSCRIBED",
                        enum_type=SubscriptionStatus,
                        max_length=20,
                    ),
                ),
                (
                    "subscribed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "unsubscribe_reason",
                    fields.CharEnumField(
                        null=True,
                        description="BOUNCED: BOUNCED\nMANUAL: MANUAL\nOPTED_OUT: OPTED_OUT\nMARKED_SPAM: MARKED_SPAM",
                        enum_type=UnsubscribeReason,
                        max_length=20,
                    ),
                ),
                (
                    "email_risk",
                    fields.CharEnumField(
                        default=EmailRisk.VALID,
                        description="VALID: VALID\nHIGH_RISK: HIGH_RISK\nUNDELIVERABLE: UNDELIVERABLE",
                        enum_type=EmailRisk,
                        max_length=20,
                    ),
                ),
                ("is_customer", fields.BooleanField(default=False)),
                ("is_inactive", fields.BooleanField(default=False)),
                ("is_hard_bounced", fields.BooleanField(default=False)),
                ("is_excluded", fields.BooleanField(default=False)),
                (
                    "flags_computed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "last_opened_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "last_clicked_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "last_engaged_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "last_sent_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("sends_since_engagement", fields.IntField(default=0)),
                ("soft_bounces", fields.IntField(default=0)),
                (
                    "last_soft_bounce_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "hard_bounced_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("total_spent_cents", fields.BigIntField(default=0)),
                ("birth_date", fields.DateField(null=True)),
                ("country", fields.CharField(null=True, max_length=100)),
                (
                    "custom_fields",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={
                "table": "contacts",
                "app": "models",
                "unique_together": (("account_id", "email_lower"),),
                "indexes": [
                    Index(fields=["account_id", "created_at", "id"]),
                    Index(fields=["account_id", "last_opened_at", "id"]),
                    Index(fields=["account_id", "total_spent_cents", "id"]),
                    Index(fields=["account_id", "subscription_status", "last_engaged_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="EmailEvent",
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
                        related_name="email_events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "contact",
                    fields.ForeignKeyField(
                        "models.Contact",
                        source_field="contact_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="email_events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="SENT: SENT\nDELIVERED: DELIVERED\nOPENED: OPENED\nCLICKED: CLICKED\nBOUNCED_HARD: BOUNCED_HARD\nBOUNCED_SOFT: BOUNCED_SOFT\nCOMPLAINED: COMPLAINED\nUNSUBSCRIBED: UNSUBSCRIBED",
                        enum_type=EmailEventKind,
                        max_length=20,
                    ),
                ),
                ("campaign", fields.CharField(null=True, max_length=200)),
                ("occurred_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("external_id", fields.CharField(null=True, max_length=200)),
            ],
            options={
                "table": "email_events",
                "app": "models",
                "unique_together": (("account_id", "external_id"),),
                "indexes": [
                    Index(fields=["account_id", "contact_id", "kind", "occurred_at"]),
                    Index(fields=["account_id", "kind", "occurred_at", "contact_id"]),
                    Index(fields=["account_id", "campaign", "kind", "contact_id"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Product",
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
                        related_name="products",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("external_id", fields.CharField(max_length=200)),
                ("title", fields.CharField(max_length=300)),
                (
                    "kind",
                    fields.CharEnumField(
                        default=ProductKind.OFFER,
                        description="OFFER: OFFER\nCOURSE: COURSE",
                        enum_type=ProductKind,
                        max_length=10,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "products",
                "app": "models",
                "unique_together": (("account_id", "external_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OwnedProduct",
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
                        related_name="owned_products",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "contact",
                    fields.ForeignKeyField(
                        "models.Contact",
                        source_field="contact_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="owned_products",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "product",
                    fields.ForeignKeyField(
                        "models.Product",
                        source_field="product_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="owners",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "source",
                    fields.CharEnumField(
                        description="PURCHASE: PURCHASE\nGRANT: GRANT",
                        enum_type=GrantSource,
                        max_length=10,
                    ),
                ),
                ("granted_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("progress", fields.SmallIntField(default=0)),
            ],
            options={
                "table": "owned_products",
                "app": "models",
                "unique_together": (("account_id", "contact_id", "product_id"),),
                "indexes": [Index(fields=["account_id", "product_id", "contact_id", "progress"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Purchase",
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
                        related_name="purchases",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "contact",
                    fields.ForeignKeyField(
                        "models.Contact",
                        source_field="contact_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="purchases",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "product",
                    fields.ForeignKeyField(
                        "models.Product",
                        source_field="product_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="purchases",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("amount_cents", fields.BigIntField()),
                ("currency", fields.CharField(max_length=3)),
                ("occurred_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "purchases",
                "app": "models",
                "indexes": [
                    Index(fields=["account_id", "contact_id", "occurred_at"]),
                    Index(fields=["account_id", "product_id", "contact_id", "occurred_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Segment",
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
                        related_name="segments",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=200)),
                ("name_lower", fields.CharField(max_length=200)),
                ("description", fields.TextField(null=True, unique=False)),
                (
                    "kind",
                    fields.CharEnumField(
                        default=SegmentKind.CUSTOM,
                        description="DEFAULT: DEFAULT\nCUSTOM: CUSTOM",
                        enum_type=SegmentKind,
                        max_length=10,
                    ),
                ),
                (
                    "default_key",
                    fields.CharEnumField(
                        null=True,
                        description="ALL_CONTACTS: ALL_CONTACTS\nCUSTOMERS: CUSTOMERS\nSUBSCRIBED: SUBSCRIBED\nINACTIVE: INACTIVE\nHARD_BOUNCED: HARD_BOUNCED\nEXCLUDED: EXCLUDED",
                        enum_type=DefaultSegment,
                        max_length=20,
                    ),
                ),
                ("filter_json", fields.TextField(null=True, unique=False)),
                ("cached_count", fields.BigIntField(null=True)),
                (
                    "count_computed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("count_stale", fields.BooleanField(default=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "segments",
                "app": "models",
                "unique_together": (("account_id", "name_lower"), ("account_id", "default_key")),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SegmentCountSnapshot",
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
                        related_name="segment_snapshots",
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
                        related_name="snapshots",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("day", fields.DateField()),
                ("count", fields.BigIntField()),
            ],
            options={
                "table": "segment_count_snapshots",
                "app": "models",
                "unique_together": (("account_id", "segment_id", "day"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Tag",
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
                        related_name="tags",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=200)),
                ("name_lower", fields.CharField(max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "tags",
                "app": "models",
                "unique_together": (("account_id", "name_lower"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ContactTag",
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
                        related_name="contact_tags",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "contact",
                    fields.ForeignKeyField(
                        "models.Contact",
                        source_field="contact_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tag_links",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "tag",
                    fields.ForeignKeyField(
                        "models.Tag",
                        source_field="tag_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="contact_links",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "contact_tags",
                "app": "models",
                "unique_together": (("account_id", "contact_id", "tag_id"),),
                "indexes": [Index(fields=["account_id", "tag_id", "contact_id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
