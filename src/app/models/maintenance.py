"""The record of each account's maintenance runs, and the leases that keep two runs apart."""

from tortoise import fields
from tortoise.models import Model

from app.enums import JobStatus, RunTrigger
from app.models.account import Account
from app.models.fields import nullable_text


class MaintenanceRun(Model):
    # One run of the nightly work for one account: the flags, then every segment's count.

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="maintenance_runs", on_delete=fields.CASCADE
    )
    trigger = fields.CharEnumField(RunTrigger, max_length=10)
    # The night a scheduled run is for: a redelivered task finds it done and does nothing.
    day = fields.DateField(null=True)
    status = fields.CharEnumField(JobStatus, max_length=10, default=JobStatus.RUNNING)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    flags_changed = fields.IntField(null=True)
    counts_refreshed = fields.IntField(null=True)
    error = nullable_text()

    class Meta:
        table = "maintenance_runs"
        indexes = (("account_id", "started_at"), ("account_id", "day", "status"))


class Lease(Model):
    # A lock with an owner and an expiry, for the embedded mode (Redis holds them otherwise).

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="leases", on_delete=fields.CASCADE
    )
    purpose = fields.CharField(max_length=50)
    owner = fields.CharField(max_length=64)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "leases"
        unique_together = (("account_id", "purpose"),)
