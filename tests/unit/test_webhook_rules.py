"""The webhook rules that need no database: the signature, the address guard, the retry
schedule and how membership changes are cut into deliveries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.limits import MAX_DELIVERY_IDS
from app.services import tasks
from app.services.webhook_address import AddressRefused, check_url, parse_url, refusal
from app.services.webhook_delivery import MAX_RETRY_DELAY_S, retry_delay, sign
from app.services.webhook_events import chunks
from app.services.webhooks import new_secret
from app.settings import Settings

DEV = Settings()
PROD = replace(DEV, environment="production")


def test_the_signature_is_an_hmac_of_the_timestamp_and_the_body() -> None:
    secret, body = new_secret(), '{"id":"x","data":{"é":1}}'
    header = sign(secret, 1_700_000_000, body)
    expected = hmac.new(
        secret.encode(), b"1700000000." + body.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert sign(secret, 1_700_000_001, body) != header


def test_secrets_are_long_random_and_recognisable() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and len(first) == 6 + 64 and first != second


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "must start with"),
        ("example.com/hook", "must start with"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://user@example.com/", "user name or password"),
        ("https:///path", "no host"),
        ("https://example.com:99999/", "not valid"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com/" + "a" * 2000, "longer than"),
    ],
)
def test_malformed_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(AddressRefused, match=why):
        parse_url(url, DEV)


def test_production_requires_https() -> None:
    parse_url("http://example.com/hook", DEV)
    with pytest.raises(AddressRefused, match="https://"):
        parse_url("http://example.com/hook", PROD)
    parse_url("https://example.com/hook", PROD)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.8/",
        "http://0.0.0.0/",
    ],
)
async def test_urls_reaching_private_addresses_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(AddressRefused, match="not allowed"):
        await check_url(url, DEV)
    target = await check_url(url, replace(DEV, webhooks_allow_private=True))
    assert target.addresses


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(AddressRefused, match="could not be resolved"):
        await check_url("https://no-such-host.invalid/hook", DEV)


def test_retry_delays_grow_are_jittered_and_capped() -> None:
    rng = random.Random(7)
    for attempts in range(1, 12):
        full = min(30 * 2 ** (attempts - 1), MAX_RETRY_DELAY_S)
        delays = {retry_delay(attempts, 30, rng).total_seconds() for _ in range(50)}
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1  # jittered
    assert retry_delay(40, 30, rng) <= timedelta(seconds=MAX_RETRY_DELAY_S)
    # Growing: each step's shortest wait is at least the previous step's longest halved.
    assert retry_delay(3, 30, rng) >= timedelta(seconds=60)


def _change(pk: int, contact: int, kind: str, at: datetime) -> dict[str, object]:
    return {"id": pk, "contact_id": contact, "kind": kind, "at": at}


def test_changes_are_cut_into_deliveries_of_at_most_a_thousand_ids() -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    second = first + timedelta(hours=1)
    rows = [_change(i, i, "ENTERED" if i % 3 else "LEFT", first) for i in range(1, 2501)]
    rows += [_change(2501, 5, "LEFT", second), _change(2502, 7, "ENTERED", second)]
    cut = chunks(rows)
    sizes = [len(c.entered) + len(c.left) for c in cut]
    assert sizes == [MAX_DELIVERY_IDS, MAX_DELIVERY_IDS, 500, 2]
    assert [c.last_id for c in cut] == [1000, 2000, 2500, 2502]
    assert cut[3].left == [5] and cut[3].entered == [7]
    every = [pk for c in cut[:3] for pk in c.entered + c.left]
    assert sorted(every) == list(range(1, 2501))


def test_a_contact_is_at_most_once_in_a_delivery() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    cut = chunks(
        [_change(1, 9, "ENTERED", at), _change(2, 8, "ENTERED", at), _change(3, 9, "LEFT", at)]
    )
    assert [(c.entered, c.left) for c in cut] == [([9, 8], []), ([], [9])]


async def test_in_process_deliveries_run_side_by_side_and_later_ones_wait() -> None:
    backend = tasks.InProcessBackend()
    started: list[str] = []
    release = asyncio.Event()

    async def slow(name: str) -> None:
        started.append(name)
        await release.wait()

    hook = tasks.Task("test_slow_delivery", "webhooks", slow)
    count = tasks.Task("test_slow_count", "counts", slow)
    for name in ("a", "b"):
        await backend.send(hook, (name,), {}, None)
        await backend.send(count, (name.upper(),), {}, None)
    await asyncio.sleep(0.05)
    # Two receivers at once on the webhooks queue; counts still one at a time.
    assert sorted(started) == ["A", "a", "b"]
    await backend.send(hook, ("later",), {}, None, 0.2)
    await asyncio.sleep(0.05)
    assert "later" not in started
    await asyncio.sleep(0.3)
    assert "later" in started
    release.set()
    await backend.drain()
