"""Saved segments (the six defaults and custom ones), their daily counts, and bulk jobs."""

from tortoise import fields
from tortoise.models import Model

from app.enums import DefaultSegment, JobStatus, SegmentKind
from app.models.account import Account
from app.models.fields import json_object, nullable_enum, nullable_text


class Segment(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="segments", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    name_lower = fields.CharField(max_length=200)
    description = nullable_text()
    kind = fields.CharEnumField(SegmentKind, max_length=10, default=SegmentKind.CUSTOM)
    default_key = nullable_enum(DefaultSegment, max_length=20)
    # Canonical filter JSON (app.filters.codec); null for the defaults, whose rules live in code.
    filter_json = nullable_text()
    cached_count = fields.BigIntField(null=True)
    # When the cached count was read; a refresh first stamps count_started_at and clears
    # count_stale, so a change during the count marks it stale again, and a refresh that
    # never finished shows as started after the last count (app.services.counts).
    count_computed_at = fields.DatetimeField(null=True)
    count_started_at = fields.DatetimeField(null=True)
    count_stale = fields.BooleanField(default=True)
    # When the members were last computed (app.services.membership); null: never, so the
    # first computation records no changes. Changes up to `changes_notified_id` have had
    # their webhook deliveries written.
    members_computed_at = fields.DatetimeField(null=True)
    changes_notified_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "segments"
        unique_together = (("account_id", "name_lower"), ("account_id", "default_key"))


class SegmentCountSnapshot(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="segment_snapshots", on_delete=fields.CASCADE
    )
    segment: fields.ForeignKeyRelation[Segment] = fields.ForeignKeyField(
        "models.Segment", related_name="snapshots", on_delete=fields.CASCADE
    )
    day = fields.DateField()
    count = fields.BigIntField()

    class Meta:
        table = "segment_count_snapshots"
        unique_together = (("account_id", "segment_id", "day"),)


class BulkJob(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="bulk_jobs", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=50)
    status = fields.CharEnumField(JobStatus, max_length=10, default=JobStatus.QUEUED)
    params = json_object()
    processed = fields.BigIntField(default=0)
    total = fields.BigIntField(null=True)
    error = nullable_text()
    created_at = fields.DatetimeField(auto_now_add=True)
    # Set once a broker took the task; jobs still without it are sent again by the sweep.
    dispatched_at = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "bulk_jobs"
        indexes = (("account_id", "status", "created_at"),)
