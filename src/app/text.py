"""Case folding shared by storage, the filter compiler and SQLite.

Each character is lowered on its own (Unicode's simple mapping, as PostgreSQL's lower() does
under a UTF-8 locale), so `fold` gives the same answer in Python, in SQLite (where it replaces
the built-in ASCII-only lower()) and in PostgreSQL.
"""

from functools import lru_cache


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    lowered = char.lower()
    # Python's full mapping turns a few characters into two (İ -> i + dot); keep one.
    return lowered if len(lowered) == 1 else lowered[0]


def fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(char) for char in text)
