"""The benchmark's data: a realistic account generated inside PostgreSQL (generate_series), or
the demo seeder's account in a SQLite file, each recorded with a marker (`bench_dataset`) so a
run that reuses the database (`--keep`) checks it holds what was asked for.

PostgreSQL, per contact (N contacts, ids in sign-up order, as rows inserted over time lie):
signed up over two years (skewed to recent), 90% opted in, an eighth of them gone again; 1% of
the addresses undeliverable, 3% high risk; names, a weighted email domain and country, a birth
date for 30%, custom fields (`plan`, `score`, `signup_source`, sometimes `company` and the date
`quiz_completed_on`) for 92%. Email: the demo's campaign calendar (a newsletter every four weeks
to everyone, a promotion to 45% of the list in between), while subscribed: SENT, then DELIVERED
or a bounce (soft or hard; nothing after a hard bounce), OPENED and CLICKED by habit (fans,
regular readers, occasional readers, never-openers; some fade during the year), and an
UNSUBSCRIBED event for those who left: about 20 events per contact. Tags: the demo's 19 tags by
their share, `vip` and `student` by purchases, and a long tail of 480 `interest-NNN` tags drawn
by a Zipf law (the first on ~10% of the contacts, the last on ~0.02%). A quarter of the
contacts own one to three of the demo's 8 products (15% granted, the rest bought, some with a
coupon, a tenth bought again later). The contacts' summary fields are set from their events in
one UPDATE, the flags by `app.engagement.recompute_flags`, then the table is clustered on id
and everything vacuumed and analyzed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from common import HarnessError

from app.db import apply_migrations, database
from app.engagement import recompute_flags
from app.models import Account
from app.services.accounts import create_account
from app.services.demo import PRODUCTS, campaign_schedule, seed_demo, tag_catalogue
from app.settings import Settings

VERSION = 1  # bump when the generated data changes shape: a kept database is then refused
TAIL_TAGS = 480

MARKER_TABLE = """CREATE TABLE IF NOT EXISTS bench_dataset (
    version integer NOT NULL, contacts integer NOT NULL, account_id bigint NOT NULL,
    now timestamptz NOT NULL, generated_at timestamptz NOT NULL, seconds real NOT NULL,
    summary text NOT NULL)"""
SQLITE_MARKER_TABLE = MARKER_TABLE.replace("timestamptz", "text").replace("bigint", "integer")

FIRST = [
    "Emma",
    "Olivia",
    "Ava",
    "Sophia",
    "Mia",
    "Isabella",
    "Amelia",
    "Harper",
    "Evelyn",
    "Abigail",
    "Emily",
    "Ella",
    "Chloe",
    "Grace",
    "Zoe",
    "Lea",
    "Chiara",
    "Ingrid",
    "Aisha",
    "Priya",
    "Yuki",
    "Mei",
    "Ana",
    "Lucia",
    "Fatima",
    "Nora",
    "Sara",
    "Hannah",
    "Julia",
    "Camille",
    "Liam",
    "Noah",
    "Oliver",
    "Elijah",
    "James",
    "William",
    "Benjamin",
    "Lucas",
    "Henry",
    "Alexander",
    "Daniel",
    "Matthew",
    "Jack",
    "Leo",
    "Mateo",
    "Jose",
    "Luca",
    "Lars",
    "Jonas",
    "Felix",
    "Arjun",
    "Rahul",
    "Kenji",
    "Omar",
    "Diego",
    "Pedro",
    "Tom",
    "Sam",
    "Max",
    "Ben",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Muller",
    "Schmidt",
    "Schneider",
    "Dubois",
    "Lefevre",
    "Rossi",
    "Bianchi",
    "Jansen",
    "Andersson",
    "Nielsen",
    "Kowalski",
    "Novak",
    "Silva",
    "Santos",
    "Pereira",
    "Kumar",
    "Sharma",
    "Patel",
    "Tanaka",
    "Sato",
    "Kim",
    "Nguyen",
    "OBrien",
    "Murphy",
    "Kelly",
]


def weighted(pairs: list[tuple[Any, int]]) -> list[Any]:
    """Each value repeated by its weight: a uniform pick from the list is a weighted pick."""
    return [value for value, weight in pairs for _ in range(weight)]


DOMAINS = weighted(
    [("gmail.com", 40), ("yahoo.com", 8), ("outlook.com", 8), ("icloud.com", 7),
     ("hotmail.com", 6), ("live.com", 2), ("me.com", 2), ("proton.me", 2), ("aol.com", 1),
     ("gmx.de", 1), ("web.de", 1), ("orange.fr", 1), ("studio-lumen.com", 1),
     ("brightpixel.co", 1), ("northwind.io", 1), ("acme-photo.com", 1)]
)  # fmt: skip
COUNTRIES = weighted(
    [("US", 34), ("GB", 10), ("CA", 7), ("DE", 6), ("IN", 6), ("AU", 5), ("FR", 5), ("BR", 4),
     ("NL", 3), ("ES", 3), ("IT", 3), ("MX", 2), ("SE", 2), ("JP", 2), ("IE", 1), ("NZ", 1),
     ("ZA", 1), (None, 10)]
)  # fmt: skip
PLANS = weighted([("free", 60), ("starter", 25), ("pro", 12), ("team", 3)])
SOURCES = weighted(
    [("organic", 25), ("instagram", 18), ("youtube", 16), ("podcast", 8), ("referral", 8),
     ("facebook-ads", 10), ("google-ads", 6), ("webinar", 9)]
)  # fmt: skip
COMPANIES = ["Studio Lumen", "Brightpixel", "Northwind", "Freelance", "Acme Photo", "Self-employed"]


@dataclass(frozen=True)
class Dataset:
    url: str  # a PostgreSQL URL or sqlite://PATH
    account_id: int
    contacts: int
    now: datetime  # the data's "now": relative windows are evaluated against it
    seconds: float  # how long generating it took (when it was generated)
    summary: str
    reused: bool


def pick(values: list[Any], draw: str) -> str:
    """SQL: a uniform pick from a text[] literal by the random column `draw`."""
    items = ", ".join("NULL" if v is None else "'" + v.replace("'", "''") + "'" for v in values)
    return f"(ARRAY[{items}]::text[])[1 + floor({draw} * {len(values)})::int]"


# $1 now, $2 contacts, $3 the first contact id.
PEOPLE = f"""
CREATE TEMP TABLE bench_people AS
WITH r AS (
  SELECT g, random() AS age, random() AS sub, random() AS later, random() AS later2,
    random() AS stop, random() AS stop_at, random() AS risk, random() AS fn, random() AS ln,
    random() AS style, random() AS dom, random() AS ctry, random() AS bd, random() AS bdays,
    random() AS cf, random() AS plan, random() AS noise1, random() AS noise2, random() AS src,
    random() AS comp, random() AS compname, random() AS quiz, random() AS quizday,
    random() AS habit, random() AS popen, random() AS fade, random() AS fade_at,
    random() AS nofirst, random() AS nolast, random() AS tail, random() AS shop,
    random() AS shop2, random() AS shop3, random() AS optin
  FROM generate_series(1, $2) g
), b AS (
  SELECT r.*,
    $1::timestamptz - GREATEST(interval '1 hour', interval '730 days' * power(r.age, 1.5))
      AS created,
    {pick(FIRST, "r.fn")} AS first, {pick(LAST, "r.ln")} AS last,
    CASE WHEN r.risk < 0.01 THEN 'UNDELIVERABLE' WHEN r.risk < 0.04 THEN 'HIGH_RISK'
      ELSE 'VALID' END AS email_risk,
    CASE WHEN r.habit < 0.14 THEN 0.55 + 0.35 * r.popen WHEN r.habit < 0.64
      THEN 0.15 + 0.30 * r.popen WHEN r.habit < 0.86 THEN 0.03 + 0.09 * r.popen ELSE 0 END
      AS p_open,
    CASE WHEN r.habit < 0.14 THEN 0.25 WHEN r.habit < 0.64 THEN 0.15 WHEN r.habit < 0.86
      THEN 0.10 ELSE 0 END AS p_click
  FROM r
), s AS (
  SELECT b.*,
    CASE WHEN b.sub < 0.10 THEN NULL ELSE LEAST($1::timestamptz - interval '1 minute',
      b.created + interval '5 seconds' + interval '595 seconds' * b.later
      + CASE WHEN b.optin < 0.2 THEN ($1::timestamptz - b.created) * b.later2 * 0.5
        ELSE interval '0' END) END AS subscribed_at
  FROM b
)
SELECT $3::bigint - 1 + row_number() OVER (ORDER BY s.created, s.g) AS id, s.g,
  CASE WHEN s.style < 0.75 THEN lower(s.first || '.' || s.last) ELSE s.first || '.' || s.last
    END || s.g || '@' || {pick(DOMAINS, "s.dom")} AS email,
  CASE WHEN s.nofirst < 0.08 THEN NULL ELSE s.first END AS first_name,
  CASE WHEN s.nolast < 0.15 THEN NULL ELSE s.last END AS last_name,
  s.created AS created_at, s.subscribed_at,
  CASE WHEN s.subscribed_at IS NOT NULL AND s.stop < 0.14
    THEN s.subscribed_at + ($1::timestamptz - s.subscribed_at) * (0.02 + 0.96 * s.stop_at)
    END AS stop_at,
  s.email_risk,
  {pick(COUNTRIES, "s.ctry")} AS country,
  CASE WHEN s.bd < 0.3
    THEN ($1::timestamptz - interval '1 day' * (6575 + floor(s.bdays * 19700)))::date
    END AS birth_date,
  CASE WHEN s.cf < 0.08 THEN '{{}}'::jsonb ELSE jsonb_build_object(
      'plan', {pick(PLANS, "s.plan")},
      'score', GREATEST(0, LEAST(100, round(100 * s.p_open + 15
        + 12 * sqrt(-2 * ln(1 - s.noise1)) * cos(2 * pi() * s.noise2))))::int,
      'signup_source', {pick(SOURCES, "s.src")})
    || CASE WHEN s.comp < 0.15 THEN jsonb_build_object('company', {pick(COMPANIES, "s.compname")})
         ELSE '{{}}'::jsonb END
    || CASE WHEN s.quiz < 0.2 THEN jsonb_build_object('quiz_completed_on',
         to_char($1::timestamptz - interval '1 day' * (1 + 599 * s.quizday), 'YYYY-MM-DD'))
         ELSE '{{}}'::jsonb END
  END AS custom_fields,
  s.p_open, s.p_click,
  CASE WHEN s.p_open > 0 AND s.fade < 0.15
    THEN $1::timestamptz - interval '365 days' * s.fade_at END AS fade_at,
  CASE s.email_risk WHEN 'HIGH_RISK' THEN 0.08 ELSE 0.007 END AS p_soft,
  CASE s.email_risk WHEN 'HIGH_RISK' THEN 0.004 WHEN 'UNDELIVERABLE' THEN 1.0 ELSE 0.0003 END
    AS p_hard,
  floor(-ln(1 - s.tail) * 1.5)::int AS tail_tags,
  CASE WHEN s.shop >= 0.25 THEN 0 WHEN s.shop2 < 0.65 THEN 1 WHEN s.shop3 < 0.7 THEN 2 ELSE 3 END
    AS products
