"""The domain's closed sets become GraphQL enums under the contract's names. strawberry.enum
marks the classes in place, so types annotate with the domain enums themselves."""

import strawberry

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
from app.services.errors import ErrorCode

for _enum in (
    DefaultSegment,
    EmailEventKind,
    EmailRisk,
    GrantSource,
    JobStatus,
    ProductKind,
    SegmentKind,
    SubscriptionStatus,
    UnsubscribeReason,
):
    strawberry.enum(_enum)
strawberry.enum(ErrorCode, name="UserErrorCode")

__all__ = [
    "DefaultSegment",
    "EmailEventKind",
    "EmailRisk",
    "ErrorCode",
    "GrantSource",
    "JobStatus",
    "ProductKind",
    "SegmentKind",
    "SubscriptionStatus",
    "UnsubscribeReason",
]
