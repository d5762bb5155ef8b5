"""Every bound on input and on the work one request may ask for, named once. The README's
"Limits" section lists them; the checks that enforce them live in app.checks (values), the
GraphQL layer (requests) and the filter validator (filters)."""

from __future__ import annotations

from datetime import date

# -- requests -------------------------------------------------------------------------------
MAX_BODY_BYTES = 2_000_000  # a request body; a full batch of 1 000 contacts fits easily
MAX_JSON_DEPTH = 64  # nesting of a request's JSON, variables included
MAX_QUERY_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5_000
# The objects one request may return, bounded from its document and variables before it runs
# (app.graphql.cost): a page of 500 contacts with their tags, products and segments bounds at
# about 51 000; a segment's members nested under a page of contacts at 400 000 and more.
MAX_QUERY_COST = 100_000
MAX_TOKEN_LENGTH = 200  # an Authorization header's token

# -- pages and batches ------------------------------------------------------------------------
DEFAULT_PAGE = 50
MAX_PAGE = 500
MAX_BATCH = 1_000  # items of one batch mutation, ids of contactsTag
# Contacts one contactsDelete erases, with their events, purchases and links, in one
# transaction: 0.6 s for 1 000 contacts of 25 events each among 5 M events (PostgreSQL).
MAX_DELETE_IDS = 1_000
MAX_SAMPLE = 100  # segmentPreview's sample
MAX_HISTORY_DAYS = 366

# -- automations ------------------------------------------------------------------------------
MAX_WEBHOOKS = 20  # per account
MAX_WEBHOOK_URL = 2_000  # characters
MAX_DELIVERY_IDS = 1_000  # contact ids (entered and left) in one SEGMENT_MEMBERSHIP_CHANGED
# Live snapshots per account: each may copy every contact of the account.
MAX_SNAPSHOTS = 100

# -- text -------------------------------------------------------------------------------------
MAX_EMAIL = 320
MAX_NAME = 200  # first and last names, segment and account names, tag names
MAX_COUNTRY = 100
MAX_DESCRIPTION = 2_000
MAX_SHORT_TEXT = 200  # campaigns, external ids, product ids
MAX_TITLE = 300  # product titles
MAX_TAGS_PER_CALL = 100  # tags added or removed by one call (or given for one contact)

# -- custom fields ----------------------------------------------------------------------------
MAX_CUSTOM_KEYS = 100  # keys of one contact's custom fields, after merging
MAX_CUSTOM_KEY = 100  # characters of a key
MAX_CUSTOM_DEPTH = 4  # nesting of objects and arrays inside a value
MAX_CUSTOM_BYTES = 16_384  # one contact's custom fields, as JSON

# -- numbers and dates ------------------------------------------------------------------------
MAX_CENTS = 10**12  # one purchase: ten billion in any currency
MIN_DATE = date(1900, 1, 1)  # birth dates, and every time given to the API
MAX_DATE = date(2200, 12, 31)

# -- CSV import -------------------------------------------------------------------------------
# Characters of one line of an imported file, and of one cell (a quoted cell may span lines):
# a longer one is read past, never held whole, and its row reported. A row of valid values is
# a small fraction of this; each value's own bound is checked on top.
MAX_CSV_LINE = 1_000_000
