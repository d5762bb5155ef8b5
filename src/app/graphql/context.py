"""The typed per-request context: who is asking, when, and the request's DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as StrawberryInfo

from app.graphql.loaders import Loaders
from app.models import Account
from app.settings import Settings


@dataclass
class Context:
    request: Request
    response: Response
    account: Account
    request_id: str
    # One clock per request: relative windows in one response agree with each other.
    now: datetime
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.account, self.now)

    @property
    def settings(self) -> Settings:
        settings: Settings = self.request.app.state.settings
        return settings


Info = StrawberryInfo[Context, None]
