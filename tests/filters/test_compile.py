"""Hand-written checks of the compiler: literal matching, one-statement shapes, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.enums import SegmentKind
from app.filters import ast, codec, query
from app.filters.compile import Compiler
from app.filters.sql import render
from app.models import Account, Contact, Segment
from app.services.contacts import ContactData, upsert_contacts
from app.services.events import EventData, record_events

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
HOSTILE = ["'); DROP TABLE contacts; --", "%_\\", "100%", "a_b", "\\", "?", "$1"]


async def _contacts(account: Account, names: list[str | None]) -> list[Contact]:
    items = [ContactData(email=f"c{i}@example.com", first_name=n) for i, n in enumerate(names)]
    result = await upsert_contacts(account, items, now=NOW)
    assert not result.errors
    return result.items


async def test_hostile_strings_match_literally_and_are_never_sql(account: Account) -> None:
    names = [*HOSTILE, "a%b", "axb", "plain"]
    contacts = await _contacts(account, names)
    by_name = {c.first_name: c.id for c in contacts}
    for value in HOSTILE:
        for op, expected in (
            ("eq", {n for n in names if n == value}),
            ("contains", {n for n in names if value in n}),
            ("startsWith", {n for n in names if n.startswith(value)}),
            ("endsWith", {n for n in names if n.endswith(value)}),
        ):
            tree = codec.parse({"firstName": {op: value}})
            ids = await query.matching_ids(account.id, tree, now=NOW)
            assert set(ids) == {by_name[n] for n in expected}, (op, value)
    # The table is still there, and no value reached the SQL text.
    assert await Contact.filter(account=account).count() == len(names)
    compiled = Compiler(account.id, NOW, "postgres").predicate(
        codec.parse({"or": [{"firstName": {"contains": v}} for v in HOSTILE]})
    )
    text = render(compiled, "postgres")
    assert all(v not in text for v in HOSTILE if len(v) > 2)
    assert "DROP" not in text


async def test_four_condition_count(account: Account) -> None:
    await upsert_contacts(
        account,
        [
            ContactData(email="a@x.com", subscription_status="SUBSCRIBED", tags=["VIP"]),
            ContactData(email="b@x.com", subscription_status="SUBSCRIBED", tags=["other"]),
            ContactData(email="c@x.com", subscription_status="UNSUBSCRIBED", tags=["vip"]),
        ],
        now=NOW,
    )
    await record_events(
        account,
        [
            EventData(email=e, kind="OPENED", occurred_at=NOW - timedelta(days=3))
            for e in ("a@x.com", "b@x.com", "c@x.com")
        ],
        now=NOW,
    )
    tree = codec.parse(
        {
            "and": [
                {"tags": {"hasAny": ["vip", "webinar"]}},
                {"emailActivity": {"event": "OPENED", "window": {"withinLastDays": 30}}},
                {"subscriptionStatus": {"in": ["SUBSCRIBED"]}},
            ]
        }
    )
    assert await query.count_matching(account.id, tree, now=NOW) == 1
    assert await query.count_matching(account.id, ast.Not(tree), now=NOW) == 2


async def test_segment_reference_and_explain(account: Account) -> None:
    contacts = await _contacts(account, ["Ada", None])
    vip = codec.parse({"firstName": {"eq": "ada"}})
    segment = await Segment.create(
        account=account,
        name="Adas",
        name_lower="adas",
        kind=SegmentKind.CUSTOM,
        filter_json=codec.encode(vip),
    )
    tree = codec.parse(
        {
            "and": [
                {"segment": {"in": _gid("Segment", segment.id)}},
                {"not": {"firstName": {"isEmpty": True}}},
            ]
        }
    )
    assert await query.matching_ids(account.id, tree, now=NOW) == [contacts[0].id]
    truths = await query.explain(account.id, tree, contacts[1].id, now=NOW)
    assert truths is not None
    assert [(t.path, t.matches) for t in truths] == [
        ((), False),
        (("and", "0"), False),
        (("and", "1"), False),
        (("and", "1", "not"), True),
    ]
    assert "Adas" in truths[1].description


async def test_keyset_pages_walk_every_contact_once(account: Account) -> None:
    contacts = await _contacts(account, [f"n{i}" for i in range(7)])
    opened = NOW - timedelta(days=1)
    for index, contact in enumerate(contacts[:4]):  # three never opened: NULLs
        contact.last_opened_at = opened - timedelta(hours=index % 2)
        await contact.save(update_fields=["last_opened_at"])
    for descending in (False, True):
        order = query.Order("last_opened_at", descending)
        seen: list[int] = []
        after = None
        while True:
            rows = await query.page(account.id, None, now=NOW, order=order, limit=3, after=after)
            if not rows:
                break
            seen += [r["id"] for r in rows]
            after = query.Keyset(rows[-1]["sort_value"], rows[-1]["id"])
        assert sorted(seen) == sorted(c.id for c in contacts)
        assert len(seen) == len(set(seen))
        # Paging back from the end gives the same order reversed.
        rows = await query.page(account.id, None, now=NOW, order=order, limit=100)
        last = rows[-1]
        before = query.Keyset(last["sort_value"], last["id"])
        back_rows = await query.page(
            account.id, None, now=NOW, order=order, limit=100, after=before, backward=True
        )
        back = [r["id"] for r in back_rows]
        assert back == list(reversed(seen[:-1]))


def _gid(type_name: str, pk: int) -> str:
    from app.filters.ids import to_global_id

    return to_global_id(type_name, pk)
