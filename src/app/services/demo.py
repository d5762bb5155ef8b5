"""Demo data: a realistic creator account (tags, products, customers, a year of campaigns),
seeded with bulk inserts (COPY on PostgreSQL) rather than one ORM save per row.

Contacts are drawn in Python, deterministically from the seed, and written chunk by chunk while
the next chunk is drawn. Each contact's email events are folded in time order through
`app.services.events.apply_event` before the contact row is written, so the denormalised fields
are exactly what ingesting those events would have produced; is_customer and total_spent_cents
follow the grants, and the nightly flags follow app.engagement's rules.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any, cast

from tortoise.transactions import in_transaction

from app import clock, db
from app.engagement import recompute_flags
from app.enums import (
    EmailEventKind,
    EmailRisk,
    GrantSource,
    ProductKind,
    SubscriptionStatus,
    UnsubscribeReason,
)
from app.models import Account, Contact, Product, Tag
from app.services.checks import as_utc
from app.services.errors import DomainError, ErrorCode
from app.services.events import apply_event
from app.services.products import DEFAULT_CURRENCY
from app.text import fold

Progress = Callable[[str, int, int], None]
Event = tuple[EmailEventKind, datetime, str | None]

BATCH_ROWS = 20_000
HISTORY = timedelta(days=730)  # contacts signed up over two years
WINDOW = timedelta(days=365)  # campaigns and purchases: the last year
CAMPAIGN_EVERY = timedelta(days=14)

# --- Catalogues ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ProductSpec:
    external_id: str
    title: str
    kind: ProductKind
    price_cents: int
    weight: int  # relative popularity


PRODUCTS: tuple[_ProductSpec, ...] = (
    _ProductSpec("off_starter_kit", "Creator Starter Kit", ProductKind.OFFER, 2900, 30),
    _ProductSpec("off_preset_pack_2", "Preset Pack Vol. 2", ProductKind.OFFER, 1900, 24),
    _ProductSpec("crs_photo_masterclass", "Photography Masterclass", ProductKind.COURSE, 19900, 20),
    _ProductSpec("crs_lightroom", "Lightroom Editing Course", ProductKind.COURSE, 9900, 18),
    _ProductSpec("crs_composition_7day", "7-Day Composition Course", ProductKind.COURSE, 4900, 14),
    _ProductSpec("crs_business_bootcamp", "Photo Business Bootcamp", ProductKind.COURSE, 49900, 6),
    _ProductSpec("off_inner_circle", "Inner Circle Membership", ProductKind.OFFER, 29900, 8),
    _ProductSpec("off_coaching_call", "1:1 Coaching Call", ProductKind.OFFER, 15000, 5),
)

VIP_TAG = "vip"
STUDENT_TAG = "student"
VIP_SPEND_CENTS = 25_000


def tag_catalogue(year: int) -> list[tuple[str, float]]:
    """(name, share of contacts) for the tags given at random; `vip` and `student` follow
    purchases instead and come last."""
    return [
        ("lead-magnet", 0.30),
        ("free-course", 0.15),
        ("newsletter-import", 0.12),
        (f"webinar-{year}", 0.10),
        (f"webinar-{year - 1}", 0.07),
        ("youtube", 0.10),
        ("instagram", 0.09),
        ("podcast-listener", 0.07),
        (f"black-friday-{year - 1}", 0.06),
        ("quiz-taker", 0.06),
        (f"challenge-jan-{year}", 0.05),
        ("survey-responder", 0.05),
        ("cold-lead", 0.05),
        ("waitlist", 0.05),
        ("coaching-interest", 0.04),
        ("masterclass-attendee", 0.04),
        ("referral", 0.04),
        ("beta-tester", 0.015),
        ("affiliate", 0.01),
        (VIP_TAG, 0.0),
        (STUDENT_TAG, 0.0),
    ]


_FIRST_NAMES = (
    "Emma Olivia Ava Sophia Mia Isabella Amelia Harper Evelyn Abigail Emily Ella Chloe Grace "
    "Zoë Léa Chiara Ingrid Aisha Priya Yuki Mei Ana Lucía Fatima Nora Sara Hannah Julia Camille "
    "Liam Noah Oliver Elijah James William Benjamin Lucas Henry Alexander Daniel Matthew Jack "
    "Leo Mateo José Luca Lars Jonas Felix Arjun Rahul Kenji Omar Diego Pedro Tom Sam Max Ben"
)
_LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis "
    "Walker Young Allen King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts "
    "Müller Schmidt Schneider Dubois Lefèvre Rossi Bianchi Jansen Andersson Nielsen Kowalski "
    "Novak Silva Santos Pereira Kumar Sharma Patel Tanaka Sato Kim Nguyen O'Brien Murphy Kelly"
)
_FIRST, _LAST = _FIRST_NAMES.split(), _LAST_NAMES.split()
_FOLD = str.maketrans("ëéèüöäíóúñ", "eeeuoaioun", "'")

_DOMAINS = (
    ("gmail.com", 40),
    ("yahoo.com", 8),
    ("outlook.com", 8),
    ("icloud.com", 7),
    ("hotmail.com", 6),
    ("live.com", 2),
    ("me.com", 2),
    ("proton.me", 2),
    ("aol.com", 1),
    ("gmx.de", 1),
    ("web.de", 1),
    ("orange.fr", 1),
    ("studio-lumen.com", 1),
    ("brightpixel.co", 1),
    ("northwind.io", 1),
    ("acme-photo.com", 1),
)
_COUNTRIES = (
    ("US", 34),
    ("GB", 10),
    ("CA", 7),
    ("DE", 6),
    ("IN", 6),
    ("AU", 5),
    ("FR", 5),
    ("BR", 4),
    ("NL", 3),
    ("ES", 3),
    ("IT", 3),
    ("MX", 2),
    ("SE", 2),
    ("JP", 2),
    ("IE", 1),
    ("NZ", 1),
    ("ZA", 1),
    (None, 10),
)
_PLANS = (("free", 60), ("starter", 25), ("pro", 12), ("team", 3))
_SOURCES = (
    ("organic", 25),
    ("instagram", 18),
    ("youtube", 16),
    ("podcast", 8),
    ("referral", 8),
    ("facebook-ads", 10),
    ("google-ads", 6),
    ("webinar", 9),
)
_COMPANIES = (
    "Studio Lumen",
    "Brightpixel",
    "Northwind",
    "Freelance",
    "Acme Photo",
    "Self-employed",
)


class _Weighted:
    """A weighted choice, as rng.choices does it but a few times faster (it runs ~4 times per
    contact)."""

    def __init__(self, items: Sequence[tuple[Any, int]]) -> None:
        self.values = [value for value, _ in items]
        self.cum = list(itertools.accumulate(weight for _, weight in items))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect(self.cum, rng.random() * self.total)]


_DOMAIN_PICK = _Weighted(_DOMAINS)
_COUNTRY_PICK = _Weighted(_COUNTRIES)
_PLAN_PICK = _Weighted(_PLANS)
_SOURCE_PICK = _Weighted(_SOURCES)
_PRODUCT_PICK = _Weighted([(index, p.weight) for index, p in enumerate(PRODUCTS)])


# --- The generated data ----------------------------------------------------------------------


@dataclass(slots=True)
class _State:
    """The contact fields that apply_event reads and writes: a Tortoise model per contact would
    cost as much as drawing the contact. Slotted, so that if apply_event starts using another
    field the seeder fails loudly instead of drifting; the tests replay through real Contacts."""

    subscription_status: SubscriptionStatus
    subscribed_at: datetime | None
    unsubscribe_reason: UnsubscribeReason | None
    last_opened_at: datetime | None = None
    last_clicked_at: datetime | None = None
    last_engaged_at: datetime | None = None
    last_sent_at: datetime | None = None
    sends_since_engagement: int = 0
    soft_bounces: int = 0
    last_soft_bounce_at: datetime | None = None
    hard_bounced_at: datetime | None = None
    is_hard_bounced: bool = False
    is_inactive: bool = False
    is_excluded: bool = False


@dataclass(frozen=True, slots=True)
class _Owned:
    product: int  # index into PRODUCTS
    source: GrantSource
    at: datetime
    progress: int
    amount_cents: int | None  # None for a grant: no purchase row


@dataclass(slots=True)
class _Person:
    email: str
    first_name: str | None
    last_name: str | None
    created_at: datetime
    email_risk: EmailRisk
    country: str | None
    birth_date: date | None
    custom_fields: dict[str, Any]
    state: _State
    tags: list[int] = field(default_factory=list)  # indexes into the tag catalogue
    owned: list[_Owned] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    total_spent_cents: int = 0


@dataclass(frozen=True, slots=True)
class _Campaign:
    name: str
    sent_at: datetime
    audience: float  # the share of subscribers it goes to


@dataclass(frozen=True, slots=True)
class _Habits:
    """How one contact treats the mail it gets."""

    p_open: float
    p_click: float  # given an open
    fade_at: datetime | None  # stops opening from then on
    p_soft: float
    p_hard: float
    stop_at: datetime | None  # leaves the list then (planned unsubscribe or complaint)
    stop_kind: EmailEventKind | None


@dataclass(frozen=True)
class DemoSummary:
    contacts: int
    tags: int
    tag_links: int
    products: int
    owned_products: int
    purchases: int
    email_events: int
    campaigns: int
    customers: int
    subscribed: int
    unsubscribed: int
    inactive: int
    excluded: int
    hard_bounced: int

    def __str__(self) -> str:
        return (
            f"{self.contacts:,} contacts ({self.subscribed:,} subscribed, "
            f"{self.customers:,} customers, {self.inactive:,} inactive, "
            f"{self.excluded:,} excluded), {self.tags} tags, {self.products} products, "
            f"{self.purchases:,} purchases, {self.email_events:,} email events "
            f"over {self.campaigns} campaigns"
        )


# --- Generation ------------------------------------------------------------------------------


PROMOS = ("webinar-invite", "course-launch", "case-study", "flash-sale")
PROMO_AUDIENCE = 0.45


def campaign_schedule(now: datetime) -> list[_Campaign]:
    """A campaign every two weeks over the last year, Tuesdays at 15:00 UTC: newsletters to the
    whole list, alternating with promotions sent to a segment of it."""
    day = (now - WINDOW).date() + timedelta(days=1)
    day += timedelta(days=(1 - day.weekday()) % 7)
    campaigns: list[_Campaign] = []
    for index in itertools.count():
        sent_at = datetime(day.year, day.month, day.day, 15, tzinfo=now.tzinfo)
        if sent_at > now - timedelta(hours=6):
            break
        if index % 2 == 0:
            campaigns.append(_Campaign(f"newsletter-{day.isoformat()}", sent_at, 1.0))
        else:
            theme = PROMOS[index // 2 % len(PROMOS)]
            campaigns.append(_Campaign(f"{theme}-{day.isoformat()}", sent_at, PROMO_AUDIENCE))
        day += CAMPAIGN_EVERY
    return campaigns


class _Generator:
    """Draws every contact from one Random, in a fixed order: the same seed and `now` give the
    same data."""

    def __init__(self, rng: random.Random, now: datetime, account: Account) -> None:
        self.rng = rng
        self.now = now
        self.account = account
        self.window_start = now - WINDOW
        self.campaigns = campaign_schedule(now)
        self.campaign_times = [c.sent_at for c in self.campaigns]
        self.tags = tag_catalogue(now.year)
        names = [name for name, _ in self.tags]
        self.vip, self.student = names.index(VIP_TAG), names.index(STUDENT_TAG)
        self.emails: set[str] = set()

    def person(self) -> _Person:
        rng = self.rng
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        # Skewed towards recent sign-ups: the list grows.
        age = max(3600.0, HISTORY.total_seconds() * rng.random() ** 1.5)
        created = self.now - timedelta(seconds=age)
        risk = self._risk()
        habits, state = self._subscription(created, risk)
        person = _Person(
            email=self._email(first, last),
            first_name=None if rng.random() < 0.08 else first,
            last_name=None if rng.random() < 0.15 else last,
            created_at=created,
            email_risk=risk,
            country=_COUNTRY_PICK.pick(rng),
            birth_date=self._birth_date(),
            custom_fields=self._custom_fields(habits.p_open if habits else 0.0),
            state=state,
        )
        if habits is not None and state.subscribed_at is not None:
            self._mail(person, state.subscribed_at, habits)
        self._shop(person)
        self._tag(person)
        self._fold(person)
        return person

    # Profile.

    def _email(self, first: str, last: str) -> str:
        rng = self.rng
        f, la = first.translate(_FOLD), last.translate(_FOLD)
        style = rng.random()
        if style < 0.75:
            f, la = f.lower(), la.lower()
        elif style < 0.97:
            pass  # as spelled: "Maria.Garcia@…"
        else:
            f, la = f.upper(), la.upper()
        number = rng.randint(1, 99)
        patterns = (
            f"{f}.{la}",
            f"{f}{la}",
            f"{f[0]}{la}",
            f"{f}{number}",
            f"{f}_{la}",
            f"{la}.{f}{number}",
        )
        local = patterns[rng.randrange(len(patterns))]
        domain: str = _DOMAIN_PICK.pick(rng)
        if rng.random() < 0.05:
            domain = domain.capitalize()
        email = f"{local}@{domain}"
        suffix = 1
        while fold(email) in self.emails:  # unique case-insensitively, as the table requires
            suffix += 1
            email = f"{local}{suffix}@{domain}"
        self.emails.add(fold(email))
        return email

    def _risk(self) -> EmailRisk:
        r = self.rng.random()
        if r < 0.01:
            return EmailRisk.UNDELIVERABLE
        if r < 0.04:
            return EmailRisk.HIGH_RISK
        return EmailRisk.VALID

    def _birth_date(self) -> date | None:
        if self.rng.random() >= 0.3:
            return None
        return self.now.date() - timedelta(days=self.rng.randint(18 * 365 + 5, 72 * 365))

    def _custom_fields(self, p_open: float) -> dict[str, Any]:
        rng = self.rng
        if rng.random() < 0.08:
            return {}
        score = round(max(0.0, min(100.0, 100 * p_open + rng.gauss(15, 12))))
        fields: dict[str, Any] = {
            "plan": _PLAN_PICK.pick(rng),
            "score": score,
            "signup_source": _SOURCE_PICK.pick(rng),
        }
        if rng.random() < 0.15:
            fields["company"] = rng.choice(_COMPANIES)
        if rng.random() < 0.2:
            taken = self.now - timedelta(days=rng.uniform(1, 600))
            fields["quiz_completed_on"] = taken.date().isoformat()
        return fields

    # Subscription and mail habits.

    def _subscription(self, created: datetime, risk: EmailRisk) -> tuple[_Habits | None, _State]:
        """The opt-in, a planned exit and the mail habits (None: gets no mail). An exit before
        the campaign year left no events (imported as it is); one within it is an event."""
        rng = self.rng
        r = rng.random()
        if r < 0.10:
            return None, _State(SubscriptionStatus.NEVER_SUBSCRIBED, None, None)
        subscribed_at = created + timedelta(seconds=rng.uniform(5, 600))
        if rng.random() < 0.2:  # a lead or a buyer first, on the list later
            subscribed_at += (self.now - subscribed_at) * rng.random() * 0.5
        subscribed_at = min(subscribed_at, self.now - timedelta(minutes=1))
        stop_at: datetime | None = None
        stop_kind: EmailEventKind | None = None
        if r < 0.235:
            stop_at = subscribed_at + (self.now - subscribed_at) * rng.uniform(0.02, 0.98)
            if stop_at < self.window_start:
                reason = (
                    UnsubscribeReason.OPTED_OUT if rng.random() < 0.65 else UnsubscribeReason.MANUAL
                )
                return None, _State(SubscriptionStatus.UNSUBSCRIBED, subscribed_at, reason)
            stop_kind = (
                EmailEventKind.UNSUBSCRIBED if rng.random() < 0.88 else EmailEventKind.COMPLAINED
            )
        state = _State(SubscriptionStatus.SUBSCRIBED, subscribed_at, None)
        return self._habits(risk, stop_at, stop_kind), state

    def _habits(
        self, risk: EmailRisk, stop_at: datetime | None, stop_kind: EmailEventKind | None
    ) -> _Habits:
        rng = self.rng
        r = rng.random()
        if r < 0.14:  # fans
            p_open, p_click = rng.uniform(0.55, 0.9), 0.25
        elif r < 0.64:  # regular readers
            p_open, p_click = rng.uniform(0.15, 0.45), 0.15
        elif r < 0.86:  # occasional
            p_open, p_click = rng.uniform(0.03, 0.12), 0.10
        else:  # never opens: the inactive tail
            p_open, p_click = 0.0, 0.0
        fade_at = None
        if p_open > 0 and rng.random() < 0.15:  # lost interest at some point this year
            fade_at = self.window_start + WINDOW * rng.random()
        p_soft, p_hard = 0.007, 0.0003
        if risk is EmailRisk.HIGH_RISK:
            p_soft, p_hard = 0.08, 0.004
        elif risk is EmailRisk.UNDELIVERABLE:
            p_hard = 1.0  # the first send bounces
        return _Habits(p_open, p_click, fade_at, p_soft, p_hard, stop_at, stop_kind)

    def _mail(self, person: _Person, since: datetime, habits: _Habits) -> None:
        """One SENT per campaign while on the list, then what the contact did with it."""
        rng, now, events = self.rng, self.now, person.events
        first = bisect.bisect_right(self.campaign_times, since)
        last_name: str | None = None
        for campaign in itertools.islice(self.campaigns, first, None):
            if habits.stop_at is not None and campaign.sent_at >= habits.stop_at:
                break
            if campaign.audience < 1.0 and rng.random() >= campaign.audience:
                continue
            name = last_name = campaign.name
            sent = campaign.sent_at + timedelta(seconds=900 * rng.random())
            events.append((EmailEventKind.SENT, sent, name))
            r = rng.random()
            if r < habits.p_hard:
                events.append((EmailEventKind.BOUNCED_HARD, sent + timedelta(seconds=30), name))
                return  # unsubscribed (BOUNCED): no more mail, no planned exit
            if r < habits.p_hard + habits.p_soft:
                events.append((EmailEventKind.BOUNCED_SOFT, sent + timedelta(seconds=90), name))
                continue
            if rng.random() >= habits.p_open or (habits.fade_at and sent >= habits.fade_at):
                continue
            opened = sent + timedelta(hours=rng.expovariate(1.0 if rng.random() < 0.6 else 1 / 18))
            if opened > now:
                continue
            events.append((EmailEventKind.OPENED, opened, name))
            if rng.random() < habits.p_click:
                clicked = opened + timedelta(seconds=rng.uniform(5, 900))
                if clicked <= now:
                    events.append((EmailEventKind.CLICKED, clicked, name))
        if habits.stop_at is not None and habits.stop_kind is not None:
            # A complaint needs an email to complain about.
            kind = habits.stop_kind if last_name is not None else EmailEventKind.UNSUBSCRIBED
            events.append((kind, habits.stop_at, last_name))

    # Purchases and tags.

    def _shop(self, person: _Person) -> None:
        """A quarter of the contacts own one to three products, mostly bought this year."""
        rng = self.rng
        if rng.random() >= 0.25:
            return
        count = 1 if rng.random() < 0.65 else (2 if rng.random() < 0.7 else 3)
        since = max(person.created_at, self.window_start)
        chosen: set[int] = set()
        while len(chosen) < count:
            chosen.add(_PRODUCT_PICK.pick(rng))
        for index in sorted(chosen):
            spec = PRODUCTS[index]
            at = since + (self.now - timedelta(minutes=1) - since) * rng.random()
            progress = self._progress() if spec.kind is ProductKind.COURSE else 0
            if rng.random() < 0.15:
                person.owned.append(_Owned(index, GrantSource.GRANT, at, progress, None))
                continue
            amount = spec.price_cents
            if rng.random() < 0.2:  # a coupon
                amount = round(amount * rng.uniform(0.5, 0.8) / 100) * 100
            person.owned.append(_Owned(index, GrantSource.PURCHASE, at, progress, amount))
            person.total_spent_cents += amount

    def _progress(self) -> int:
        r = self.rng.random()
        if r < 0.3:
            return 0
        if r < 0.7:
            return self.rng.randint(1, 60)
        if r < 0.85:
            return self.rng.randint(61, 99)
        return 100

    def _tag(self, person: _Person) -> None:
        rng = self.rng
        person.tags = [i for i, (_, share) in enumerate(self.tags) if rng.random() < share]
        if person.total_spent_cents >= VIP_SPEND_CENTS or rng.random() < 0.002:
            person.tags.append(self.vip)
        if any(PRODUCTS[o.product].kind is ProductKind.COURSE for o in person.owned):
            person.tags.append(self.student)

    # The denormalised fields.

    def _fold(self, person: _Person) -> None:
        """Apply the events in time order, as the ingestion service would. The nightly flags
        are set afterwards, in SQL, by the engagement rules."""
        person.events.sort(key=itemgetter(1))
        state = cast(Contact, person.state)  # duck-typed: see _State
        for kind, at, _ in person.events:
            apply_event(state, kind, at)


# --- Writing ---------------------------------------------------------------------------------


class _Codec:
    """Column values as Tortoise itself writes them: native types for asyncpg's COPY; on SQLite
    the text Tortoise's sqlite3 adapters produce (isoformat(" ") times, ISO dates) and the
    field's JSON encoding."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self._json = Contact._meta.fields_map["custom_fields"]

    def time(self, moment: datetime | None) -> datetime | str | None:
        if self.postgres or moment is None:
            return moment
        return moment.isoformat(" ")

    def day(self, value: date | None) -> date | str | None:
        if self.postgres or value is None:
            return value
        return value.isoformat()

    def json(self, value: dict[str, Any]) -> Any:
        return self._json.to_db_value(value, Contact)