FROM s
"""

CONTACTS = """
INSERT INTO contacts (id, account_id, email, email_lower, first_name, last_name, created_at,
  updated_at, subscription_status, subscribed_at, unsubscribe_reason, email_risk, is_customer,
  is_inactive, is_hard_bounced, is_excluded, sends_since_engagement, soft_bounces,
  total_spent_cents, birth_date, country, custom_fields)
SELECT p.id, $1, p.email, lower(p.email), p.first_name, p.last_name, p.created_at, $2::timestamptz,
  CASE WHEN p.subscribed_at IS NULL THEN 'NEVER_SUBSCRIBED' WHEN p.stop_at IS NOT NULL
    THEN 'UNSUBSCRIBED' ELSE 'SUBSCRIBED' END,
  p.subscribed_at, CASE WHEN p.stop_at IS NOT NULL THEN 'OPTED_OUT' END, p.email_risk,
  false, false, false, false, 0, 0, 0, p.birth_date, p.country, p.custom_fields
FROM bench_people p ORDER BY p.id
"""

# Campaign sends while subscribed, and what followed each; in time order, as they arrive.
EVENTS = """
INSERT INTO email_events (account_id, contact_id, kind, campaign, occurred_at)
SELECT $1, s.id, v.kind, s.name, v.at
FROM (
  SELECT p.id, k.name, k.sent_at + interval '900 seconds' * random() AS at, random() AS r,
    random() AS o, random() AS cl, p.p_open, p.p_click, p.p_soft, p.p_hard, p.fade_at,
    interval '1 hour' * (-ln(1 - random())) * CASE WHEN random() < 0.6 THEN 1 ELSE 18 END
      AS open_delay,
    interval '1 second' * (5 + 895 * random()) AS click_delay
  FROM bench_people p JOIN bench_campaigns k ON k.sent_at >= p.subscribed_at
    AND (p.stop_at IS NULL OR k.sent_at < p.stop_at)
  WHERE k.audience >= 1 OR random() + 0 * p.g < k.audience  -- per pair, not per campaign
) s
CROSS JOIN LATERAL (VALUES
  ('SENT', s.at),
  (CASE WHEN s.r < s.p_hard THEN 'BOUNCED_HARD' WHEN s.r < s.p_hard + s.p_soft
     THEN 'BOUNCED_SOFT' ELSE 'DELIVERED' END, s.at + interval '30 seconds'),
  (CASE WHEN s.r >= s.p_hard + s.p_soft AND s.o < s.p_open
     AND (s.fade_at IS NULL OR s.at < s.fade_at) THEN 'OPENED' END, s.at + s.open_delay),
  (CASE WHEN s.r >= s.p_hard + s.p_soft AND s.o < s.p_open
     AND (s.fade_at IS NULL OR s.at < s.fade_at) AND s.cl < s.p_click THEN 'CLICKED' END,
   s.at + s.open_delay + s.click_delay)
) v(kind, at)
WHERE v.kind IS NOT NULL AND v.at <= $2::timestamptz
ORDER BY v.at
"""

UNSUBSCRIBES = """
INSERT INTO email_events (account_id, contact_id, kind, campaign, occurred_at)
SELECT $1, p.id, 'UNSUBSCRIBED', NULL, p.stop_at FROM bench_people p
WHERE p.stop_at >= $2::timestamptz - interval '365 days' ORDER BY p.stop_at
"""

# No mail reaches an address after its first hard bounce.
AFTER_HARD_BOUNCE = """
DELETE FROM email_events e USING (
  SELECT contact_id, min(occurred_at) AS first_bounce FROM email_events
  WHERE account_id = $1 AND kind = 'BOUNCED_HARD' GROUP BY contact_id) h
