"""Filter errors carry the path to the offending node, in the input's own field names."""

from __future__ import annotations

from collections.abc import Sequence


class FilterError(ValueError):
    def __init__(self, path: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.path: tuple[str, ...] = tuple(str(p) for p in path)
        self.message = message

    def __str__(self) -> str:
        where = ".".join(self.path) or "filter"
        return f"{where}: {self.message}"
