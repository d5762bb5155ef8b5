"""Campaigns, for a filter builder's `emailActivity.campaign` choices: a connection, newest
first, with keyset cursors on (last event, name)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

import strawberry
from strawberry import relay

from app.graphql.context import Info
from app.graphql.errors import PublicError
from app.graphql.pagination import Edge, Window, page_info, page_request
from app.limits import MAX_DATE, MAX_SHORT_TEXT, MIN_DATE
from app.services import campaigns
from app.text import text_problem

_ORDER_KEY = "campaigns"


@strawberry.type(name="Campaign")
class CampaignType:
    name: str
    first_event_at: datetime
    last_event_at: datetime
    sent: int = strawberry.field(description="SENT events recorded for the campaign.")

    @classmethod
    def from_domain(cls, campaign: campaigns.Campaign) -> CampaignType:
        return cls(
            name=campaign.name,
            first_event_at=campaign.first_event_at,
            last_event_at=campaign.last_event_at,
            sent=campaign.sent,
        )


@strawberry.type
class CampaignEdge(Edge[CampaignType]):
    pass


@strawberry.type
class CampaignConnection:
    edges: list[CampaignEdge]
    page_info: relay.PageInfo
    account_id: strawberry.Private[int]

    @strawberry.field(description="How many campaigns the account's events name.")
    async def total_count(self) -> int:
        return await campaigns.count(self.account_id)


def encode_position(campaign: campaigns.Campaign) -> str:
    payload = [_ORDER_KEY, campaign.last_event_at.isoformat(), campaign.name]
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


_FOREIGN = "That cursor is not one this API gave out."


def decode_position(cursor: str) -> campaigns.Position:
    """The position in a cursor, checked: a time within the API's range and a campaign name."""
    try:
        key, moment, name = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        at = datetime.fromisoformat(moment)
        if at.tzinfo is not None:
            at = at.astimezone(UTC)
    except (binascii.Error, ValueError, TypeError, UnicodeError, RecursionError, OverflowError):
        raise PublicError(_FOREIGN) from None
    valid_name = isinstance(name, str) and len(name) <= MAX_SHORT_TEXT and not text_problem(name)
    if key != _ORDER_KEY or not valid_name or at.tzinfo is None:
        raise PublicError(_FOREIGN)
    if not MIN_DATE <= at.date() <= MAX_DATE:
        raise PublicError(_FOREIGN)
    return campaigns.Position(at, name)


async def campaign_connection(
    info: Info, first: int | None, after: str | None
) -> CampaignConnection:
    size = page_request(first, None, None, None, _ORDER_KEY).size  # checked as every page's
    position = decode_position(after) if after else None
    account_id = info.context.account.id
    found = await campaigns.page(account_id, limit=size + 1, after=position)
    rows = [{"campaign": c} for c in found[:size]]
    win = Window(rows, has_next=len(found) > size, has_previous=position is not None)
    edges = [
        CampaignEdge(
            cursor=encode_position(r["campaign"]), node=CampaignType.from_domain(r["campaign"])
        )
        for r in win.rows
    ]
    return CampaignConnection(edges=edges, page_info=page_info(edges, win), account_id=account_id)
