"""The six default segments as filters over the contact's fields and stored flags.

The flags themselves (is_inactive, is_hard_bounced, is_excluded) follow the rules in
app/engagement.py, the only place that states them: applied at once to the contacts a change
touches, and nightly to every contact as time passes.
"""

from __future__ import annotations

from app.enums import DefaultSegment, SubscriptionStatus
from app.filters import ast

DEFAULT_FILTERS: dict[DefaultSegment, ast.Filter | None] = {
    DefaultSegment.ALL_CONTACTS: None,
    DefaultSegment.CUSTOMERS: ast.FlagIs("is_customer", True),
    DefaultSegment.SUBSCRIBED: ast.SubscriptionStatusIn((SubscriptionStatus.SUBSCRIBED,)),
    DefaultSegment.INACTIVE: ast.FlagIs("is_inactive", True),
    DefaultSegment.HARD_BOUNCED: ast.FlagIs("is_hard_bounced", True),
    DefaultSegment.EXCLUDED: ast.FlagIs("is_excluded", True),
}


def default_filter(key: DefaultSegment) -> ast.Filter | None:
    """None stands for every contact of the account."""
    return DEFAULT_FILTERS[key]