CONTACT_COLUMNS = (
    "account_id", "email", "email_lower", "first_name", "last_name", "created_at", "updated_at",
    "subscription_status", "subscribed_at", "unsubscribe_reason", "email_risk", "is_customer",
    "is_inactive", "is_hard_bounced", "is_excluded", "flags_computed_at", "last_opened_at",
    "last_clicked_at", "last_engaged_at", "last_sent_at", "sends_since_engagement",
    "soft_bounces", "last_soft_bounce_at", "hard_bounced_at", "total_spent_cents", "birth_date",
    "country", "custom_fields",
)  # fmt: skip
TAG_LINK_COLUMNS = ("account_id", "contact_id", "tag_id", "created_at")
OWNED_COLUMNS = ("account_id", "contact_id", "product_id", "source", "granted_at", "progress")
PURCHASE_COLUMNS = (
    "account_id", "contact_id", "product_id", "amount_cents", "currency", "occurred_at",
)  # fmt: skip
EVENT_COLUMNS = ("account_id", "contact_id", "kind", "campaign", "occurred_at")
# Enum.value is a property: look the texts up once.
_KIND_TEXT = {kind: kind.value for kind in EmailEventKind}


def _contact_row(account_id: int, p: _Person, now: Any, c: _Codec) -> tuple[Any, ...]:
    s, t = p.state, c.time
    return (
        account_id, p.email, fold(p.email), p.first_name, p.last_name, t(p.created_at), now,
        s.subscription_status.value, t(s.subscribed_at),
        s.unsubscribe_reason.value if s.unsubscribe_reason else None, p.email_risk.value,
        bool(p.owned), False, s.is_hard_bounced, False, now,  # flags: see seed_demo
        t(s.last_opened_at), t(s.last_clicked_at), t(s.last_engaged_at), t(s.last_sent_at),
        s.sends_since_engagement, s.soft_bounces, t(s.last_soft_bounce_at),
        t(s.hard_bounced_at), p.total_spent_cents, c.day(p.birth_date), p.country,
        c.json(p.custom_fields),
    )  # fmt: skip


