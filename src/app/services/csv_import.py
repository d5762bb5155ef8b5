"""Import contacts from a CSV file: known columns map to contact fields, any other column
becomes a custom field. Rows go through the same upsert as the API, 1 000 at a time."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from app.limits import MAX_BATCH
from app.models import Account
from app.services.contacts import ContactData, upsert_contacts

_ALIASES = {
    "email": "email",
    "email_address": "email",
    "first_name": "first_name",
    "firstname": "first_name",
    "last_name": "last_name",
    "lastname": "last_name",
    "country": "country",
    "birth_date": "birth_date",
    "birthdate": "birth_date",
    "subscription_status": "subscription_status",
    "email_risk": "email_risk",
    "tags": "tags",
}
_TAG_SEPARATORS = re.compile(r"[;|,]")
_PLAIN_INTEGER = re.compile(r"^-?(0|[1-9][0-9]{0,17})$")


@dataclass(frozen=True)
class RejectedRow:
    line: int  # the line in the file; the header is line 1
    field: str | None
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


class CsvFormatError(ValueError):
    """The file can't be read as a contacts CSV at all (no header, no email column)."""


def column_key(header: str) -> str:
    """`First Name`, `first-name` and `firstName` all become `first_name`."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header.strip())
    return re.sub(r"[\s\-]+", "_", snake).lower()


def custom_value(raw: str) -> Any:
    # Whole numbers become numbers so number conditions work; "007" stays text (codes, zips).
    return int(raw) if _PLAIN_INTEGER.match(raw) else raw


def _row_to_contact(row: dict[str, str], columns: dict[str, str]) -> ContactData:
    values: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    tags: list[str] = []
    for header, raw_value in row.items():
        if header is None or raw_value is None:
            continue
        value = raw_value.strip()
        target = columns[header]
        if not value:
            continue
        if target == "tags":
            tags = [t.strip() for t in _TAG_SEPARATORS.split(value) if t.strip()]
        elif target.startswith("custom:"):
            custom[target.removeprefix("custom:")] = custom_value(value)
        else:
            values[target] = value
    birth = values.pop("birth_date", None)
    contact = ContactData(email=values.pop("email", ""), tags=tags, **values)
    if birth is not None:
        contact.birth_date = _parse_date(birth)
    if custom:
        contact.custom_fields = custom
    return contact


def _parse_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _batches(reader: csv.DictReader[str], size: int) -> Iterator[list[tuple[int, dict[str, str]]]]:
    batch: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        batch.append((reader.line_num, row))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def import_csv(
    account: Account, path: Path, progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Import the file (UTF-8, a byte-order mark allowed); reports every rejected row."""
    with path.open(newline="", encoding="utf-8-sig") as stream:
        return await import_rows(account, stream, progress)


async def import_rows(
    account: Account, stream: TextIO, progress: Callable[[int], None] | None = None
) -> ImportReport:
    reader = csv.DictReader(stream)
    if not reader.fieldnames:
        raise CsvFormatError("The file is empty: the first line must name the columns.")
    columns = {
        header: _ALIASES.get(column_key(header), f"custom:{header.strip()}")
        for header in reader.fieldnames
    }
    if "email" not in columns.values():
        raise CsvFormatError("No email column: the header must have a column named email.")
    report = ImportReport()
    for batch in _batches(reader, MAX_BATCH):
        items: list[ContactData] = []
        lines: list[int] = []
        for line, row in batch:
            report.rows += 1
            if None in row:
                report.rejected.append(
                    RejectedRow(line, None, "The row has more cells than the header.")
                )
                continue
            contact = _row_to_contact(row, columns)
            if "birth_date" in {columns[h] for h, v in row.items() if v and v.strip()} and (
                contact.birth_date is None
            ):
                report.rejected.append(
                    RejectedRow(line, "birth_date", "The birth date must be YYYY-MM-DD.")
                )
                continue
            items.append(contact)
            lines.append(line)
        result = await upsert_contacts(account, items)
        rejected_lines = set()
        for error in result.errors:
            rejected_lines.add(error.index)
            report.rejected.append(RejectedRow(lines[error.index], error.field, error.message))
        report.imported += len(items) - len(rejected_lines)
        if progress is not None:
            progress(report.rows)
    report.rejected.sort(key=lambda r: r.line)
    return report


def count_rows(path: Path) -> int:
    """Data rows in the file (a quick pass, for the progress bar's total)."""
    with path.open(newline="", encoding="utf-8-sig") as stream:
        return max(sum(1 for _ in csv.reader(stream)) - 1, 0)