WHERE e.account_id = $1 AND e.contact_id = h.contact_id AND e.occurred_at > h.first_bounce
"""

OWNED = """
CREATE TEMP TABLE bench_owned AS
SELECT DISTINCT ON (x.id, k.id) x.id AS contact_id, k.id AS product_id, k.kind, k.price,
  x.since + ($1::timestamptz - interval '1 minute' - x.since) * random() AS at,
  random() AS src, random() AS coupon, random() AS off, random() AS prog, random() AS prog2,
  random() AS again, random() AS again_at
FROM (SELECT p.id, p.products, GREATEST(p.created_at, $1::timestamptz - interval '365 days')
        AS since FROM bench_people p WHERE p.products > 0) x
CROSS JOIN LATERAL generate_series(1, x.products) i
CROSS JOIN LATERAL (SELECT random() + 0 * i AS r) d
JOIN bench_products k ON d.r * k.total >= k.lo AND d.r * k.total < k.hi
ORDER BY x.id, k.id
"""

OWNED_PRODUCTS = """
INSERT INTO owned_products (account_id, contact_id, product_id, source, granted_at, progress)
SELECT $1, o.contact_id, o.product_id, CASE WHEN o.src < 0.15 THEN 'GRANT' ELSE 'PURCHASE' END,
  o.at, CASE WHEN o.kind <> 'COURSE' OR o.prog < 0.3 THEN 0
    WHEN o.prog < 0.7 THEN 1 + floor(o.prog2 * 60)::int
    WHEN o.prog < 0.85 THEN 61 + floor(o.prog2 * 39)::int ELSE 100 END
