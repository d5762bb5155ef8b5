"""The typed per-request context: who is asking (the token's account)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as StrawberryInfo

from app.models import Account


@dataclass
class Context:
    request: Request
    response: Response
    account: Account


Info = StrawberryInfo[Context, None]
