"""CSV import: header aliases, tags, custom fields, and a report of every rejected row."""

from __future__ import annotations

import io

import pytest

from app.models import Account, Contact
from app.services.csv_import import CsvFormatError, column_key, custom_value, import_rows

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
    assert [(r.line, r.field) for r in report.rejected] == [(3, "email"), (6, "email")]
    assert report.imported == 3
    contacts = {c.email_lower: c for c in await Contact.filter(account=account)}
    assert set(contacts) == {"ada@example.com", "grace@example.com"}
    ada = contacts["ada@example.com"]
    # The later row updates the same contact (emails are case-insensitive).
    assert (ada.first_name, ada.last_name) == ("Ada", "King")
    assert ada.custom_fields == {"plan": "basic", "score": 12, "zip": "02139"}
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