FROM bench_owned o ORDER BY o.at
"""

PURCHASES = """
INSERT INTO purchases (account_id, contact_id, product_id, amount_cents, currency, occurred_at)
SELECT $1, x.contact_id, x.product_id, x.amount, 'USD', x.at FROM (
  SELECT o.contact_id, o.product_id, o.at, CASE WHEN o.coupon < 0.2
    THEN (round(o.price * (0.5 + 0.3 * o.off) / 100) * 100)::bigint ELSE o.price END AS amount
  FROM bench_owned o WHERE o.src >= 0.15
  UNION ALL
  SELECT o.contact_id, o.product_id, o.at + ($2::timestamptz - o.at) * o.again_at, o.price
  FROM bench_owned o WHERE o.src >= 0.15 AND o.again < 0.1
) x ORDER BY x.at
"""

HEAD_TAG_LINKS = """
INSERT INTO contact_tags (account_id, contact_id, tag_id, created_at)
SELECT $1, p.id, h.id, p.created_at FROM bench_people p JOIN bench_head_tags h
  ON random() + 0 * p.g < h.share  -- a draw per pair: on h alone it would be pushed down
"""

TAIL_TAG_LINKS = """
INSERT INTO contact_tags (account_id, contact_id, tag_id, created_at)
SELECT $1, x.id, t.id, x.created_at FROM (
  SELECT DISTINCT p.id, p.created_at,
    LEAST($2, floor(exp(random() * ln($2 + 1)))::int + 0 * i) AS rank
  FROM bench_people p CROSS JOIN LATERAL generate_series(1, p.tail_tags) i) x