async def _insert(table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Bulk insert in batches of BATCH_ROWS; returns the number of rows."""
    iterator, count = iter(rows), 0
    while chunk := list(itertools.islice(iterator, BATCH_ROWS)):
        await db.bulk_insert(table, columns, chunk)
        count += len(chunk)
    return count


@dataclass
class _Counts:
    contacts: int = 0
    tag_links: int = 0
    owned_products: int = 0
    purchases: int = 0
    email_events: int = 0


class _Writer:
    """Writes generated contacts chunk by chunk: the contacts, then (with the ids the database
    gave them) their tag links, products, purchases and events."""

    def __init__(
        self,
        account: Account,
        codec: _Codec,
        now: datetime,
        tag_ids: list[int],
        product_ids: list[int],
    ) -> None:
        self.account_id = account.id
        self.codec = codec
        self.stamp = codec.time(now)
        self.tag_ids = tag_ids
        self.product_ids = product_ids
        self.high_water = 0  # every id up to here is already mapped
        self.counts = _Counts()

    async def write(self, people: list[_Person]) -> None:
        aid, codec = self.account_id, self.codec
        counts = self.counts
        rows = (_contact_row(aid, p, self.stamp, codec) for p in people)
        counts.contacts += await _insert("contacts", CONTACT_COLUMNS, rows)
        pairs = await self._with_ids(people)
        counts.tag_links += await _insert("contact_tags", TAG_LINK_COLUMNS, self._tag_links(pairs))
        counts.owned_products += await _insert("owned_products", OWNED_COLUMNS, self._owned(pairs))
        counts.purchases += await _insert("purchases", PURCHASE_COLUMNS, self._purchases(pairs))
        counts.email_events += await _insert("email_events", EVENT_COLUMNS, self._events(pairs))

    async def _with_ids(self, people: list[_Person]) -> list[tuple[int, _Person]]:
        """The new rows' ids in one query: ids only grow, and the account is ours alone."""
        found = await Contact.filter(
            account_id=self.account_id, id__gt=self.high_water
        ).values_list("email_lower", "id")
        ids = {cast(str, email): cast(int, pk) for email, pk in found}
        self.high_water = max(ids.values(), default=self.high_water)
        return [(ids[fold(p.email)], p) for p in people]

    def _tag_links(self, pairs: list[tuple[int, _Person]]) -> Iterator[tuple[Any, ...]]:
        aid, t, tag_ids = self.account_id, self.codec.time, self.tag_ids
        return ((aid, cid, tag_ids[i], t(p.created_at)) for cid, p in pairs for i in p.tags)

    def _owned(self, pairs: list[tuple[int, _Person]]) -> Iterator[tuple[Any, ...]]:
        aid, t, ids = self.account_id, self.codec.time, self.product_ids
        return (
            (aid, cid, ids[o.product], o.source.value, t(o.at), o.progress)
            for cid, p in pairs
            for o in p.owned
        )

    def _purchases(self, pairs: list[tuple[int, _Person]]) -> Iterator[tuple[Any, ...]]:
        aid, t, ids = self.account_id, self.codec.time, self.product_ids
        return (
            (aid, cid, ids[o.product], o.amount_cents, DEFAULT_CURRENCY, t(o.at))
            for cid, p in pairs
            for o in p.owned
            if o.amount_cents is not None
        )

    def _events(self, pairs: list[tuple[int, _Person]]) -> Iterator[tuple[Any, ...]]:
        aid, t, text = self.account_id, self.codec.time, _KIND_TEXT
        return (
            (aid, cid, text[kind], name, t(at)) for cid, p in pairs for kind, at, name in p.events
        )


def _silent(stage: str, done: int, total: int) -> None:
    pass


async def _require_empty(account: Account) -> None:
    for model in (Contact, Tag, Product):
        if await model.filter(account=account).exists():
            raise DomainError(
                ErrorCode.INVALID,
                "Demo data goes into a new account; this one already has contacts, tags or "
                "products.",
            )


async def seed_demo(
    account: Account,
    contacts: int,
    *,
    seed: int = 0,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Fill a new, empty account with `contacts` demo contacts and their tags, products,
    purchases and a year of email events, in one transaction. Deterministic for a given seed
    and `now` (default: the current time). `progress(stage, done, total)` is called for the
    stages "tags", "products" and "contacts" (contacts written with everything they own)."""
    if contacts < 0:
        raise DomainError(ErrorCode.OUT_OF_RANGE, "The number of contacts can't be negative.")
    moment = as_utc(now) if now is not None else clock.now()
    report = progress or _silent
    await _require_empty(account)
    generator = _Generator(random.Random(seed), moment, account)  # noqa: S311 (not secrets)
    async with in_transaction():
        codec = _Codec(db.is_postgres())
        tag_ids = await _write_tags(account, generator, codec, report)
        product_ids = await _write_products(account, generator, codec, report)
        writer = _Writer(account, codec, moment, tag_ids, product_ids)
        tally = await _generate_and_write(generator, writer, contacts, report)
        # The flags by the engagement rules, as the nightly job sets them.
        await recompute_flags(account, moment)
        tally.inactive = await Contact.filter(account=account, is_inactive=True).count()
        tally.excluded = await Contact.filter(account=account, is_excluded=True).count()
        tally.hard_bounced = await Contact.filter(account=account, is_hard_bounced=True).count()
    await db.analyze()  # the planner's statistics for what was just loaded
    return _summarise(tally, generator, writer.counts)


CHUNK_CONTACTS = 5_000
YIELD_EVERY = 250


async def _generate_and_write(
    generator: _Generator, writer: _Writer, contacts: int, report: Progress
) -> _Tally:
    """Generate a chunk while the previous one is being written: the database works on one
    core while Python draws the next contacts on the other."""
    tally = _Tally()
    pending: asyncio.Task[None] | None = None
    report("contacts", 0, contacts)
    try:
        for start in range(0, contacts, CHUNK_CONTACTS):
            people = await _generate(generator, min(CHUNK_CONTACTS, contacts - start))
            tally.add(people)
            if pending is not None:
                await pending
                report("contacts", writer.counts.contacts, contacts)
            pending = asyncio.create_task(writer.write(people))
        if pending is not None:
            await pending
            report("contacts", writer.counts.contacts, contacts)
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
    return tally


async def _generate(generator: _Generator, count: int) -> list[_Person]:
    people = []
    for index in range(count):
        people.append(generator.person())
        if index % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)  # let the writer task feed the database meanwhile
    return people


@dataclass
class _Tally:
    """What the summary reports about the contacts, counted as they are generated."""

    customers: int = 0
    subscribed: int = 0
    unsubscribed: int = 0
    inactive: int = 0
    excluded: int = 0
    hard_bounced: int = 0

    def add(self, people: list[_Person]) -> None:
        for p in people:
            status = p.state.subscription_status
            self.customers += bool(p.owned)
            self.subscribed += status is SubscriptionStatus.SUBSCRIBED
            self.unsubscribed += status is SubscriptionStatus.UNSUBSCRIBED


async def _write_tags(
    account: Account, generator: _Generator, codec: _Codec, report: Progress
) -> list[int]:
    created = codec.time(generator.now - HISTORY - timedelta(days=7))
    rows = [(account.id, name, fold(name), created) for name, _ in generator.tags]
    await _insert("tags", ("account_id", "name", "name_lower", "created_at"), rows)
    report("tags", len(rows), len(rows))
    ids = dict(await Tag.filter(account=account).values_list("name_lower", "id"))
    return [cast(int, ids[fold(name)]) for name, _ in generator.tags]


async def _write_products(
    account: Account, generator: _Generator, codec: _Codec, report: Progress
) -> list[int]:
    created = codec.time(generator.now - WINDOW - timedelta(days=30))
    rows = [(account.id, p.external_id, p.title, p.kind.value, created, created) for p in PRODUCTS]
    columns = ("account_id", "external_id", "title", "kind", "created_at", "updated_at")
    await _insert("products", columns, rows)
    report("products", len(rows), len(rows))
    ids = dict(await Product.filter(account=account).values_list("external_id", "id"))
    return [cast(int, ids[p.external_id]) for p in PRODUCTS]


def _summarise(tally: _Tally, generator: _Generator, counts: _Counts) -> DemoSummary:
    return DemoSummary(
        contacts=counts.contacts,
        tags=len(generator.tags),
        tag_links=counts.tag_links,
        products=len(PRODUCTS),
        owned_products=counts.owned_products,
        purchases=counts.purchases,
        email_events=counts.email_events,
        campaigns=len(generator.campaigns),
        customers=tally.customers,
        subscribed=tally.subscribed,
        unsubscribed=tally.unsubscribed,
        inactive=tally.inactive,
        excluded=tally.excluded,
        hard_bounced=tally.hard_bounced,
    )
