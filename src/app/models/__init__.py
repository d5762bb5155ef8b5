"""Tortoise models. Every table carries `account_id` and every index leads with it."""

from app.models.account import Account, ApiToken
from app.models.automation import (
    MembershipChange,
    SegmentSnapshot,
    Webhook,
    WebhookDelivery,
)
from app.models.contact import Contact
from app.models.email_event import EmailEvent
from app.models.maintenance import Lease, MaintenanceRun
from app.models.product import OwnedProduct, Product, Purchase
from app.models.segment import BulkJob, Segment, SegmentCountSnapshot
from app.models.tag import ContactTag, Tag

__all__ = [
    "Account",
    "ApiToken",
    "BulkJob",
    "Contact",
    "ContactTag",
    "EmailEvent",
    "Lease",
    "MaintenanceRun",
    "MembershipChange",
    "OwnedProduct",
    "Product",
    "Purchase",
    "Segment",
    "SegmentCountSnapshot",
    "SegmentSnapshot",
    "Tag",
    "Webhook",
    "WebhookDelivery",
]
