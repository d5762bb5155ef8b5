"""Case folding shared by storage, the filter compiler and SQLite.

Each character is lowered on its own (Unicode's simple mapping, as PostgreSQL's lower() does
under a UTF-8 locale), so `fold` gives the same answer in Python, in SQLite (where it replaces
the built-in ASCII-only lower()) and in PostgreSQL.
"""

import unicodedata
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


# Text that PostgreSQL can't store (NUL) or that isn't Unicode at all (a lone surrogate), and
# the control characters no field of ours means to hold (tab and line breaks aside).
_LINE_BREAKS = frozenset("\t\n\r")


def text_problem(text: str, *, multiline: bool = False) -> str | None:
    """Why `text` can't be taken as it is, or None. The one rule for every text input."""
    for char in text:
        code = ord(char)
        if code == 0:
            return "contains a NUL character"
        if 0xD800 <= code <= 0xDFFF:
            return "contains a lone surrogate (not valid Unicode)"
        if (code < 0x20 or 0x7F <= code < 0xA0) and not (multiline and char in _LINE_BREAKS):
            return f"contains the control character U+{code:04X}"
    return None


def normalize(text: str) -> str:
    """NFC, so the composed and decomposed spellings of one text are one text."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def invisible(char: str) -> bool:
    """Zero-width and other format characters (Unicode category Cf), and any space."""
    return char.isspace() or unicodedata.category(char) == "Cf"