JOIN tags t ON t.account_id = $1 AND t.name = 'interest-' || lpad(x.rank::text, 3, '0')
"""

PURCHASE_TAG_LINKS = """
INSERT INTO contact_tags (account_id, contact_id, tag_id, created_at)
SELECT $1, p.id, t.id, p.created_at FROM bench_people p
JOIN tags t ON t.account_id = $1 AND t.name = 'vip'
LEFT JOIN (SELECT contact_id, SUM(amount_cents) AS total FROM purchases WHERE account_id = $1
           GROUP BY contact_id) s ON s.contact_id = p.id
WHERE random() < 0.002 OR s.total >= 25000
UNION ALL
SELECT $1, p.id, t.id, p.created_at FROM bench_people p
JOIN tags t ON t.account_id = $1 AND t.name = 'student'
WHERE p.id IN (SELECT o.contact_id FROM bench_owned o WHERE o.kind = 'COURSE')
"""

# One pass over the events: latest times by kind, the sends and soft bounces after the last
# engagement (all of them when never engaged); a hard bounce after the last engagement
# unsubscribes, as app.services.events does. Customers and spend from what they own and paid.
SUMMARY = """
UPDATE contacts AS c SET last_opened_at = a.opened, last_clicked_at = a.clicked,
  last_engaged_at = a.engaged, last_sent_at = a.sent, hard_bounced_at = a.hard,
  last_soft_bounce_at = a.soft_at, sends_since_engagement = a.sends, soft_bounces = a.softs,
  subscription_status = CASE WHEN a.hard > COALESCE(a.engaged, '-infinity')
    AND a.hard >= c.subscribed_at THEN 'UNSUBSCRIBED' ELSE c.subscription_status END,
  unsubscribe_reason = CASE WHEN a.hard > COALESCE(a.engaged, '-infinity')
    AND a.hard >= c.subscribed_at THEN 'BOUNCED' ELSE c.unsubscribe_reason END
FROM (
  SELECT contact_id, max(engaged) AS engaged,
    max(occurred_at) FILTER (WHERE kind = 'OPENED') AS opened,
    max(occurred_at) FILTER (WHERE kind = 'CLICKED') AS clicked,
    max(occurred_at) FILTER (WHERE kind = 'SENT') AS sent,
    max(occurred_at) FILTER (WHERE kind = 'BOUNCED_HARD') AS hard,
    max(occurred_at) FILTER (WHERE kind = 'BOUNCED_SOFT') AS soft_at,
    count(*) FILTER (WHERE kind = 'SENT' AND (engaged IS NULL OR occurred_at > engaged)) AS sends,
    count(*) FILTER (WHERE kind = 'BOUNCED_SOFT'
      AND (engaged IS NULL OR occurred_at > engaged)) AS softs
  FROM (SELECT contact_id, kind, occurred_at,
          max(occurred_at) FILTER (WHERE kind IN ('OPENED', 'CLICKED'))
            OVER (PARTITION BY contact_id) AS engaged
        FROM email_events WHERE account_id = $1) e
  GROUP BY contact_id) a
