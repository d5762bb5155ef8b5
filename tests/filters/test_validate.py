"""Checks that need the account's data: products and segments exist in it, no cycles."""

from __future__ import annotations

import pytest

from app.enums import DefaultSegment, SegmentKind
from app.filters import codec
from app.filters.errors import FilterError
from app.filters.ids import to_global_id
from app.filters.validate import validate
from app.models import Account, Product, Segment
from app.services.accounts import create_account


async def _segment(account: Account, name: str, data: dict[str, object]) -> Segment:
    return await Segment.create(
        account=account,
        name=name,
        name_lower=name.lower(),
        kind=SegmentKind.CUSTOM,
        filter_json=codec.encode(codec.parse(data)),
    )


def _ref(segment: Segment) -> dict[str, object]:
    return {"segment": {"in": to_global_id("Segment", segment.id)}}


async def test_products_must_be_the_accounts(account: Account) -> None:
    mine = await Product.create(account=account, external_id="p1", title="Course")
    other_account = (await create_account("Other")).account
    theirs = await Product.create(account=other_account, external_id="p1", title="Course")
    ok = {"products": {"ownsAny": [to_global_id("Product", mine.id)]}}
    await validate(account.id, codec.parse(ok))
    bad = {"and": [ok, {"purchases": {"product": to_global_id("Product", theirs.id)}}]}
    with pytest.raises(FilterError, match="No such product") as caught:
        await validate(account.id, codec.parse(bad))
    assert caught.value.path == ("and", "1", "purchases", "product")


async def test_segments_must_be_the_accounts_defaults_included(account: Account) -> None:
    inactive = await Segment.get(account=account, default_key=DefaultSegment.INACTIVE)
    await validate(account.id, codec.parse(_ref(inactive)))
    other = await Segment.filter(account_id=(await create_account("Other")).account.id).first()
    assert other is not None
    with pytest.raises(FilterError, match="No such segment") as caught:
        await validate(account.id, codec.parse({"not": _ref(other)}))
    assert caught.value.path == ("not", "segment", "in")


async def test_references_may_not_form_a_cycle(account: Account) -> None:
    a = await _segment(account, "A", {"isCustomer": True})
    b = await _segment(account, "B", _ref(a))
    # Saving A so that it uses B, which uses A: refused, at the reference that closes the loop.
    with pytest.raises(FilterError, match="cycle") as caught:
        await validate(
            account.id, codec.parse({"or": [{"isExcluded": True}, _ref(b)]}), segment_id=a.id
        )
    assert caught.value.path == ("or", "1", "segment", "in")
    with pytest.raises(FilterError, match="cycle"):
        await validate(account.id, codec.parse(_ref(a)), segment_id=a.id)
    # A new segment may use B (no loop), and B may keep using A.
    await validate(account.id, codec.parse(_ref(b)))
    await validate(account.id, codec.parse(_ref(a)), segment_id=b.id)
