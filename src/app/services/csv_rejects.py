"""The rejects file of an import: each rejected row as it was in the file, after its line,
field and reason. Fix the cells and import the file again as it is, even onto itself: the
import skips its three columns (csv_columns.REJECT_COLUMNS), and a row rejected again gets
fresh ones.

Rows go to a `.partial` file beside it, which replaces the rejects file only when the import
ends well: a failed import leaves an earlier rejects file (perhaps the file being imported)
as it was. An import that rejects nothing removes it, so it never describes an older run."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from types import TracebackType
from typing import IO

from app.services.csv_columns import IGNORED, REJECT_COLUMNS, column_target


class RejectsWriter:
    """Use it as a context manager: leaving it normally puts the file in place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._partial = path.with_name(path.name + ".partial")
        self._header: list[str] = []
        self._dropped: set[int] = set()  # the columns of an earlier rejects file
        self._file: IO[str] | None = None

    def header(self, cells: list[str]) -> None:
        self._dropped = {i for i, name in enumerate(cells) if column_target(name) == IGNORED}
        self._header = self._kept(cells)

    def _kept(self, cells: list[str]) -> list[str]:
        return [cell for i, cell in enumerate(cells) if i not in self._dropped]

    def add(self, line: int, field: str | None, reason: str, cells: list[str] | None) -> None:
        """One rejected row; `cells` is None for a row that could not be read at all."""
        if self._file is None:
            # Bytes that were not UTF-8 go back out as they came in (surrogateescape).
            self._file = self._partial.open(
                "w", encoding="utf-8", errors="surrogateescape", newline=""
            )
            csv.writer(self._file).writerow([*REJECT_COLUMNS, *self._header])
        row = [str(line), field or "", reason, *self._kept(cells or [])]
        csv.writer(self._file).writerow(row)
        self.count += 1

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def finish(self) -> None:
        self._close()
        if self.count:
            self._partial.replace(self.path)
        else:
            self.path.unlink(missing_ok=True)

    def discard(self) -> None:
        self._close()
        with contextlib.suppress(OSError):
            self._partial.unlink(missing_ok=True)

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.finish()
        else:
            self.discard()