WHERE c.account_id = $1 AND c.id = a.contact_id
"""

CUSTOMERS = """
UPDATE contacts AS c SET is_customer = true, total_spent_cents = COALESCE(s.total, 0)
FROM (SELECT DISTINCT contact_id FROM owned_products WHERE account_id = $1) o
LEFT JOIN (SELECT contact_id, SUM(amount_cents) AS total FROM purchases WHERE account_id = $1
           GROUP BY contact_id) s ON s.contact_id = o.contact_id
WHERE c.account_id = $1 AND c.id = o.contact_id
"""

SUMMARY_COUNTS = """
SELECT (SELECT count(*) FROM contacts WHERE account_id = $1) AS contacts,
  (SELECT count(*) FROM contacts WHERE account_id = $1
     AND subscription_status = 'SUBSCRIBED') AS subscribed,
  (SELECT count(*) FROM contacts WHERE account_id = $1 AND is_customer) AS customers,
  (SELECT count(*) FROM contacts WHERE account_id = $1 AND is_inactive) AS inactive,
  (SELECT count(*) FROM contacts WHERE account_id = $1 AND is_excluded) AS excluded,
  (SELECT count(*) FROM contacts WHERE account_id = $1 AND is_hard_bounced) AS hard_bounced,
  (SELECT count(*) FROM email_events WHERE account_id = $1) AS events,
  (SELECT count(DISTINCT campaign) FROM email_events WHERE account_id = $1) AS campaigns,
  (SELECT count(*) FROM tags WHERE account_id = $1) AS tags,
  (SELECT count(*) FROM contact_tags WHERE account_id = $1) AS tag_links,
  (SELECT count(*) FROM products WHERE account_id = $1) AS products,
  (SELECT count(*) FROM owned_products WHERE account_id = $1) AS owned,
  (SELECT count(*) FROM purchases WHERE account_id = $1) AS purchases
