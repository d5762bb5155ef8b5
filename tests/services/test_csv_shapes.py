"""CSV exports of other tools (tests/samples/): tags, statuses and dates land where the
engagement rules read them, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app import clock
from app.enums import SubscriptionStatus, UnsubscribeReason
from app.models import Account, Contact
from app.services.contacts import ContactData
from app.services.csv_columns import split_tags
from app.services.csv_import import import_csv, import_rows
from app.services.csv_rejects import RejectsWriter

from .helpers import tag_names, upsert_ok

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SUBSCRIBED = SubscriptionStatus.SUBSCRIBED
UNSUBSCRIBED = SubscriptionStatus.UNSUBSCRIBED
NEVER = SubscriptionStatus.NEVER_SUBSCRIBED
# The samples' dates are set around this day: the rules judge them as of it.
NOW = datetime(2025, 12, 1, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def as_of_now() -> Iterator[None]:
    clock.set_offset(NOW - datetime.now(UTC))
    try:
        yield
    finally:
        clock.set_offset(NOW - NOW)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


async def contacts(account: Account) -> dict[str, Contact]:
    return {c.email_lower: c for c in await Contact.filter(account=account)}


async def test_mailchimp_subscribers_with_their_tags_and_dates(account: Account) -> None:
    report = await import_csv(account, SAMPLES / "mailchimp.csv")
    assert (report.rows, report.imported, report.rejected) == (3, 3, [])
    found = await contacts(account)
    ada, grace, alan = (found[f"{n}@example.com"] for n in ("ada", "grace", "alan"))
    # A subscriber export has no status column: its rows are subscribers.
    assert {c.subscription_status for c in found.values()} == {SUBSCRIBED}
    # The confirmation follows the opt-in; the contact exists since its opt-in.
    assert ada.subscribed_at == utc(2024, 1, 10, 9, 20, 44)
    assert ada.created_at == utc(2024, 1, 10, 9, 15, 2)
    assert grace.subscribed_at == grace.created_at == utc(2025, 11, 20, 16, 45, 10)
    # No time in the row: subscribed now, as the API does.
    assert alan.subscribed_at is not None and alan.subscribed_at >= NOW
    # The Inactive rule judges the real dates at once: ada opted in 23 months ago.
    assert (ada.is_inactive, grace.is_inactive, alan.is_inactive) == (True, False, False)
    assert await tag_names(ada) == {"vip", "webinar-2026"}
    assert await tag_names(grace) == {"beta, early access", "newsletter"}
    assert await tag_names(alan) == set()
    # Every other column is a custom field, as in any file.
    assert ada.custom_fields["MEMBER_RATING"] == 4
    assert ada.custom_fields["LEID"] == 123456781
    assert ada.custom_fields["TIMEZONE"] == "Europe/London"


async def test_mailchimp_unsubscribed_and_cleaned_exports(account: Account) -> None:
    await import_csv(account, SAMPLES / "mailchimp_unsubscribed.csv")
    await import_csv(account, SAMPLES / "mailchimp_cleaned.csv")
    found = await contacts(account)
    edsger, barbara = found["edsger@example.com"], found["barbara@example.com"]
    assert (edsger.subscription_status, edsger.unsubscribe_reason) == (
        UNSUBSCRIBED,
        UnsubscribeReason.OPTED_OUT,
    )
    assert (barbara.subscription_status, barbara.unsubscribe_reason) == (
        UNSUBSCRIBED,
        UnsubscribeReason.BOUNCED,
    )
    assert edsger.created_at == utc(2023, 3, 1, 12)
    assert edsger.custom_fields["UNSUB_REASON"] == "I no longer want to receive these emails"
    assert await tag_names(edsger) == {"launch-2025"}


async def test_kajabi_contacts_need_subscribed_to_be_subscribers(
    account: Account, other_account: Account
) -> None:
    await import_csv(account, SAMPLES / "kajabi.csv")
    assert {c.subscription_status for c in (await contacts(account)).values()} == {NEVER}

    report = await import_csv(other_account, SAMPLES / "kajabi.csv", subscribed=True)
    assert (report.imported, report.rejected) == (2, [])
    found = await contacts(other_account)
    maya, nina = found["maya@example.com"], found["nina@example.com"]
    assert (maya.subscription_status, nina.subscription_status) == (SUBSCRIBED, SUBSCRIBED)
    # "2024-03-02 10:15:44 -0700": the offset is honoured. Without an opt-in time, the
    # creation time is the subscription's.
    assert maya.created_at == maya.subscribed_at == utc(2024, 3, 2, 17, 15, 44)
    assert nina.subscribed_at == utc(2025, 11, 25, 13)
    assert (maya.is_inactive, nina.is_inactive) == (True, False)
    # "Country (address_country)" is the country; the other bracketed columns are custom.
    assert maya.country == "US"
    assert maya.custom_fields["Products"] == "Poetry 101, Memoir Masterclass"
    assert maya.custom_fields["Phone Number (phone_number)"] == "+1 555 0100"
    assert await tag_names(maya) == {"vip", "webinar-2026"}
    assert await tag_names(nina) == {"newsletter"}


async def test_convertkit_states(account: Account) -> None:
    report = await import_csv(account, SAMPLES / "convertkit.csv")
    assert (report.imported, report.rejected) == (5, [])
    found = await contacts(account)
    states = {
        email.partition("@")[0]: (c.subscription_status, c.unsubscribe_reason)
        for email, c in found.items()
    }
    assert states == {
        "octavia": (SUBSCRIBED, None),
        "ursula": (UNSUBSCRIBED, UnsubscribeReason.OPTED_OUT),
        "isaac": (UNSUBSCRIBED, UnsubscribeReason.BOUNCED),
        "mary": (UNSUBSCRIBED, UnsubscribeReason.MARKED_SPAM),
        "ray": (NEVER, None),  # "inactive": an unconfirmed double opt-in
    }
    octavia = found["octavia@example.com"]
    assert octavia.subscribed_at == octavia.created_at == utc(2024, 2, 10, 11, 12, 13)
    assert found["ray@example.com"].subscribed_at is None
    assert await tag_names(octavia) == {"vip", "sci-fi"}


async def test_klaviyo_consent(account: Account) -> None:
    report = await import_csv(account, SAMPLES / "klaviyo.csv")
    assert (report.imported, report.rejected) == (3, [])
    found = await contacts(account)
    rosalind, marie, lise = (found[f"{n}@example.com"] for n in ("rosalind", "marie", "lise"))
    assert rosalind.subscription_status is SUBSCRIBED
    assert rosalind.subscribed_at == utc(2024, 4, 11, 9, 14, 33)
    assert rosalind.created_at == utc(2024, 4, 1, 12)
    assert (marie.subscription_status, marie.unsubscribe_reason) == (
        UNSUBSCRIBED,
        UnsubscribeReason.OPTED_OUT,
    )
    assert lise.subscription_status is NEVER
    assert (rosalind.country, rosalind.custom_fields) == (
        "United Kingdom",
        {"Klaviyo ID": "01HV7Q2M3N4P5Q6R7S8T9V0W1X"},
    )


async def test_a_subscriber_list_never_resubscribes_who_unsubscribed_here(
    account: Account,
) -> None:
    await upsert_ok(
        account,
        ContactData(email="ada@example.com", subscription_status=UNSUBSCRIBED),
        ContactData(email="grace@example.com", subscription_status=SUBSCRIBED),
        now=NOW,
    )
    before = (await contacts(account))["grace@example.com"].subscribed_at
    report = await import_csv(account, SAMPLES / "mailchimp.csv")
    assert (report.imported, report.kept_unsubscribed) == (3, 1)
    found = await contacts(account)
    assert found["ada@example.com"].subscription_status is UNSUBSCRIBED
    # Its name and tags are still imported.
    assert found["ada@example.com"].first_name == "Ada"
    # A subscriber's stored opt-in is kept; the creation time only moves earlier.
    assert found["grace@example.com"].subscribed_at == before
    assert found["grace@example.com"].created_at == utc(2025, 11, 20, 16, 45, 10)

    # A status column says it in so many words: that re-subscribes, as the API does.
    await import_rows(account, io.StringIO("email,status\nada@example.com,subscribed\n"))
    assert (await contacts(account))["ada@example.com"].subscription_status is SUBSCRIBED


async def test_importing_a_file_again_changes_nothing(account: Account) -> None:
    await import_csv(account, SAMPLES / "mailchimp.csv")
    first = {e: (c.subscribed_at, c.created_at) for e, c in (await contacts(account)).items()}
    report = await import_csv(account, SAMPLES / "mailchimp.csv")
    assert (report.imported, report.kept_unsubscribed, report.rejected) == (3, 0, [])
    again = {e: (c.subscribed_at, c.created_at) for e, c in (await contacts(account)).items()}
    assert again == first


async def test_bad_times_and_statuses_reject_their_rows(account: Account) -> None:
    text = (
        "email,status,created_at\n"
        "ann@example.com,subscribed,yesterday\n"
        "bob@example.com,maybe,\n"
        "cat@example.com,yes,2099-01-01\n"
        "dan@example.com,no,2020-02-02T02:02:02+02:00\n"
    )
    report = await import_rows(account, io.StringIO(text))
    assert [(r.line, r.field) for r in report.rejected] == [
        (2, "created_at"),
        (3, "subscription_status"),
        (4, "created_at"),
    ]
    assert "is in the future" in report.rejected[2].message
    dan = (await contacts(account))["dan@example.com"]
    assert (dan.subscription_status, dan.created_at) == (NEVER, utc(2020, 2, 2, 0, 2, 2))


async def test_the_rejects_file_keeps_whole_rows_and_imports_once_fixed(
    account: Account, tmp_path: Path
) -> None:
    source = tmp_path / "contacts.csv"
    source.write_bytes(
        b"email,First Name,plan\n"
        b"ann@example.com,Ann,pro\n"
        b"bob@example.com,Ren\xe9,basic\n"
        b"not-an-email,Nobody,\n"
        b"ANN@example.com,Annie,team\n"
        b"eve@example.com,Eve,pro,extra\n"
    )
    rejects = tmp_path / "rejects.csv"
    with RejectsWriter(rejects) as writer:
        report = await import_csv(account, source, rejects=writer)
    assert (report.imported, writer.count) == (1, 4)
    # The original bytes are kept, the Latin-1 one included.
    assert rejects.read_bytes().splitlines() == [
        b"rejected_line,rejected_field,rejected_reason,email,First Name,plan",
        b"3,first_name,The first name is not valid UTF-8 (byte 0xE9 at character 4).,"
        b"bob@example.com,Ren\xe9,basic",
        b"4,email,'not-an-email' is not a valid email address.,not-an-email,Nobody,",
        b"5,email,The email 'ANN@example.com' is already on line 2; each email may appear only"
        b" once in a file.,ANN@example.com,Annie,team",
        b"6,,The row has more cells than the header.,eve@example.com,Eve,pro,extra",
    ]

    # Fix two rows, drop the repeat, and import the rejects file as it is, onto itself: its
    # own columns are skipped, and a row still wrong is rejected again with its new line.
    rows = list(csv.reader(rejects.read_text(encoding="utf-8", errors="replace").splitlines()))
    rows[1][4] = "René"
    rows[2][3] = "nobody@example.com"
    del rows[3]
    with rejects.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    with RejectsWriter(rejects) as writer:
        report = await import_csv(account, rejects, rejects=writer)
    assert (report.rows, report.imported, writer.count) == (3, 2, 1)
    assert rejects.read_text(encoding="utf-8").splitlines() == [
        "rejected_line,rejected_field,rejected_reason,email,First Name,plan",
        "4,,The row has more cells than the header.,eve@example.com,Eve,pro,extra",
    ]
    found = await contacts(account)
    assert (found["ann@example.com"].first_name, found["bob@example.com"].first_name) == (
        "Ann",
        "René",
    )
    assert found["bob@example.com"].custom_fields == {"plan": "basic"}
    assert found["nobody@example.com"].custom_fields == {}

    # Nothing rejected: no rejects file, not a stale one.
    with RejectsWriter(rejects) as writer:
        await import_rows(account, io.StringIO("email\nzed@example.com\n"), rejects=writer)
    assert writer.count == 0 and not rejects.exists()


@pytest.mark.parametrize(
    ("cell", "tags"),
    [
        ('"vip","webinar-2026"', ["vip", "webinar-2026"]),
        ('"beta, early access", "newsletter"', ["beta, early access", "newsletter"]),
        ("vip; webinar-2026", ["vip", "webinar-2026"]),
        ("vip|webinar-2026", ["vip", "webinar-2026"]),
        ("vip, webinar-2026,", ["vip", "webinar-2026"]),
        ('"vip"', ["vip"]),
    ],
)
def test_tag_cells(cell: str, tags: list[str]) -> None:
    assert split_tags(cell) == tags


def test_a_failed_import_leaves_the_earlier_rejects_file_alone(tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    rejects.write_text("rejected_line,rejected_field,rejected_reason,email\n2,,x,a@b.c\n")
    before = rejects.read_bytes()
    with pytest.raises(RuntimeError), RejectsWriter(rejects) as writer:
        writer.header(["email"])
        writer.add(2, "email", "bad", ["nope"])
        raise RuntimeError("the database went away")
    assert rejects.read_bytes() == before
    assert list(tmp_path.iterdir()) == [rejects]
