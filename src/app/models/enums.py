"""Closed sets shared by the models, the services and the API."""

from enum import Enum


class SubscriptionStatus(str, Enum):
    SUBSCRIBED = "SUBSCRIBED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    NEVER_SUBSCRIBED = "NEVER_SUBSCRIBED"


class UnsubscribeReason(str, Enum):
    BOUNCED = "BOUNCED"
    MANUAL = "MANUAL"
    OPTED_OUT = "OPTED_OUT"
    MARKED_SPAM = "MARKED_SPAM"


class EmailRisk(str, Enum):
    VALID = "VALID"
    HIGH_RISK = "HIGH_RISK"
    UNDELIVERABLE = "UNDELIVERABLE"


class EmailEventKind(str, Enum):
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    OPENED = "OPENED"
    CLICKED = "CLICKED"
    BOUNCED_HARD = "BOUNCED_HARD"
    BOUNCED_SOFT = "BOUNCED_SOFT"
    COMPLAINED = "COMPLAINED"
    UNSUBSCRIBED = "UNSUBSCRIBED"


class GrantSource(str, Enum):
    PURCHASE = "PURCHASE"
    GRANT = "GRANT"


class ProductKind(str, Enum):
    OFFER = "OFFER"
    COURSE = "COURSE"


class SegmentKind(str, Enum):
    DEFAULT = "DEFAULT"
    CUSTOM = "CUSTOM"


class DefaultSegment(str, Enum):
    ALL_CONTACTS = "ALL_CONTACTS"
    CUSTOMERS = "CUSTOMERS"
    SUBSCRIBED = "SUBSCRIBED"
    INACTIVE = "INACTIVE"
    HARD_BOUNCED = "HARD_BOUNCED"
    EXCLUDED = "EXCLUDED"


class JobStatus(str, Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
