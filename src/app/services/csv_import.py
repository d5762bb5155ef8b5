"""Import contacts from a CSV file: known columns map to contact fields, any other column
becomes a custom field. Rows go through the same upsert as the API, 1 000 at a time.

A bad row never stops the import: it is reported with its line, field and reason, and every
other row is imported. Bytes that aren't UTF-8 are read as lone surrogates (surrogateescape)
and reported per cell; a line or cell longer than MAX_CSV_LINE is read past and reported; a
row repeating an email of an earlier row is rejected, naming that row's line."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO, TypeVar

from app.db import analyze
from app.limits import MAX_BATCH, MAX_CSV_LINE
from app.models import Account
from app.services.checks import normalize_email
from app.services.contacts import ContactData, upsert_contacts
from app.services.errors import ItemInvalid
from app.text import fold, text_problem

# An import of at least this many rows refreshes the planner's statistics when it ends.
ANALYZE_AFTER = 10_000
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
_CUSTOM = "custom:"
_TAG_SEPARATORS = re.compile(r"[;|,]")
_PLAIN_INTEGER = re.compile(r"^-?(0|[1-9][0-9]{0,17})$")
# Beyond 2^53 a number no longer round-trips through JSON clients exactly: it stays text.
_MAX_EXACT_INTEGER = 2**53
# What surrogateescape makes of a byte that isn't part of valid UTF-8 (0x80-0xFF).
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")

T = TypeVar("T")
# A record's first line, and its cells or why the csv module couldn't read it.
_Record = tuple[int, list[str] | str]


@dataclass(frozen=True)
class RejectedRow:
    line: int  # the line in the file where the row starts; the header is line 1
    field: str | None
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0  # rows stored: every row read is either imported or rejected
    rejected: list[RejectedRow] = field(default_factory=list)


class CsvFormatError(ValueError):
    """The file can't be read as a contacts CSV at all (no header, no email column, not
    UTF-8 text)."""


def column_key(header: str) -> str:
    """`First Name`, `first-name` and `firstName` all become `first_name`."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header.strip())
    return re.sub(r"[\s\-]+", "_", snake).lower()


def custom_value(raw: str) -> Any:
    # Whole numbers become numbers so number conditions work; "007" stays text (codes, zips),
    # and so does a number too large to stay exact in JSON (long ids).
    if _PLAIN_INTEGER.match(raw) and abs(number := int(raw)) <= _MAX_EXACT_INTEGER:
        return number
    return raw


