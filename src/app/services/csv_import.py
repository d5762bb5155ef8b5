"""Import contacts from a CSV file: known columns map to contact fields (csv_columns, rows read
by csv_rows), any other column becomes a custom field. Rows go through the same upsert as the
API, 1 000 at a time.

A bad row never stops the import: it is reported with its line, field and reason (and written,
whole, to the rejects file when there is one), and every other row is imported. Bytes that
aren't UTF-8 are read as lone surrogates (surrogateescape) and reported per cell; a line or
cell longer than MAX_CSV_LINE is read past and reported; a row repeating an email of an
earlier row is rejected, naming that row's line."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, TypeVar

from app.db import analyze
from app.enums import SubscriptionStatus
from app.limits import MAX_BATCH, MAX_CSV_LINE
from app.models import Account, Contact
from app.services.checks import normalize_email
from app.services.contacts import ContactData, upsert_contacts
from app.services.csv_columns import EMAIL
from app.services.csv_rejects import RejectsWriter
from app.services.csv_rows import Header, bad_byte, row_contact
from app.services.errors import ItemInvalid
from app.text import fold, text_problem

# An import of at least this many rows refreshes the planner's statistics when it ends.
ANALYZE_AFTER = 10_000

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
    # Rows of a subscriber list whose contact unsubscribed here: imported, left unsubscribed.
    kept_unsubscribed: int = 0


class CsvFormatError(ValueError):
    """The file can't be read as a contacts CSV at all (no header, no email column, not
    UTF-8 text)."""


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


def _header(record: _Record | None, subscribed: bool) -> tuple[list[str], Header]:
    """The header's cells and what each column holds."""
    if record is None:
        raise CsvFormatError("The file is empty: the first line must name the columns.")
    line, cells = record
    if isinstance(cells, str):
        raise CsvFormatError(f"The header (line {line}) can't be read: {cells}.")
    for number, name in enumerate(cells, 1):
        where = bad_byte(name)
        if where:
            raise CsvFormatError(
                f"The file is not UTF-8 text (column {number} of the header has the {where}):"
                " save it as CSV UTF-8."
            )
    header = Header.of(cells, subscribed)
    if EMAIL not in header.targets:
        raise CsvFormatError("No email column: the header must have a column named email.")
    for number, name in enumerate(cells, 1):
        problem = text_problem(name)
        if problem:
            raise CsvFormatError(f"Column {number} of the header {problem}.")
    return cells, header


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
    account: Account,
    path: Path,
    progress: Callable[[int], None] | None = None,
    *,
    subscribed: bool = False,
    rejects: RejectsWriter | None = None,
) -> ImportReport:
    """Import the file (UTF-8, a byte-order mark allowed); reports every rejected row."""
    with _open(path) as stream:
        return await import_rows(account, stream, progress, subscribed=subscribed, rejects=rejects)


async def import_rows(
    account: Account,
    stream: TextIO,
    progress: Callable[[int], None] | None = None,
    *,
    subscribed: bool = False,
    rejects: RejectsWriter | None = None,
) -> ImportReport:
    """`subscribed`: rows that don't say their status are subscribers (a list exported
    without a status column). `rejects` receives each rejected row, whole."""
    records = _records(stream)
    names, header = _header(next(records, None), subscribed)
    if rejects is not None:
        rejects.header(names)
    report = ImportReport()
    seen: dict[str, int] = {}  # folded email -> the line of its first row
    for batch in _batches(records, MAX_BATCH):
        items: list[ContactData] = []
        lines: list[int] = []
        refused: list[tuple[RejectedRow, list[str] | None]] = []
        cells_at = {line: cells for line, cells in batch if not isinstance(cells, str)}
        for line, cells in batch:
            report.rows += 1
            try:
                if isinstance(cells, str):
                    raise ItemInvalid(None, f"The row can't be read: {cells}.")
                items.append(row_contact(cells, header, line, seen))
            except ItemInvalid as exc:
                refused.append((RejectedRow(line, exc.field, exc.message), cells_at.get(line)))
                continue
            lines.append(line)
        if items:
            result = await upsert_contacts(account, items)
            for error in result.errors:
                row = RejectedRow(lines[error.index], error.field, error.message)
                refused.append((row, cells_at.get(row.line)))
            # One stored contact per row: no two rows of the file share an email.
            report.imported += len(result.items)
            failed = {error.index for error in result.errors}
            report.kept_unsubscribed += _kept_unsubscribed(items, failed, result.items)
        refused.sort(key=lambda pair: pair[0].line)
        for row, original in refused:
            report.rejected.append(row)
            if rejects is not None:
                rejects.add(row.line, row.field, row.message, original)
        if progress is not None:
            progress(report.rows)
    if report.imported >= ANALYZE_AFTER:
        await analyze()  # the planner's statistics for what was just loaded
    return report


def _kept_unsubscribed(items: list[ContactData], failed: set[int], stored: list[Contact]) -> int:
    """The items that only implied a subscription and whose contact stayed unsubscribed."""
    status = {contact.email_lower: contact.subscription_status for contact in stored}
    return sum(
        1
        for index, item in enumerate(items)
        if item.keep_unsubscribed
        and index not in failed
        and status.get(fold(normalize_email(item.email))) == SubscriptionStatus.UNSUBSCRIBED
    )


def count_rows(path: Path) -> int:
    """Data rows in the file (a quick pass, for the progress bar's total)."""
    with _open(path) as stream:
        return max(sum(1 for _ in _records(stream)) - 1, 0)
