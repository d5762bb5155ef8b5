"""CSV import: header aliases, tags, custom fields, and a report of every rejected row."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.limits import MAX_CSV_LINE
from app.models import Account, Contact
from app.services import csv_import
from app.services.csv_columns import column_key, custom_value
from app.services.csv_import import (
    CsvFormatError,
    ImportReport,
    count_rows,
    import_csv,
    import_rows,
)

CSV = """Email,First Name,lastName,Tags,plan,score,zip
ada@example.com,Ada,Lovelace,vip; webinar-2026,pro,12,02139
not-an-email,Bad,Row,,,,
GRACE@example.com,Grace,Hopper,vip,,7,
ada@EXAMPLE.com,Ada,King,,basic,,
,No,Email,,,,
"""


async def test_import_reports_rejected_rows_and_keeps_the_rest(account: Account) -> None:
    report = await import_rows(account, io.StringIO(CSV))
    assert report.rows == 5
    lines = [(r.line, r.field) for r in report.rejected]
    assert lines == [(3, "email"), (5, "email"), (6, "email")]
    assert report.imported == 2
    contacts = {c.email_lower: c for c in await Contact.filter(account=account)}
    assert set(contacts) == {"ada@example.com", "grace@example.com"}
    ada = contacts["ada@example.com"]
    # The later row repeats the email (emails are case-insensitive): it is rejected, not merged.
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")
    assert ada.custom_fields == {"plan": "pro", "score": 12, "zip": "02139"}
    tags = await ada.tag_links.all().prefetch_related("tag")
    assert sorted(link.tag.name for link in tags) == ["vip", "webinar-2026"]


async def test_a_file_without_an_email_column_is_refused(account: Account) -> None:
    with pytest.raises(CsvFormatError, match="email"):
        await import_rows(account, io.StringIO("name,plan\nAda,pro\n"))
    with pytest.raises(CsvFormatError, match="empty"):
        await import_rows(account, io.StringIO(""))


def test_column_keys_and_custom_values() -> None:
    assert column_key("First Name") == column_key("firstName") == column_key("first-name")
    assert custom_value("42") == 42
    assert custom_value("-3") == -3
    assert custom_value("007") == "007"
    assert custom_value("4.5") == "4.5"
    # Past 2^53 a number isn't exact in JSON: a long id stays text.
    assert custom_value(str(2**53)) == 2**53
    assert custom_value("123456789012345678") == "123456789012345678"


def rejected(report: ImportReport) -> list[tuple[int, str | None, str]]:
    return [(r.line, r.field, r.message) for r in report.rejected]


async def stored(account: Account) -> dict[str, Contact]:
    return {c.email_lower: c for c in await Contact.filter(account=account)}


async def test_a_nul_cell_rejects_its_row_and_the_rest_of_the_batch_is_imported(
    account: Account,
) -> None:
    text = (
        "email,first_name,country,tags,plan\n"
        "ann@example.com,Ann,FR,vip,pro\n"
        "bob@example.com,Bo\x00b,,,\n"
        "cat@example.com,Cat,,v\x00ip,\n"
        "dan@example.com,Dan,,,p\x00ro\n"
        "e\x00ve@example.com,Eve,,,\n"
        "fay@example.com,Fay,D\x1bE,,\n"
        "gus@example.com,Gus,,vip,basic\n"
    )
    report = await import_rows(account, io.StringIO(text))
    assert rejected(report) == [
        (3, "first_name", "The first name contains a NUL character."),
        (4, "tags", "The tags contains a NUL character."),
        (5, "custom_fields", "The text in 'plan' contains a NUL character."),
        (6, "email", "The email contains a NUL character."),
        (7, "country", "The country contains the control character U+001B."),
    ]
    assert (report.rows, report.imported) == (7, 2)
    contacts = await stored(account)
    assert set(contacts) == {"ann@example.com", "gus@example.com"}
    assert contacts["gus@example.com"].custom_fields == {"plan": "basic"}


async def test_bytes_that_are_not_utf8_reject_their_rows_only(
    account: Account, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        b"\xef\xbb\xbfemail,first_name,plan,tags\n"
        b"ann@example.com,Ann,pro,\n"
        b"bob@example.com,Ren\xe9,pro,\n"  # Latin-1, not UTF-8
        b"cat@example.com,Cat,\xff\xfe,\n"
        b"d\xc3(n@example.com,Dan,,\n"  # a truncated sequence
        b"eve@example.com,\xc3\xa9ve,,a;\xed\xa0\x80\n"  # an encoded surrogate
        b"fay@example.com,Fa\xc3\xbf,,\n"  # valid UTF-8
    )
    assert count_rows(path) == 6
    report = await import_csv(account, path)
    assert rejected(report) == [
        (3, "first_name", "The first name is not valid UTF-8 (byte 0xE9 at character 4)."),
        (4, "custom_fields", "The text in 'plan' is not valid UTF-8 (byte 0xFF at character 1)."),
        (5, "email", "The email is not valid UTF-8 (byte 0xC3 at character 2)."),
        (6, "tags", "The tag list is not valid UTF-8 (byte 0xED at character 3)."),
    ]
    assert (report.rows, report.imported) == (6, 2)
    contacts = await stored(account)
    assert set(contacts) == {"ann@example.com", "fay@example.com"}
    assert contacts["fay@example.com"].first_name == "Faÿ"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
        ("email,first_name\nann@example.com,Ann\n".encode("utf-16"), "not UTF-8 text"),
        (b"email,na\x00me\nann@example.com,Ann\n", "Column 2 of the header contains a NUL"),
        (b"email," + b"x" * (MAX_CSV_LINE + 5) + b"\n", "line 1 is longer than"),
    ],
)
async def test_a_file_that_is_not_csv_text_is_refused(
    account: Account, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)
    with pytest.raises(CsvFormatError, match=message):
        await import_csv(account, path)
    assert await stored(account) == {}


async def test_over_long_cells_reject_their_rows_and_reading_goes_on(account: Account) -> None:
    big = "x" * 200_000  # beyond the csv module's default field limit (131 072)
    huge = "y" * MAX_CSV_LINE  # with the rest of its line, beyond what the import reads
    spanning = "z" * (MAX_CSV_LINE * 6 // 10)  # a quoted cell over two lines, too long in all
    text = (
        "email,first_name,notes\n"
        "ann@example.com,Ann,short\n"
        f"bob@example.com,{'B' * 201},\n"
        f"cat@example.com,Cat,{big}\n"
        f'"dan@example.com","Dan","{big}"\n'
        f"eve@example.com,Eve,{huge}\n"
        f'fay@example.com,Fay,"{spanning}\n{spanning}"\n'
        "gus@example.com,Gus,\n"
    )
    report = await import_rows(account, io.StringIO(text, newline=""))
    too_big = "Custom fields are at most 16384 bytes as JSON; got 200013."
    assert rejected(report) == [
        (3, "first_name", "The first name is longer than 200 characters."),
        (4, "custom_fields", too_big),
        (5, "custom_fields", too_big),
        (6, None, f"The row can't be read: line 6 is longer than {MAX_CSV_LINE} characters."),
        (7, None, f"The row can't be read: a cell is longer than {MAX_CSV_LINE} characters."),
    ]
    assert (report.rows, report.imported) == (7, 2)
    assert set(await stored(account)) == {"ann@example.com", "gus@example.com"}


async def test_a_repeated_email_is_rejected_naming_its_first_line(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "MAX_BATCH", 2)  # repeats across batches too
    text = (
        "email,first_name,plan\n"
        "ann@example.com,Ann,pro\n"
        "bob@example.com,Bob,\n"
        " ANN@Example.COM ,Annie,basic\n"
        "ZO\u00c9@example.com,Zo\u00e9,\n"
        "zoe\u0301@example.com,Zoe,\n"  # the same address, decomposed
        "bob@example.com,Bobby,\n"
        "not-an-email,Nobody,\n"
        "not-an-email,Nobody,\n"
    )
    report = await import_rows(account, io.StringIO(text))
    once = "each email may appear only once in a file."
    assert rejected(report) == [
        (4, "email", f"The email 'ANN@Example.COM' is already on line 2; {once}"),
        (6, "email", f"The email 'zo\u00e9@example.com' is already on line 5; {once}"),
        (7, "email", f"The email 'bob@example.com' is already on line 3; {once}"),
        (8, "email", "'not-an-email' is not a valid email address."),
        (9, "email", "'not-an-email' is not a valid email address."),
    ]
    assert (report.rows, report.imported) == (8, 3)
    contacts = await stored(account)
    assert set(contacts) == {"ann@example.com", "bob@example.com", "zo\u00e9@example.com"}
    ann = contacts["ann@example.com"]
    assert (ann.first_name, ann.custom_fields) == ("Ann", {"plan": "pro"})
    assert contacts["bob@example.com"].first_name == "Bob"