class _LineTooLong(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _Lines(Iterator[str]):
    """The stream's lines for the csv reader, counted. A line longer than MAX_CSV_LINE is read
    past in pieces (never held whole) and raises _LineTooLong in its place; the csv reader
    passes that on and carries on with the next line when asked for the next record."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.count = 0

    def __next__(self) -> str:
        cap = MAX_CSV_LINE + 1  # the line break included
        line = self._stream.readline(cap)
        if not line:
            raise StopIteration
        self.count += 1
        if len(line) < cap or line.endswith("\n"):
            return line
        while len(line) == cap and not line.endswith("\n"):
            line = self._stream.readline(cap)
        raise _LineTooLong(self.count)


def _records(stream: TextIO) -> Iterator[_Record]:
    """Every non-blank record of the file with the line it starts on. A record the csv
    module can't read (a line or cell too long) comes as the reason, and reading goes on with
    the next line. (A quoted cell over many lines that is too long by one line and still goes
    on after it can't be told from the rows after it: those lines are read as rows.)"""
    lines = _Lines(stream)
    reader = csv.reader(lines)
    while True:
        start = lines.count + 1
        # csv's field limit is the module's, for the whole process: raised only while we read.
        previous = csv.field_size_limit(MAX_CSV_LINE)
        record: list[str] | str
        try:
            record = next(reader)
        except StopIteration:
            return
        except _LineTooLong as exc:
            record = f"line {exc.line} is longer than {MAX_CSV_LINE} characters"
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                record = f"a cell is longer than {MAX_CSV_LINE} characters"
            else:
                record = f"it is not valid CSV ({exc})"
        finally:
            csv.field_size_limit(previous)
        if record:
            yield start, record


def _bad_byte(text: str) -> str | None:
    """Where `text` holds a byte that isn't UTF-8 (read with surrogateescape), or None."""
    found = _ESCAPED_BYTE.search(text)
    if found is None:
        return None
    return f"byte 0x{ord(found.group()) - 0xDC00:02X} at character {found.start() + 1}"


def _field(target: str) -> str:
    return "custom_fields" if target.startswith(_CUSTOM) else target


def _subject(target: str) -> str:
    """How a message names a column's value, as app.services.checks does."""
    if target.startswith(_CUSTOM):
        return f"The text in {target.removeprefix(_CUSTOM)!r}"
    if target == "tags":
        return "The tag list"
    return f"The {target.replace('_', ' ')}"


def _columns(record: _Record | None) -> list[str]:
    """The target of each column of the header: a contact field or `custom:<name>`."""
    if record is None:
        raise CsvFormatError("The file is empty: the first line must name the columns.")
    line, cells = record
    if isinstance(cells, str):
        raise CsvFormatError(f"The header (line {line}) can't be read: {cells}.")
    for number, name in enumerate(cells, 1):
        where = _bad_byte(name)
        if where:
            raise CsvFormatError(
                f"The file is not UTF-8 text (column {number} of the header has the {where}):"
                " save it as CSV UTF-8."
            )
    columns = [_ALIASES.get(column_key(name), f"{_CUSTOM}{name.strip()}") for name in cells]
    if "email" not in columns:
        raise CsvFormatError("No email column: the header must have a column named email.")
    for number, name in enumerate(cells, 1):
        problem = text_problem(name)
        if problem:
            raise CsvFormatError(f"Column {number} of the header {problem}.")
    return columns


def _claim_email(email: str, line: int, seen: dict[str, int]) -> None:
    """Record the row's email (as the upsert matches it); a repeat of an earlier row's is
    rejected. An invalid email claims nothing: the upsert reports it."""
    try:
        address = normalize_email(email)
    except ItemInvalid:
        return
    first = seen.setdefault(fold(address), line)
    if first != line:
        raise ItemInvalid(
            "email",
            f"The email {address!r} is already on line {first}; "
            "each email may appear only once in a file.",
        )


def _contact(cells: list[str], columns: list[str], line: int, seen: dict[str, int]) -> ContactData:
    """The row as a contact for the upsert, or ItemInvalid naming what is wrong with the row
    as a row of this file. The values' own checks (text, lengths, ranges) are the upsert's."""
    if len(cells) > len(columns):
        raise ItemInvalid(None, "The row has more cells than the header.")
    # A row shorter than the header leaves its last columns empty.
    pairs = zip(columns, cells, strict=False)
    given = [(target, cell.strip()) for target, cell in pairs if cell.strip()]
    values: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    tags: list[str] = []
    for target, value in given:
        if target.startswith(_CUSTOM):
            custom[target.removeprefix(_CUSTOM)] = custom_value(value)
        elif target == "tags":
            tags = [t.strip() for t in _TAG_SEPARATORS.split(value) if t.strip()]
        else:
            values[target] = value
    _claim_email(values.get("email", ""), line, seen)
    for target, value in given:
        where = _bad_byte(value)
        if where:
            raise ItemInvalid(_field(target), f"{_subject(target)} is not valid UTF-8 ({where}).")
    birth = values.pop("birth_date", None)
    contact = ContactData(email=values.pop("email", ""), tags=tags, **values)
    if birth is not None:
        contact.birth_date = _parse_date(birth)
    if custom:
        contact.custom_fields = custom
    return contact


def _parse_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ItemInvalid("birth_date", "The birth date must be YYYY-MM-DD.") from None


def _batches(items: Iterator[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _open(path: Path) -> TextIO:
    # A byte-order mark is allowed; bytes that aren't UTF-8 become lone surrogates, which
    # the import reports per cell instead of failing the whole file.
    return path.open(newline="", encoding="utf-8-sig", errors="surrogateescape")


async def import_csv(
    account: Account, path: Path, progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Import the file (UTF-8, a byte-order mark allowed); reports every rejected row."""
    with _open(path) as stream:
        return await import_rows(account, stream, progress)


async def import_rows(
    account: Account, stream: TextIO, progress: Callable[[int], None] | None = None
) -> ImportReport:
    records = _records(stream)
    columns = _columns(next(records, None))
    report = ImportReport()
    seen: dict[str, int] = {}  # folded email -> the line of its first row
    for batch in _batches(records, MAX_BATCH):
        items: list[ContactData] = []
        lines: list[int] = []
        for line, cells in batch:
            report.rows += 1
            try:
                if isinstance(cells, str):
                    raise ItemInvalid(None, f"The row can't be read: {cells}.")
                items.append(_contact(cells, columns, line, seen))
            except ItemInvalid as exc:
                report.rejected.append(RejectedRow(line, exc.field, exc.message))
                continue
            lines.append(line)
        if items:
            result = await upsert_contacts(account, items)
            for error in result.errors:
                report.rejected.append(RejectedRow(lines[error.index], error.field, error.message))
            # One stored contact per row: no two rows of the file share an email.
            report.imported += len(result.items)
        if progress is not None:
            progress(report.rows)
    report.rejected.sort(key=lambda r: r.line)
    if report.imported >= ANALYZE_AFTER:
        await analyze()  # the planner's statistics for what was just loaded
    return report


def count_rows(path: Path) -> int:
    """Data rows in the file (a quick pass, for the progress bar's total)."""
    with _open(path) as stream:
        return max(sum(1 for _ in _records(stream)) - 1, 0)
