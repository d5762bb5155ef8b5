from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.enums import JobStatus, RunTrigger


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Lease",
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
                        related_name="leases",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("purpose", fields.CharField(max_length=50)),
                ("owner", fields.CharField(max_length=64)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "leases",
                "app": "models",
                "unique_together": (("account_id", "purpose"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MaintenanceRun",
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
                        related_name="maintenance_runs",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "trigger",
                    fields.CharEnumField(
                        description="SCHEDULE: SCHEDULE\nMANUAL: MANUAL\nSETTINGS: SETTINGS\nCOMMAND: COMMAND",
                        enum_type=RunTrigger,
                        max_length=10,
                    ),
                ),
                ("day", fields.DateField(null=True)),
                (
                    "status",
                    fields.CharEnumField(
                        default=JobStatus.RUNNING,
                        description="QUEUED: QUEUED\nRUNNING: RUNNING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED",
                        enum_type=JobStatus,
                        max_length=10,
                    ),
                ),
                ("started_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("flags_changed", fields.IntField(null=True)),
                ("counts_refreshed", fields.IntField(null=True)),
                ("error", fields.TextField(null=True, unique=False)),
            ],
            options={
                "table": "maintenance_runs",
                "app": "models",
                "indexes": [
                    Index(fields=["account_id", "started_at"]),
                    Index(fields=["account_id", "day", "status"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Account",
            name="flags_evaluated_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="BulkJob",
            name="dispatched_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="Segment",
            name="count_started_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
