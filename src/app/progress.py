"""A small progress bar for long CLI commands (stderr, redrawn in place on a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self._stage: str | None = None
        self._started = time.monotonic()
        self._last_draw = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self._finish_line()
            self._stage = stage
            self._started = time.monotonic()
        finished = total > 0 and done >= total
        now = time.monotonic()
        if not finished and now - self._last_draw < 0.1:
            return  # redraw at most ten times a second
        self._last_draw = now
        if self.interactive:
            self.stream.write("\r" + self._line(stage, done, total))
            self.stream.flush()
        elif finished:
            self.stream.write(self._line(stage, done, total) + "\n")
        if finished and self.interactive:
            self.stream.write("\n")
            self._stage = None

    def _line(self, stage: str, done: int, total: int) -> str:
        share = done / total if total else 1.0
        filled = int(_WIDTH * share)
        elapsed = time.monotonic() - self._started
        return (
            f"{stage:<14} [{'#' * filled}{'.' * (_WIDTH - filled)}] "
            f"{share:6.1%} {done:>9,}/{total:,} {elapsed:5.1f}s"
        )

    def _finish_line(self) -> None:
        if self._stage is not None and self.interactive:
            self.stream.write("\n")

    def close(self) -> None:
        self._finish_line()
        self._stage = None
