"""The Account type: the token's account, the settings its engagement rules use, and its
nightly maintenance."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from app.enums import JobStatus
from app.graphql.context import Info
from app.models import Account as AccountModel
from app.models import MaintenanceRun as MaintenanceRunModel
from app.schedule import next_nightly_run
from app.services.maintenance import last_run


@strawberry.type
class AccountSettings:
    inactivity_days: int
    soft_bounce_threshold: int
    unengaged_send_threshold: int


@strawberry.type(name="MaintenanceRun")
class MaintenanceRunType:
    started_at: datetime
    finished_at: datetime | None
    status: JobStatus
    flags_changed: int | None
    counts_refreshed: int | None
    error: str | None

    @classmethod
    def from_model(cls, run: MaintenanceRunModel) -> MaintenanceRunType:
        return cls(
            started_at=run.started_at,
            finished_at=run.finished_at,
            status=run.status,
            flags_changed=run.flags_changed,
            counts_refreshed=run.counts_refreshed,
            error=run.error,
        )


@strawberry.type
class AccountMaintenance:
    last_run: MaintenanceRunType | None = strawberry.field(
        description="The last run of the nightly work (flags, then counts) for this account."
    )
    next_run_at: datetime | None = strawberry.field(
        description="When the schedule runs it next; null when nothing schedules it."
    )


@strawberry.type(name="Account")
class AccountType(relay.Node):
    id: relay.NodeID[int]
    name: str
    settings: AccountSettings

    @strawberry.field
    async def maintenance(self, info: Info) -> AccountMaintenance:
        run = await last_run(int(self.id))
        return AccountMaintenance(
            last_run=MaintenanceRunType.from_model(run) if run else None,
            next_run_at=next_nightly_run(info.context.settings, info.context.now),
        )

    @classmethod
    def from_model(cls, account: AccountModel) -> AccountType:
        return cls(
            id=account.id,
            name=account.name,
            settings=AccountSettings(
                inactivity_days=account.inactivity_days,
                soft_bounce_threshold=account.soft_bounce_threshold,
                unengaged_send_threshold=account.unengaged_send_threshold,
            ),
        )

    @classmethod
    def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        # An account sees only itself.
        account = info.context.account
        return [cls.from_model(account) if str(account.id) == str(i) else None for i in node_ids]
