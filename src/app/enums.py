"""Closed sets shared by the models, the services and the API."""

from enum import StrEnum


class SubscriptionStatus(StrEnum):
    SUBSCRIBED = "SUBSCRIBED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    NEVER_SUBSCRIBED = "NEVER_SUBSCRIBED"


class UnsubscribeReason(StrEnum):
    BOUNCED = "BOUNCED"
    MANUAL = "MANUAL"
    OPTED_OUT = "OPTED_OUT"
    MARKED_SPAM = "MARKED_SPAM"


class EmailRisk(StrEnum):
    VALID = "VALID"
    HIGH_RISK = "HIGH_RISK"
    UNDELIVERABLE = "UNDELIVERABLE"


class EmailEventKind(StrEnum):
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    OPENED = "OPENED"
    CLICKED = "CLICKED"
    BOUNCED_HARD = "BOUNCED_HARD"
    BOUNCED_SOFT = "BOUNCED_SOFT"
    COMPLAINED = "COMPLAINED"
    UNSUBSCRIBED = "UNSUBSCRIBED"


class GrantSource(StrEnum):
    PURCHASE = "PURCHASE"
    GRANT = "GRANT"


class ProductKind(StrEnum):
    OFFER = "OFFER"
    COURSE = "COURSE"


class SegmentKind(StrEnum):
    DEFAULT = "DEFAULT"
    CUSTOM = "CUSTOM"


class DefaultSegment(StrEnum):
    ALL_CONTACTS = "ALL_CONTACTS"
    CUSTOMERS = "CUSTOMERS"
    SUBSCRIBED = "SUBSCRIBED"
    INACTIVE = "INACTIVE"
    HARD_BOUNCED = "HARD_BOUNCED"
    EXCLUDED = "EXCLUDED"


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class RunTrigger(StrEnum):
    """What started a maintenance run."""

    SCHEDULE = "SCHEDULE"  # the nightly schedule (Celery beat, or the embedded scheduler)
    MANUAL = "MANUAL"  # accountRecompute
    SETTINGS = "SETTINGS"  # a change of the engagement settings
    COMMAND = "COMMAND"  # `segments recompute`


class CustomFieldKind(StrEnum):
    """The kinds of value a custom field key holds, as the filter's conditions see them."""

    STRING = "STRING"
    NUMBER = "NUMBER"
    DATE = "DATE"  # a string that starts with a day, YYYY-MM-DD
    BOOLEAN = "BOOLEAN"
    OTHER = "OTHER"  # objects and lists


class MembershipChangeKind(StrEnum):
    ENTERED = "ENTERED"
    LEFT = "LEFT"


class WebhookEvent(StrEnum):
    SEGMENT_MEMBERSHIP_CHANGED = "SEGMENT_MEMBERSHIP_CHANGED"
    BULK_JOB_FINISHED = "BULK_JOB_FINISHED"
    MAINTENANCE_RUN_FINISHED = "MAINTENANCE_RUN_FINISHED"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