"""


def describe(row: Any) -> str:
    n = max(int(row["contacts"]), 1)
    return (
        f"{row['contacts']:,} contacts ({row['subscribed']:,} subscribed, {row['customers']:,} "
        f"customers, {row['inactive']:,} inactive, {row['excluded']:,} excluded, "
        f"{row['hard_bounced']:,} hard bounced); {row['events']:,} email events "
        f"({row['events'] / n:.1f} per contact) over {row['campaigns']} campaigns; "
        f"{row['tags']:,} tags, {row['tag_links']:,} tag links "
        f"({row['tag_links'] / n:.1f} per contact); {row['products']} products, "
        f"{row['owned']:,} owned, {row['purchases']:,} purchases"
    )


LOAD_TABLES = ("email_events", "contact_tags", "owned_products", "purchases")


async def _secondary_indexes(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """The indexes of the child tables that back no constraint: dropped for the bulk load,
    built again afterwards from their own definitions (faster than maintaining them)."""
    rows = await conn.fetch(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
        "AND i.tablename = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
        "WHERE k.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))"
        "::regclass)",
        list(LOAD_TABLES),
    )
    return [(r["indexname"], r["indexdef"]) for r in rows]


async def generate_postgres(url: str, contacts: int) -> Dataset:
    settings = Settings(database_url=url)
    started = time.perf_counter()
    async with database(settings):
        account = (await create_account("Bench")).account
    account_id = int(account.id)
    now = datetime.now(UTC).replace(microsecond=0)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET work_mem = '256MB'")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        try:  # skip the foreign keys' per-row checks: the generator keeps them by construction
            await conn.execute("SET session_replication_role = replica")
        except asyncpg.PostgresError:
            print("  (not a superuser: foreign keys checked row by row)", flush=True)
        campaigns = campaign_schedule(now)
        await conn.execute(
            "CREATE TEMP TABLE bench_campaigns (name text, sent_at timestamptz, audience float8)"
        )
        await conn.executemany(
            "INSERT INTO bench_campaigns VALUES ($1, $2, $3)",
            [(c.name, c.sent_at, c.audience) for c in campaigns],
        )
        total = sum(p.weight for p in PRODUCTS)
        await conn.execute(
            "INSERT INTO products (account_id, external_id, title, kind, created_at, updated_at) "
            "SELECT $1, x.e, x.t, x.k, $2::timestamptz - interval '400 days', "
            "$2::timestamptz - interval '400 days' "
            "FROM unnest($3::text[], $4::text[], $5::text[]) AS x(e, t, k)",
            account_id,
            now,
            [p.external_id for p in PRODUCTS],
            [p.title for p in PRODUCTS],
            [p.kind.value for p in PRODUCTS],
        )
        await conn.execute(
            "CREATE TEMP TABLE bench_products (id bigint, kind text, price bigint, "
            "lo float8, hi float8, total float8)"
        )
        low = 0
        for spec in PRODUCTS:
            pk = await conn.fetchval(
                "SELECT id FROM products WHERE account_id = $1 AND external_id = $2",
                account_id,
                spec.external_id,
            )
            await conn.execute(
                "INSERT INTO bench_products VALUES ($1, $2, $3, $4, $5, $6)",
                pk,
                spec.kind.value,
                spec.price_cents,
                low,
                low + spec.weight,
                total,
            )
            low += spec.weight
        head = [(name, share) for name, share in tag_catalogue(now.year)]
        names = [name for name, _ in head] + [
            f"interest-{rank:03d}" for rank in range(1, TAIL_TAGS + 1)
        ]
        await conn.execute(
            "INSERT INTO tags (account_id, name, name_lower, created_at) "
            "SELECT $1, n, lower(n), $2::timestamptz - interval '740 days' "
            "FROM unnest($3::text[]) n",
            account_id,
            now,
            names,
        )
        await conn.execute(
            "CREATE TEMP TABLE bench_head_tags AS SELECT t.id, x.share FROM tags t "
            "JOIN unnest($2::text[], $3::float8[]) AS x(name, share) ON x.name = t.name "
            "WHERE t.account_id = $1 AND x.share > 0",
            account_id,
            [name for name, _ in head],
            [share for _, share in head],
        )
        first_id = await conn.fetchval("SELECT nextval(pg_get_serial_sequence('contacts', 'id'))")
        dropped = await _secondary_indexes(conn)
        steps: list[tuple[str, str, tuple[Any, ...]]] = [
            ("people", PEOPLE, (now, contacts, first_id)),
            ("analyze", "ANALYZE bench_people", ()),
            ("contacts", CONTACTS, (account_id, now)),
            (
                "contact id sequence",
                "SELECT setval(pg_get_serial_sequence('contacts', 'id'), $1)",
                (first_id + contacts - 1,),
            ),
            *[(f"drop {name}", f'DROP INDEX "{name}"', ()) for name, _ in dropped],
            ("email events", EVENTS, (account_id, now)),
            ("unsubscribes", UNSUBSCRIBES, (account_id, now)),
            ("nothing after a hard bounce", AFTER_HARD_BOUNCE, (account_id,)),
            ("owned (draw)", OWNED, (now,)),
            ("owned products", OWNED_PRODUCTS, (account_id,)),
            ("purchases", PURCHASES, (account_id, now)),
            ("head tags", HEAD_TAG_LINKS, (account_id,)),
            ("tail tags", TAIL_TAG_LINKS, (account_id, TAIL_TAGS)),
            ("vip and student tags", PURCHASE_TAG_LINKS, (account_id,)),
            *[(f"index {name}", definition, ()) for name, definition in dropped],
            ("summary fields", SUMMARY, (account_id,)),
            # Without statistics the planner may aggregate the purchases once per customer.
            ("analyze the products", "ANALYZE owned_products, purchases", ()),
            ("customers and spend", CUSTOMERS, (account_id,)),
            ("analyze", "ANALYZE " + ", ".join(("contacts", *LOAD_TABLES)), ()),
        ]
        for label, statement, args in steps:
            step_started = time.perf_counter()
            await conn.execute(statement, *args)
            print(f"  {time.perf_counter() - step_started:6.1f}s  {label}", flush=True)
    finally:
        await conn.close()
    step_started = time.perf_counter()
    async with database(settings):
        bench = await Account.get(id=account_id)
        await recompute_flags(bench, now)
    print(f"  {time.perf_counter() - step_started:6.1f}s  flags (recompute_flags)", flush=True)
    conn = await asyncpg.connect(url)
    try:
        for label, statement in (
            ("cluster contacts on id", "CLUSTER contacts USING contacts_pkey"),
            ("vacuum analyze", "VACUUM ANALYZE"),
        ):
            step_started = time.perf_counter()
            await conn.execute(statement)
            print(f"  {time.perf_counter() - step_started:6.1f}s  {label}", flush=True)
        summary = describe(await conn.fetchrow(SUMMARY_COUNTS, account_id))
        seconds = time.perf_counter() - started
        await conn.execute(MARKER_TABLE)
        await conn.execute(
            "INSERT INTO bench_dataset VALUES ($1, $2, $3, $4, now(), $5, $6)",
            VERSION,
            contacts,
            account_id,
            now,
            seconds,
            summary,
        )
    finally:
        await conn.close()
    print(f"  {seconds:6.1f}s  in all: {summary}", flush=True)
    return Dataset(url, account_id, contacts, now, seconds, summary, reused=False)


async def open_postgres(url: str, contacts: int) -> Dataset:
    """The dataset in `url`: reused when its marker matches, generated when the database is
    empty, refused otherwise."""
    conn = await asyncpg.connect(url)
    try:
        marked = await conn.fetchval("SELECT to_regclass('bench_dataset') IS NOT NULL")
        row = (
            await conn.fetchrow("SELECT * FROM bench_dataset ORDER BY generated_at DESC LIMIT 1")
            if marked
            else None
        )
        used = await conn.fetchval(
            "SELECT to_regclass('accounts') IS NOT NULL AND EXISTS (SELECT 1 FROM accounts)"
            if await conn.fetchval("SELECT to_regclass('accounts') IS NOT NULL")
            else "SELECT false"
        )
    finally:
        await conn.close()
    await apply_migrations(Settings(database_url=url))  # a kept database may be behind
    if row is None:
        if used:
            raise HarnessError(
                f"{url} holds accounts but no bench_dataset marker: not a benchmark database; "
                "give an empty (or new) database to --keep"
            )
        print(f"generating {contacts:,} contacts in {url}", flush=True)
        return await generate_postgres(url, contacts)
    if row["version"] != VERSION or row["contacts"] != contacts:
        raise HarnessError(
            f"{url} holds a benchmark dataset of {row['contacts']:,} contacts (generator "
            f"version {row['version']}); asked for {contacts:,} (version {VERSION}): use "
            "another database or the matching --contacts"
        )
    print(f"reusing {url}: {row['summary']}", flush=True)
    return Dataset(
        url,
        int(row["account_id"]),
        contacts,
        row["now"],
        float(row["seconds"]),
        row["summary"],
        reused=True,
    )


async def open_sqlite(path: Path, contacts: int) -> Dataset:
    """A SQLite file filled by `seed_demo` (its bulk inserts), reused when its marker
    matches. Tortoise must not be open: this opens and closes it."""
    from app.db import connection

    settings = Settings(database_url=f"sqlite://{path}")
    await apply_migrations(settings)
    async with database(settings):
        conn = connection()
        await conn.execute_script(SQLITE_MARKER_TABLE)
        rows = await conn.execute_query_dict(
            "SELECT * FROM bench_dataset ORDER BY generated_at DESC LIMIT 1"
        )
        if rows:
            row = rows[0]
            if row["version"] != VERSION or row["contacts"] != contacts:
                raise HarnessError(
                    f"{path} holds {row['contacts']:,} demo contacts (version "
                    f"{row['version']}); asked for {contacts:,}"
                )
            print(f"reusing {path}: {row['summary']}", flush=True)
            return Dataset(
                f"sqlite://{path}",
                int(row["account_id"]),
                contacts,
                datetime.fromisoformat(row["now"]),
                float(row["seconds"]),
                row["summary"],
                reused=True,
            )
        if await Account.exists():
            raise HarnessError(f"{path} holds accounts but no bench_dataset marker")
        print(f"seeding {contacts:,} demo contacts into {path} (seed_demo)", flush=True)
        started = time.perf_counter()
        now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        account = (await create_account("Bench SQLite")).account
        summary = str(await seed_demo(account, contacts, now=now))
        seconds = time.perf_counter() - started
        await conn.execute_query(
            "INSERT INTO bench_dataset VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                VERSION,
                contacts,
                account.id,
                now.isoformat(),
                datetime.now(UTC).isoformat(),
                seconds,
                summary,
            ],
        )
        print(f"  {seconds:6.1f}s  {summary}", flush=True)
        return Dataset(
            f"sqlite://{path}", int(account.id), contacts, now, seconds, summary, reused=False
        )
