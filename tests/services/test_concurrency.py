"""Many writers at once on PostgreSQL: upserts, events, grants, tag jobs and segment saves and
deletes on the same contacts from many connections. No deadlock, no fault, and the end state is
what running the same operations one after another gives."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from app.enums import EmailEventKind, GrantSource
from app.filters.ids import to_global_id
from app.models import (
    Account,
    Contact,
    ContactTag,
    EmailEvent,
    OwnedProduct,
    Product,
    Purchase,
    Segment,
)
from app.services import segments
from app.services.accounts import create_account
from app.services.contacts import ContactData, tag_contacts, upsert_contacts
from app.services.errors import DomainError, ErrorCode
from app.services.events import EventData, record_events
from app.services.jobs import run_job, start_tag_job
from app.services.products import GrantData, ProductData, grant_offers, upsert_products
from app.services.tasks import finish_pending

from .helpers import NOW, at

CONTACTS = [f"c{i}@{'a' if i % 2 else 'b'}.io" for i in range(24)]
WRITERS = 10
ROUNDS = 12
Operation = Callable[[Account], Awaitable[None]]


async def _setup(name: str) -> Account:
    account = (await create_account(f"{name} {secrets.token_hex(3)}")).account
    created = await upsert_contacts(
        account,
        [ContactData(email=e, subscription_status="SUBSCRIBED") for e in CONTACTS],
        now=at(-60),
    )
    assert not created.errors
    products = await upsert_products(account, [ProductData("p1", "One"), ProductData("p2", "Two")])
    assert not products.errors
    base = await segments.create_segment(
        account, name="A side", description=None, filter_input={"email": {"endsWith": "@a.io"}}
    )
    await segments.create_segment(
        account,
        name="Keeps A",
        description=None,
        filter_input={"segment": {"in": to_global_id("Segment", base.id)}},
    )
    for name in ("X", "Y"):
        await segments.create_segment(
            account, name=name, description=None, filter_input={"isCustomer": True}
        )
    await finish_pending()
    return account


async def _segment(account: Account, name: str) -> Segment:
    return await Segment.get(account=account, name=name)


def _operations(rng: random.Random, writer: int) -> list[Operation]:
    """One writer's operations: each either commutes with every other writer's (adds, sums,
    maxima, events with unique or repeated ids) or ends as it began (temporary segments)."""
    ops: list[Operation] = []
    for round_ in range(ROUNDS):
        emails = rng.sample(CONTACTS, 8)
        choice = (writer + round_) % 6

        if choice == 0:
            spelled = [e.upper() if rng.random() < 0.5 else e for e in emails]

            async def upsert(account: Account, emails: list[str] = spelled) -> None:
                items = [
                    ContactData(
                        email=e,
                        first_name=f"Name of {e.lower()}",
                        tags=[f"t{len(e) % 3}", "common"],
                        custom_fields={"seat": e.lower()},
                    )
                    for e in emails
                ]
                done = await upsert_contacts(account, items, now=NOW)
                assert not done.errors, done.errors

            ops.append(upsert)
        elif choice == 1:
            kinds = [EmailEventKind.SENT, EmailEventKind.OPENED, EmailEventKind.BOUNCED_SOFT]
            # An id names one event: whichever writer records it first, it is the same event.
            batch = [
                (e, kinds[k], at(-1 - (len(e) * 3 + k * 11) % 50), f"ev-{e}-{k}")
                for e in emails
                for k in [(writer + round_) % 3]
            ]

            async def events(account: Account, batch: list[Any] = batch) -> None:
                # The same ids from several writers: each event counts once, whoever wins.
                items = [EventData(e, k, when, "launch", ext) for e, k, when, ext in batch]
                done = await record_events(account, items, now=NOW)
                assert not done.errors, done.errors

            ops.append(events)
        elif choice == 2:
            cents = 100 * (writer + 1)

            async def grants(
                account: Account, emails: list[str] = emails, cents: int = cents
            ) -> None:
                ids = {p.external_id: p.id for p in await Product.filter(account=account)}
                items = [
                    GrantData(e, ids["p1"], GrantSource.PURCHASE, cents, "USD", at(-3))
                    if i % 2
                    else GrantData(e, ids["p2"], GrantSource.GRANT, occurred_at=at(-5))
                    for i, e in enumerate(emails)
                ]
                done = await grant_offers(account, items, now=NOW)
                assert not done.errors, done.errors

            ops.append(grants)
        elif choice == 3:

            async def tags(account: Account, emails: list[str] = emails) -> None:
                ids = [c.id for c in await Contact.filter(account=account, email_lower__in=emails)]
                await tag_contacts(account, ids, add=["touched"])
                job = await start_tag_job(
                    account, (await _segment(account, "A side")).id, ["bulk"], []
                )
                await run_job(job.id)

            ops.append(tags)
        elif choice == 4:
            name = f"temp {writer}-{round_}"

            async def temporary(account: Account, name: str = name) -> None:
                base = await _segment(account, "A side")
                made = await segments.create_segment(
                    account,
                    name=name,
                    description=None,
                    filter_input={"segment": {"in": to_global_id("Segment", base.id)}},
                )
                with pytest.raises(DomainError) as refused:  # "Keeps A" uses it for good
                    await segments.delete_segment(account, base.id, confirm=True)
                assert refused.value.code is ErrorCode.SEGMENT_IN_USE
                await segments.delete_segment(account, made.id, confirm=True)

            ops.append(temporary)
        else:

            async def cycle(account: Account, flip: bool = bool(writer % 2)) -> None:
                # Two writers point X at Y and Y at X at once: one may fail, never both pass.
                source, target = ("X", "Y") if flip else ("Y", "X")
                other = await _segment(account, target)
                try:
                    await segments.update_segment(
                        account,
                        (await _segment(account, source)).id,
                        name=source,
                        description=None,
                        filter_input={"segment": {"in": to_global_id("Segment", other.id)}},
                    )
                except DomainError as exc:
                    assert exc.code is ErrorCode.INVALID_FILTER, exc
                # Undo, so the end state doesn't depend on who came last.
                await segments.update_segment(
                    account,
                    (await _segment(account, source)).id,
                    name=source,
                    description=None,
                    filter_input={"isCustomer": True},
                )

            ops.append(cycle)
    return ops


async def _state(account: Account) -> dict[str, Any]:
    contacts = await Contact.filter(account=account).order_by("email_lower")
    by_id = {c.id: c.email_lower for c in contacts}
    links = await ContactTag.filter(account=account).values_list("contact_id", "tag__name")
    owned = await OwnedProduct.filter(account=account).values_list(
        "contact_id", "product__external_id", "source", "granted_at"
    )
    purchases = await Purchase.filter(account=account).values_list("contact_id", "amount_cents")
    events = await EmailEvent.filter(account=account).values_list(
        "contact_id", "kind", "occurred_at", "external_id"
    )
    return {
        "contacts": [
            (
                c.email_lower,
                c.first_name,
                c.custom_fields,
                c.is_customer,
                c.total_spent_cents,
                c.sends_since_engagement,
                c.soft_bounces,
                c.last_opened_at,
                c.last_engaged_at,
                c.last_sent_at,
                c.is_inactive,
                c.is_excluded,
                c.is_hard_bounced,
            )
            for c in contacts
        ],
        "links": sorted((by_id[c], t) for c, t in links),
        "owned": sorted((by_id[c], p, s, g) for c, p, s, g in owned),
        "purchases": sorted((by_id[c], a) for c, a in purchases),
        "events": sorted((by_id[c], k, o, x) for c, k, o, x in events),
        "segments": await _definitions(account),
    }


async def _definitions(account: Account) -> list[tuple[str, str | None]]:
    """Each segment's name and filter, references written by name (ids differ per account)."""
    rows = await Segment.filter(account=account).order_by("name")
    names = {to_global_id("Segment", s.id): s.name for s in rows}
    out = []
    for s in rows:
        text = s.filter_json
        for global_id, name in names.items():
            text = text.replace(f'"{global_id}"', f'"<{name}>"') if text else text
        out.append((s.name, text))
    return out


@pytest.mark.postgres
async def test_many_writers_at_once_end_as_one_after_another(
    is_postgres: bool, caplog: pytest.LogCaptureFixture
) -> None:
    if not is_postgres:
        pytest.skip("concurrent writers are a PostgreSQL matter (SQLite has one writer)")
    rng = random.Random(7)
    plans = [_operations(rng, writer) for writer in range(WRITERS)]

    together = await _setup("Together")

    async def writer(ops: list[Operation]) -> None:
        for op in ops:
            await op(together)

    await asyncio.wait_for(asyncio.gather(*(writer(ops) for ops in plans)), timeout=120)

    alone = await _setup("Alone")
    for ops in plans:
        for op in ops:
            await op(alone)
    await finish_pending()

    faults = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert faults == []  # background tasks (counts) included
    mine, serial = await _state(together), await _state(alone)
    for part in serial:
        assert mine[part] == serial[part], part
    assert await EmailEvent.filter(account=together).count() > 0
    x, y = await _segment(together, "X"), await _segment(together, "Y")
    assert "segment" not in (x.filter_json or "") or "segment" not in (y.filter_json or "")
