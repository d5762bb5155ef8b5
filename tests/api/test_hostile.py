"""Hostile input through the GraphQL API, property-tested on SQLite and PostgreSQL.

Every argument of every query and mutation, and every field of one item of each batch
mutation, gets a hostile value while the rest of the call stays valid: text with NUL, lone
surrogates, C0/C1 controls, zero-width and bidi characters, NFD spellings, very long text;
integers at and beyond the 32- and 64-bit bounds, NaN and Infinity (bare JSON tokens); dates and
times at the ends of the calendar and with extreme offsets; malformed and non-canonical global
IDs (`Contact:٣`, `Contact:99999999999999999999`, another type's ID, broken base64); cursors
this API never gave out; custom fields and filters nested deeper than any parser likes.

The body is encoded here, not by httpx: `json.dumps` escapes a lone surrogate as `\\ud800` (what
a real client can send) and writes NaN/Infinity as bare tokens; a `Raw` value is spliced into the
body as it is (JSON nested 100 000 deep, a number of 5 000 digits).

Every answer must be: never HTTP 5xx nor an exception out of the app; JSON a strict parser reads
(no NaN), valid Unicode; no error with code INTERNAL_SERVER_ERROR; no traceback, exception or
SQL text. Then:
- a value GraphQL's own types refuse (an Int past 32 bits, "99999-12-31" as a Date, NaN as an
  Int): a request error (HTTP 200 or 400) that names the variable; nothing runs. A body that is
  not JSON Python reads, or nests past 64 levels, may be refused whole (the README's 400);
- otherwise a mutation answers without top-level errors (business failures are userErrors);
  a batch mutation reports the hostile item under ["input", "<its index>", ...] or stores it,
  and stores every good item of the batch (read back by node(id));
- what the README's "Limits and bad input" refuses is reported, never stored: NUL, lone
  surrogates and control characters, text past its length, emails with spaces or invisible
  characters, dates outside 1900-2200, amounts and progress out of range, custom fields past
  their bounds, filters past theirs; a malformed or non-canonical global ID names nothing
  (`node` is null, a mutation answers a userError, a filter is invalid);
- what a mutation accepted reads back without a fault, and the work it started (a count, a job)
  finishes.

SEGMENTS_HOSTILE_EXAMPLES sets the examples per operation and database (default 30: about 30 s
for the file on both databases); CI (SEGMENTS_REQUIRE_SERVICES=1 or CI set) runs derandomized.
SEGMENTS_HOSTILE_SHRINK=1 shrinks failures (minutes per failing operation);
SEGMENTS_HOSTILE_SKIP_REFUSED=1 skips the values GraphQL's types refuse (to look past them);
SEGMENTS_HOSTILE_SURVEY=FILE logs every failing call to FILE as a JSON line and fails nothing.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from dateutil.parser import isoparse
from graphql import OperationDefinitionNode, parse
from graphql.execution.values import get_variable_values
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

from api.support import Api, settle
from app.graphql.schema import schema as app_schema
from app.services.accounts import create_account

EXAMPLES = int(os.environ.get("SEGMENTS_HOSTILE_EXAMPLES", "30"))
DERANDOMIZE = bool(os.environ.get("CI")) or os.environ.get("SEGMENTS_REQUIRE_SERVICES") == "1"
# Shrinking a failure costs minutes per failing operation; the drawn values are small already.
SHRINK = os.environ.get("SEGMENTS_HOSTILE_SHRINK") == "1"
# Values GraphQL's types refuse all fail alike while they are answered as masked faults; this
# looks past them to what the resolvers do with the rest.
SKIP_REFUSED = os.environ.get("SEGMENTS_HOSTILE_SKIP_REFUSED") == "1"
# A survey: every failing call is logged to this file and the run carries on, failing nothing.
SURVEY = os.environ.get("SEGMENTS_HOSTILE_SURVEY") or None

# ------------------------------------------------------------------------------------ values


class Long(str):
    """A long string that prints short in Hypothesis' reports."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Long({self[:12]!r}... x{len(self)})"


@dataclass(frozen=True)
class Raw:
    """JSON text spliced into the request body as it is."""

    text: str
    label: str

    def __repr__(self) -> str:
        return f"Raw({self.label})"


NUL = ("\x00", "a\x00b", "Ada\x00", "\x00" * 3)
LONE_SURROGATES = ("\ud800", "a\udfffb", "\udbff", "x\udc00", "\ude00\ud83d")
C0 = tuple(chr(c) for c in range(1, 0x20))
C1 = ("\x7f", "\x80", "\x85", "\x8d", "\x9b", "\x9f")
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e")
BIDI = ("\u200e", "\u200f", "\u202a", "\u202b", "\u202e", "\u2066", "\u2067", "\u2069", "\u061c")
ODD = ("\u2028", "\u2029", "\ufffe", "\uffff", "\ufffd", "\U0010ffff", "\u3000", "\u00a0", "\u0301")
SPECIAL_CHARS = (*C0, *C1, *ZERO_WIDTH, *BIDI, *ODD, "\x00", "\ud800", "\udfff")

CURATED_TEXT = (
    *NUL,
    *LONE_SURROGATES,
    "",
    " ",
    "   ",
    "\t",
    "a\nb",
    "\r\n",
    "\x1b[31mred\x1b[0m",
    "\x7fdel",
    "\x85next-line",
    "\u200b",
    "Ada\u200bLovelace",
    "\ufeffAda",
    "\u202eevil.exe",
    "\u200fRTL",
    "Zoe\u0308",  # NFD of Zoë
    "Zo\u00eb",
    "e\u0301" * 3,
    "a" + "\u0301" * 200,
    "\U0001d54f\U0001f600",
    "' OR 1=1 --",
    "'; DROP TABLE contacts; --",
    "%",
    "_",
    "\\",
    "%_\\",
    "%s%s%s%n",
    "{0}{1}",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "null",
    "NaN",
    "\u0130stanbul",  # dotted capital I: lower() gives two characters
    "\u1e9e",  # capital sharp s
    "\ufb01",  # fi ligature
)
LONG_TEXT = (
    Long("a" * 201),
    Long("a" * 10_000),
    Long("\u00e9" * 100_000),
    Long("\u200b" * 20_000),
    Long("x" * 1_000_000),
)


def _mix(parts: tuple[str, str, str]) -> str:
    return "".join(parts)


def hostile_text() -> st.SearchStrategy[str]:
    """Strings a GraphQL String accepts, each hostile in its own way; long ones now and then."""
    special = st.sampled_from(SPECIAL_CHARS)
    short = st.one_of(
        st.sampled_from(CURATED_TEXT),
        st.tuples(
            st.sampled_from(("", "Ada", "a@", " ")),
            special,
            st.sampled_from(("", "Lovelace", "@example.com", " ")),
        ).map(_mix),
        st.text(
            alphabet=st.one_of(special, st.sampled_from("aZ09 .-_%'@\u00e9")),
            min_size=1,
            max_size=8,
        ),
    )
    return st.integers(0, 11).flatmap(lambda n: st.sampled_from(LONG_TEXT) if n == 0 else short)


EMAIL_TEXT = (
    "a\x00@example.com",
    "\ud800@example.com",
    "ada\u200b@example.com",
    "\ufeffada@example.com",
    "ada@example.com\n",
    "ada@exa\u202emple.com",
    " ada@example.com ",
    "ADA@EXAMPLE.COM",
    "\uff41\uff44\uff41@example.com",  # fullwidth
    "zoe\u0308@example.com",
    "a@b",
    "@example.com",
    "a@@example.com",
    "a@example..com",
    "a@[127.0.0.1]",
    '"a b"@example.com',
    "a@example.com;b@example.com",
    "a" * 65 + "@example.com",
    "a@" + "b" * 320 + ".com",
    Long("a" * 10_000 + "@example.com"),
    "\u0130@example.com",
)


def hostile_emails() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(EMAIL_TEXT), hostile_text())


INT_EDGES = (
    0,
    -1,
    2**31 - 1,
    -(2**31),
    2**31,
    -(2**31) - 1,
    2**32,
    2**53,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    2**63,
    -(2**63) - 1,
    2**64,
    10**20,
    -(10**20),
)
NOT_INTS: tuple[Any, ...] = (
    math.nan,
    math.inf,
    -math.inf,
    1.5,
    1e308,
    -0.0,
    2.0,
    "1",
    True,
    [],
    {},
    Raw("1" + "0" * 5000, "a number of 5001 digits"),
    Raw("1e999", "1e999"),
    Raw("-0", "-0"),
    Raw("1E400", "1E400"),
)


def hostile_ints(*near: int) -> st.SearchStrategy[Any]:
    """Integers at the bounds of 32 and 64 bits, near the field's own bounds, and things that
    are not integers at all (NaN and Infinity go as bare JSON tokens)."""
    close = tuple(n + d for n in near for d in (-1, 0, 1))
    return st.one_of(
        st.sampled_from(INT_EDGES + close) if close else st.sampled_from(INT_EDGES),
        st.integers(-(2**31), 2**31 - 1),
        st.sampled_from(NOT_INTS),
    )


DATES = (
    "0001-01-01",
    "9999-12-31",
    "0000-01-01",
    "99999-12-31",
    "-0001-01-01",
    "1899-12-31",
    "1900-01-01",
    "2200-12-31",
    "2201-01-01",
    "2024-02-30",
    "2023-02-29",
    "2024-13-01",
    "2024-00-10",
    "2024-1-1",
    "20240615",
    "2024-W24-6",
    "2024-06-15T00:00:00",
    "2024-06-15Z",
    " 2024-06-15",
    "\u0662\u0660\u0662\u0664-\u0660\u0666-\u0661\u0665",  # Arabic-Indic digits
    "\uff12\uff10\uff12\uff14-\uff10\uff16-\uff11\uff15",  # fullwidth digits
    "2024-06-15\x00",
    "",
    20240615,
)
DATETIMES = (
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00-00:01",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T24:00:00Z",
    "1900-01-01T00:00:00+14:00",
    "2200-12-31T23:59:59-14:00",
    "1899-12-31T23:59:59Z",
    "2201-01-01T00:00:00Z",
    "2199-06-15T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "99999-01-01T00:00:00Z",
    "2024-06-15T12:00:00+24:00",
    "2024-06-15T12:00:00+23:59",
    "2024-06-15T12:00:00-23:59:59.999999",
    "2024-06-15T24:00:00Z",
    "2024-06-15T12:00:60Z",
    "2024-06-15 12:00",
    "2024-06-15",
    "20240615T120000Z",
    "2024-06-15T12:00:00.123456789Z",
    "1970-01-01T00:00:00Z",
    "2038-01-19T03:14:08Z",
    "2262-04-12T00:00:00Z",
    "2024-06-15T12:00:00\x00",
    "\u0662\u0660\u0662\u0664-\u0660\u0666-\u0661\u0665T00:00:00Z",
    "",
    0,
)


def hostile_dates() -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(DATES), hostile_text())


def hostile_datetimes() -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(DATETIMES), hostile_text())


def deep_list(depth: int) -> Raw:
    return Raw("[" * depth + "]" * depth, f"[[...]] {depth} deep")


def deep_object(depth: int, leaf: str = "1") -> Raw:
    return Raw('{"a":' * depth + leaf + "}" * depth, f"{{a:{{a:...}}}} {depth} deep")


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


HOSTILE_JSON: tuple[Any, ...] = (
    {"": 1},
    {" ": 1},
    {"\x00": 1},
    {"\ud800": 1},
    {"a\u200b": 1},
    {"k" * 101: 1},
    {f"k{i}": i for i in range(101)},
    {"k": math.nan},
    {"k": math.inf},
    {"k": -math.inf},
    {"k": 2**64},
    {"k": -(2**63) - 1},
    {"k": 2**53 + 1},
    {"k": 1e-320},
    {"k": 1.7976931348623157e308},
    {"k": -0.0},
    {"k": "\x00"},
    {"k": "a\ud800"},
    {"k": "\x1b[0m"},
    {"k": Long("x" * 20_000)},
    {"k": list(range(5000))},
    {"k": nested(4)},
    {"k": nested(5)},
    {"k": nested(60)},
    {"k": {"\x00": 1}},
    {"k": [[[[["deep"]]]]]},
    {"__proto__": {"polluted": True}},
    {"constructor": {"prototype": 1}},
    {"$where": "1"},
    {"a.b": 1, "a": {"b": 2}},
    {"plan": None},
    {"k": Raw("1" + "0" * 5000, "5001 digits")},
    {"k": Raw("1e999", "1e999")},
    {"k": deep_list(100)},
    {"k": deep_list(10_000)},
    {"k": deep_list(100_000)},
    {"k": deep_object(100_000)},
    Raw('{"a":1,"a":2}', "duplicate keys"),
    [],
    [1, 2],
    "string",
    42,
    True,
    math.nan,
)


def hostile_json() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(HOSTILE_JSON),
        hostile_text().map(lambda text: {"k": text}),
        hostile_text().map(lambda text: {text: "v"}),
    )


# ------------------------------------------------------------------------------ global IDs

ARABIC_INDIC = str.maketrans(
    "0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
)
FULLWIDTH = str.maketrans(
    "0123456789", "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19"
)
DEVANAGARI = str.maketrans(
    "0123456789", "\u0966\u0967\u0968\u0969\u096a\u096b\u096c\u096d\u096e\u096f"
)
TYPES = ("Account", "Contact", "Segment", "Tag", "Product", "BulkJob")


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def gid(type_name: str, pk: int) -> str:
    return b64(f"{type_name}:{pk}")


def malformed_ids(type_name: str, pk: int, *, other_types: bool = True) -> list[str]:
    """Spellings that must name nothing, most of them close to the real ID of `pk`: digits of
    other scripts (str.isdigit() says yes, int() reads them), leading zeros and signs, numbers
    past 64 bits, other types, broken base64."""
    p = str(pk)
    real = gid(type_name, pk)
    ids = [
        b64(f"{type_name}:{p.translate(ARABIC_INDIC)}"),
        b64(f"{type_name}:{p.translate(FULLWIDTH)}"),
        b64(f"{type_name}:{p.translate(DEVANAGARI)}"),
        b64(f"{type_name}:\u0663"),
        b64(f"{type_name}:\u00b2"),  # superscript two: isdigit() but not int()
        b64(f"{type_name}:0{p}"),
        b64(f"{type_name}:+{p}"),
        b64(f"{type_name}:-{p}"),
        b64(f"{type_name}: {p}"),
        b64(f"{type_name}:{p} "),
        b64(f"{type_name}:{p}\n"),
        b64(f"{type_name}:{p}\x00"),
        b64(f"{type_name}:{p}.0"),
        b64(f"{type_name}:{p}_0"),
        b64(f"{type_name}:0"),
        b64(f"{type_name}:2147483648"),
        b64(f"{type_name}:9223372036854775808"),
        b64(f"{type_name}:99999999999999999999"),
        b64(f"{type_name}:" + "9" * 5000),
        b64(f"{type_name}:abc"),
        b64(f"{type_name}:"),
        b64(f":{p}"),
        b64(p),
        b64(f"{type_name.lower()}:{p}"),
        b64(f"{type_name.upper()}:{p}"),
        b64(f"{type_name}:{p}:{p}"),
        b64(f" {type_name}:{p}"),
        b64(f"{type_name}\x00:{p}"),
        b64(f"{type_name}:\ud800"),
        base64.b64encode(f"{type_name}:".encode() + b"\xff\xfe").decode(),
        real.rstrip("=") if real.endswith("=") else real + "=",
        real + "=",
        real + "==garbage",
        real[:4] + "\n" + real[4:],
        " " + real,
        real + "\x00",
        base64.urlsafe_b64encode(f"{type_name}:{p}?>".encode()).decode(),
        p,
        "not base64!",
        "====",
        "",
        "\x00",
        "\ud800",
        Long("QUFB" * 50_000),
    ]
    if other_types:
        ids += [gid(other, pk) for other in TYPES if other != type_name]
    assert real not in ids
    return ids


def hostile_ids(type_name: str, pk: int, *, other_types: bool = True) -> st.SearchStrategy[str]:
    # The same number of choices whatever the key: Hypothesis replays a choice on another world.
    ids = malformed_ids(type_name, pk, other_types=other_types)
    return st.integers(0, len(ids) - 1).map(ids.__getitem__)


# ------------------------------------------------------------------------------- cursors


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode("utf-8", "surrogatepass")).decode()


def hostile_cursors(real: str | None) -> st.SearchStrategy[Any]:
    """Cursors this API never gave out, most of them one change away from a real one."""
    try:
        key, value, pk = json.loads(base64.urlsafe_b64decode(real or ""))
    except ValueError:
        key, value, pk = "created_at", "2026-01-01T00:00:00+00:00", 1
    cursors: list[Any] = [
        "",
        "x",
        "not a cursor!",
        "====",
        "\x00",
        "\ud800",
        Long("A" * 1_000_000),
        _cursor([key, value, pk + 1]),
        _cursor([key, value, str(pk)]),
        _cursor([key, value, 2**70]),
        _cursor([key, value, -(2**63) - 1]),
        _cursor([key, value, 1.5]),
        _cursor([key, value, True]),
        _cursor([key, value, None]),
        _cursor([key, {}, pk]),
        _cursor([key, [], pk]),
        _cursor([key, [1, 2], pk]),
        _cursor([key, None, pk]),
        _cursor([key, True, pk]),
        _cursor([key, 2**70, pk]),
        _cursor([key, -(2**63) - 1, pk]),
        _cursor([key, 1.5, pk]),
        _cursor([key, math.nan, pk]),
        _cursor([key, math.inf, pk]),
        _cursor([key, "x", pk]),
        _cursor([key, "", pk]),
        _cursor([key, "\x00", pk]),
        _cursor([key, "\ud800", pk]),
        _cursor([key, "9999-12-31T23:59:59-14:00", pk]),
        _cursor([key, "0001-01-01T00:00:00+14:00", pk]),
        _cursor([key, "0001-01-01", pk]),
        _cursor([key, "2024-06-15T12:00:00", pk]),
        _cursor([key, value]),
        _cursor([key, value, pk, 4]),
        _cursor([key]),
        _cursor([]),
        _cursor({"a": 1, "b": 2, "c": 3}),
        _cursor("abc"),
        _cursor(None),
        _cursor(12),
        _cursor([f"{key}x", value, pk]),
        _cursor(["created_at", value, pk]),
        _cursor(["email", value, pk]),
        _cursor(["total_spent_cents", value, pk]),
        _cursor(["last_opened_at", value, pk]),
        _cursor(["name", value, pk]),
        _cursor([None, value, pk]),
        base64.urlsafe_b64encode(("[" * 100_000 + "]" * 100_000).encode()).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
        base64.urlsafe_b64encode(b'["created_at", NaN, 1]').decode(),
        base64.urlsafe_b64encode(b'["created_at", "x", 1' + b"0" * 5000 + b"]").decode(),
        base64.b64encode(json.dumps([key, value, pk]).encode()).decode(),
    ]
    return st.sampled_from(cursors)


# ---------------------------------------------------------------------------------- wire


def _splice(value: Any, raws: list[Raw]) -> Any:
    if isinstance(value, Raw):
        raws.append(value)
        return f"\x00raw{len(raws) - 1}\x00"
    if isinstance(value, dict):
        return {key: _splice(item, raws) for key, item in value.items()}
    if isinstance(value, list):
        return [_splice(item, raws) for item in value]
    return value


def encode(payload: Any) -> bytes:
    """JSON as a client that escapes non-ASCII sends it: lone surrogates as \\udXXX, NaN and
    Infinity as bare tokens, Raw values spliced in verbatim."""
    raws: list[Raw] = []
    text = json.dumps(_splice(payload, raws))
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{index}\x00"), raw.text, 1)
    return text.encode("ascii")


def has_raw(value: Any) -> bool:
    if isinstance(value, Raw):
        return True
    if isinstance(value, dict):
        return any(has_raw(item) for item in value.values())
    if isinstance(value, list):
        return any(has_raw(item) for item in value)
    return False


def unstorable(value: Any) -> bool:
    """Holds text no database can keep as it is: NUL (PostgreSQL refuses it in text and jsonb)
    or a lone surrogate (not Unicode)."""
    if isinstance(value, str):
        return any(c == "\x00" or 0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(unstorable(k) or unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(unstorable(item) for item in value)
    return False


# The README's "Limits and bad input": what the rules refuse, so what a call must report.
SINGLE_LINE = {
    "email": 320,
    "firstName": 200,
    "lastName": 200,
    "name": 200,
    "tag": 200,
    "country": 100,
    "externalId": 200,
    "campaign": 200,
    "title": 300,
    "currency": 0,
}
MIN_DAY, MAX_DAY = date(1900, 1, 1), date(2200, 12, 31)


def text_refusal(text: str, limit: int = 0, *, multiline: bool = False) -> str | None:
    if unstorable(text):
        return "text with NUL or a lone surrogate"
    allowed = "\t\n\r" if multiline else ""
    if any((ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) and c not in allowed for c in text):
        return "text with a control character"
    if limit and len(unicodedata.normalize("NFC", text).strip()) > limit:
        return f"text longer than {limit} characters"
    return None


def email_refusal(email: str) -> str | None:
    problem = text_refusal(email, SINGLE_LINE["email"])
    if problem:
        return problem
    email = unicodedata.normalize("NFC", email).strip()
    if any(c.isspace() or unicodedata.category(c) == "Cf" for c in email):
        return "an email with a space or an invisible character"
    local, at, domain = email.partition("@")
    labels = domain.split(".")
    if not at or not local or "@" in domain or len(labels) < 2 or not all(labels):
        return "not an email address"
    return None


def time_refusal(value: Any, *, future: bool = False) -> str | None:
    """A time outside 1900-2200 (in UTC), or (events, purchases) more than an hour ahead."""
    if not isinstance(value, str):
        return None
    try:
        moment = isoparse(value)
    except ValueError:
        return None  # GraphQL's DateTime refuses it
    except OverflowError:
        return "a time outside 1900-2200"
    try:
        utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        return "a time outside 1900-2200"
    if not MIN_DAY <= utc.date() <= MAX_DAY:
        return "a time outside 1900-2200"
    if future and utc > datetime.now(UTC) + timedelta(hours=1):
        return "a time in the future"
    return None


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def custom_refusal(value: Any) -> str | None:
    if value is None or has_raw(value):
        return None
    if not isinstance(value, dict):
        return "custom fields that are not a JSON object"
    if len(value) > 100:
        return "more than 100 custom fields"
    for key, item in value.items():
        if text_refusal(key, 100) or not key.strip():
            return "an unusable custom field name"
        if _depth(item) > 4:
            return "custom fields nested deeper than 4"
    for text in strings(value):
        problem = text_refusal(text, multiline=True)
        if problem:
            return problem
    numbers = [n for n in _numbers(value)]
    if any(isinstance(n, float) and not math.isfinite(n) for n in numbers):
        return "NaN or Infinity"
    if any(isinstance(n, int) and abs(n) > 2**53 for n in numbers):
        return "a custom field number beyond 2^53"
    if len(json.dumps(value, ensure_ascii=False, default=str).encode()) > 17_000:
        return "custom fields over 16 384 bytes"
    return None


def _numbers(value: Any) -> Iterator[Any]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


def tags_refusal(tags: Any) -> str | None:
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list):
        return None
    names = [t for t in tags if isinstance(t, str)]
    for name in names:
        problem = text_refusal(name, SINGLE_LINE["tag"])
        if problem:
            return problem
    if len({unicodedata.normalize("NFC", t).strip().casefold() for t in names}) > 100:
        return "more than 100 tags"
    return None


def refusal(field_name: str, value: Any) -> str | None:
    """Why the README's rules refuse `value` in this field, or None when they may take it."""
    if field_name == "email" and isinstance(value, str):
        return email_refusal(value)
    if field_name in SINGLE_LINE and isinstance(value, str):
        return text_refusal(value, SINGLE_LINE[field_name])
    if field_name == "description" and isinstance(value, str):
        return text_refusal(value, 2000, multiline=True)
    if field_name in ("tags", "add"):
        return tags_refusal(value)
    if field_name == "customFields":
        return custom_refusal(value)
    if field_name == "birthDate" and isinstance(value, str):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return None
        return None if MIN_DAY <= day <= MAX_DAY else "a date outside 1900-2200"
    if field_name == "occurredAt":
        return time_refusal(value, future=True)
    if field_name == "amountCents" and type(value) is int:
        return None if 0 <= value <= 10**12 else "an amount outside 0-10^12 cents"
    if field_name == "progress" and type(value) is int:
        return None if 0 <= value <= 100 else "a progress outside 0-100"
    if field_name == "product":
        return "a malformed global ID"
    return None


def type_valid(query: str, variables: dict[str, Any]) -> bool | None:
    """Would GraphQL's own coercion take these variables (the server's schema decides)? None
    when a Raw value makes it the server's JSON parser's call."""
    if has_raw(variables):
        return None
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    try:
        coerced = get_variable_values(
            app_schema._schema, operation.variable_definitions or (), variables
        )
    except RecursionError:
        return None
    return not isinstance(coerced, list)


# --------------------------------------------------------------------------------- checks

LEAKS: dict[str, re.Pattern[str]] = {
    "traceback": re.compile(r"Traceback \(most recent call last\)|File \"[^\"]*\", line \d+"),
    "exception class name": re.compile(
        r"\b(?:[A-Z][A-Za-z0-9]*(?:Error|Exception)|KeyError|StopIteration)(?::|\(|\b(?= in ))"
    ),
    "SQL or driver text": re.compile(
        r"\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM)\b[\s\S]{0,300}?\b(?:FROM|VALUES|SET|WHERE)\b"
        r"|syntax error at or near|violates [\w-]+ constraint|invalid input syntax for"
        r"|out of range for type|invalid byte sequence for encoding|value out of int\d+ range"
        r"|unsupported Unicode escape sequence|\bsqlite3?\b|asyncpg|psycopg|tortoise"
        r"|no such (?:table|column)|\bjsonb?\b.*\binvalid\b",
        re.IGNORECASE,
    ),
    "Python exception message": re.compile(
        r"object has no attribute|NoneType|not subscriptable|invalid literal for int\(\)"
        r"|unsupported operand|can't compare offset-naive|maximum recursion depth"
        r"|\bis out of range\b|Invalid isoformat string|must be in \d+\.\.\d+"
        r"|Exceeds the limit \(\d+ digits?\)|codec can't (?:en|de)code|surrogates not allowed"
        r"|date value out of range|unhashable type|takes \d+ positional|missing \d+ required"
        r"|cannot unpack|too many values to unpack|not enough values to unpack"
        r"|division by zero|unexpected keyword argument|String does not contain a date"
        r"|Unused \w+ in \w+ string|Invalid \w+ separator|offset must be a timedelta"
    ),
}


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def leaks(body: Any, sent: Any) -> list[str]:
    """Exception or SQL text in the answer that the request did not carry itself."""
    sent_text = "\n".join(strings(sent))
    found = []
    for text in strings(body):
        for kind, pattern in LEAKS.items():
            for match in pattern.finditer(text):
                if match.group(0) not in sent_text:
                    start = max(0, match.start() - 60)
                    found.append(f"{kind}: ...{text[start : match.end() + 60]!r}...")
    return found


def lone_surrogate(value: Any) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for text in strings(value) for c in text)


def _reject_constant(token: str) -> Any:
    raise ValueError(f"bare {token} in the response")


@dataclass
class Answer:
    """What came back, read strictly, and what was wrong with it whatever the request was."""

    status: int | None
    body: Any = None
    text: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict):
            return list(self.body.get("errors") or [])
        return []

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None


OK_STATUSES = frozenset({200, 400, 413})


async def post(
    client: httpx.AsyncClient,
    token: str,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    allowed: frozenset[int] = OK_STATUSES,
) -> Answer:
    """POST a body to /graphql and read the answer strictly: never a 5xx or an exception out of
    the app, JSON without NaN, valid Unicode, no masked fault, no exception or SQL text."""
    body = encode(payload) if content is None else content
    sent_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sent_headers.update(headers or {})
    request = client.build_request(
        "POST",
        "/graphql",
        content=body,
        headers={k: v.encode("utf-8") for k, v in sent_headers.items()},
    )
    try:
        response = await client.send(request)
    except Exception as exc:  # the ASGI transport re-raises what the app let out: a 500
        return Answer(None, problems=[f"HTTP 500: {type(exc).__name__} escaped the app: {exc}"])
    return read(response, payload, allowed)


def read(response: httpx.Response, sent: Any, allowed: frozenset[int] = OK_STATUSES) -> Answer:
    answer = Answer(response.status_code)
    if response.status_code >= 500:
        answer.problems.append(f"HTTP 5xx: {response.status_code}")
    elif response.status_code not in allowed:
        answer.problems.append(f"unexpected status: HTTP {response.status_code}")
    try:
        answer.text = response.content.decode("utf-8")
    except UnicodeDecodeError:
        answer.problems.append("the response is not UTF-8")
        return answer
    try:
        answer.body = json.loads(answer.text, parse_constant=_reject_constant)
    except ValueError as exc:
        answer.problems.append(f"the response is not strict JSON: {str(exc)[:80]}")
        return answer
    if not isinstance(answer.body, dict) or not ({"data", "errors"} & answer.body.keys()):
        answer.problems.append("the response is not a GraphQL response object")
        return answer
    if lone_surrogate(answer.body):
        answer.problems.append("the response carries a lone surrogate (not Unicode)")
    for error in answer.errors:
        code = (error.get("extensions") or {}).get("code")
        if code == "INTERNAL_SERVER_ERROR":
            answer.problems.append(f"masked fault (INTERNAL_SERVER_ERROR): at {error.get('path')}")
    answer.problems += leaks(answer.body, sent)
    return answer


def shown(value: Any, limit: int = 1500) -> str:
    """A request or response, cut for a report."""
    text = value if isinstance(value, str) else encode(value).decode()
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def log(entry: dict[str, Any]) -> None:
    """SEGMENTS_HOSTILE_SURVEY=FILE: one JSON line per failing call goes to FILE."""
    if SURVEY:
        with open(SURVEY, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=True, default=repr) + "\n")


# --------------------------------------------------------------------------------- world


@dataclass
class World:
    """A small account to aim at: four contacts, two products, a custom segment, and real
    cursors of every connection (hostile ones are made from them)."""

    client: httpx.AsyncClient
    token: str
    tag: str  # unique to the example, so names made here never collide
    contacts: list[str]
    emails: list[str]
    products: list[str]
    segment: str
    default_segment: str
    tag_id: str
    account: str
    cursors: dict[str, str | None]
    job: str | None = None


def pk(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().partition(":")[2])


async def must(
    client: httpx.AsyncClient, token: str, query: str, variables: Any = None
) -> dict[str, Any]:
    """The data of a request that must succeed (setting up, reading back)."""
    answer = await post(client, token, {"query": query, "variables": variables or {}})
    assert not answer.problems and not answer.errors and answer.data, (
        f"setup request failed: {query}\n{answer.problems}\n{shown(answer.text)}"
    )
    return dict(answer.data)


SETUP = """
mutation($contacts: [ContactInput!]!, $products: [ProductInput!]!, $segment: SegmentInput!) {
  contactsUpsert(input: $contacts) { contacts { id email } userErrors { field code message } }
  productsUpsert(input: $products) { products { id externalId } userErrors { field code message } }
  segmentCreate(input: $segment) { segment { id } userErrors { field code message } }
}"""
ORDERS = {
    "CREATED_AT:ASC": {"field": "CREATED_AT", "direction": "ASC"},
    "EMAIL:ASC": {"field": "EMAIL", "direction": "ASC"},
    "EMAIL:DESC": {"field": "EMAIL", "direction": "DESC"},
    "LAST_OPENED_AT:ASC": {"field": "LAST_OPENED_AT", "direction": "ASC"},
    "LAST_OPENED_AT:DESC": {"field": "LAST_OPENED_AT", "direction": "DESC"},
    "TOTAL_SPENT:DESC": {"field": "TOTAL_SPENT", "direction": "DESC"},
}
_PAGE = "pageInfo { endCursor }"
CURSORS = (
    "query($segment: ID!, "
    + ", ".join(f"$o{i}: ContactOrder" for i in range(len(ORDERS)))
    + ") { viewer { id } "
    + " ".join(
        f"o{i}: contacts(first: 1, orderBy: $o{i}) {{ {_PAGE} }}" for i in range(len(ORDERS))
    )
    + f" segments(first: 1) {{ {_PAGE} edges {{ node {{ id }} }} }}"
    + f" tags(first: 1) {{ {_PAGE} edges {{ node {{ id }} }} }}"
    + f" products(first: 1) {{ {_PAGE} }}"
    + f" node(id: $segment) {{ ... on Segment {{ members(first: 1) {{ {_PAGE} }} }} }} }}"
)


async def build_world(client: httpx.AsyncClient, token: str) -> World:
    tag = secrets.token_hex(4)
    emails = [f"w{i}-{tag}@example.com" for i in range(4)]
    setup = await must(
        client,
        token,
        SETUP,
        {
            "contacts": [
                {
                    "email": email,
                    "firstName": f"W{i}",
                    "tags": ["vip"] if i < 2 else ["lead"],
                    "subscriptionStatus": "SUBSCRIBED",
                    "customFields": {"plan": "pro", "score": 12, "joined": "2024-01-02"},
                    "birthDate": "1990-05-17",
                    "country": "FR",
                }
                for i, email in enumerate(emails)
            ],
            "products": [
                {"externalId": f"course-{tag}", "title": "Course", "kind": "COURSE"},
                {"externalId": f"offer-{tag}", "title": "Offer", "kind": "OFFER"},
            ],
            "segment": {"name": f"VIPs {tag}", "filter": {"tags": {"hasAny": ["vip"]}}},
        },
    )
    for part in ("contactsUpsert", "productsUpsert", "segmentCreate"):
        assert setup[part]["userErrors"] == [], setup
    by_email = {c["email"]: c["id"] for c in setup["contactsUpsert"]["contacts"]}
    segment = setup["segmentCreate"]["segment"]["id"]
    variables: dict[str, Any] = {"segment": segment}
    variables.update({f"o{i}": order for i, order in enumerate(ORDERS.values())})
    read = await must(client, token, CURSORS, variables)
    cursors: dict[str, str | None] = {
        name: read[f"o{i}"]["pageInfo"]["endCursor"] for i, name in enumerate(ORDERS)
    }
    for name in ("segments", "tags", "products"):
        cursors[name] = read[name]["pageInfo"]["endCursor"]
    cursors["members"] = read["node"]["members"]["pageInfo"]["endCursor"]
    cursors["campaigns"] = None  # the world records no events: cursors of no campaign
    cursors["webhooks"] = None  # nor webhooks (a loopback URL is refused here)
    cursors["changes"] = None  # nor membership changes
    return World(
        client=client,
        token=token,
        tag=tag,
        contacts=[by_email[e] for e in emails],
        emails=emails,
        products=[p["id"] for p in setup["productsUpsert"]["products"]],
        segment=segment,
        default_segment=read["segments"]["edges"][0]["node"]["id"],
        tag_id=read["tags"]["edges"][0]["node"]["id"],
        account=read["viewer"]["id"],
        cursors=cursors,
    )


# Keyed by the test's token (account ids repeat across the two databases).
_WORLDS: dict[str, World] = {}
_SPARE: dict[str, World] = {}


async def world_for(api: Api, fresh: bool) -> World:
    """Mutations get a fresh account each example (what one stored can't spoil the next);
    queries share one per test."""
    if fresh:
        if api.token in _SPARE:
            return _SPARE.pop(api.token)
        created = await create_account(f"Hostile {secrets.token_hex(3)}")
        return await build_world(api.client, created.token)
    if api.token not in _WORLDS:
        _WORLDS[api.token] = await build_world(api.client, api.token)
    return _WORLDS[api.token]


# ---------------------------------------------------------------------------------- calls


@dataclass
class Call:
    """One request with one hostile value in it, and what its answer must satisfy."""

    operation: str
    query: str
    variables: dict[str, Any]
    slot: str  # where the hostile value went: "input[2].firstName"
    variable: str  # the variable that holds it
    check: Callable[[World, Call, Answer], Awaitable[list[str]]]
    mutation: bool = False
    index: int | None = None  # batch mutations: the hostile item
    size: int = 0  # batch mutations: the number of items
    goods: dict[int, dict[str, Any]] = field(default_factory=dict)
    refuse: str | None = None  # why the hostile value must be reported (the README's rules)
    names_nothing: bool = False  # node, bulkJob: a malformed or non-canonical ID gives null


def messages(errors: list[dict[str, Any]]) -> str:
    return "; ".join(str(e.get("message"))[:200] for e in errors[:3])


async def attempt(world: World, call: Call, valid: bool | None) -> tuple[list[str], Answer]:
    answer = await post(
        world.client, world.token, {"query": call.query, "variables": call.variables}
    )
    problems = list(answer.problems)
    if not isinstance(answer.body, dict) or answer.status == 413:
        return problems, answer
    not_json = any(isinstance(n, float) and not math.isfinite(n) for n in _numbers(call.variables))
    too_deep = json_depth(call.variables) > 60
    if (not_json or too_deep) and answer.status == 400 and answer.data is None:
        # NaN and Infinity are not JSON, and JSON nested past 64 levels is refused: the whole
        # request is a 400, as the README says.
        return problems, answer
    if valid is False:
        if answer.data is not None:
            problems.append(f"executed although GraphQL's types refuse it: {call.slot}")
        elif not any(names_the_value(str(e.get("message")), call) for e in answer.errors):
            problems.append(
                f"the request error does not name the variable: ${call.variable}: {messages(answer.errors)}"
            )
        return problems, answer
    if answer.data is None and (valid is None or json_depth(call.variables) > 60):
        # The body itself refused (not JSON Python reads, or nested past the documented 64
        # levels): a request error is the documented answer.
        return problems, answer
    if call.mutation and answer.errors:
        problems.append(f"top-level error instead of userErrors: {messages(answer.errors)}")
    if answer.data is not None or valid is True:
        problems += await call.check(world, call, answer)
    return problems, answer


def names_the_value(message: str, call: Call) -> bool:
    """A request error points at the bad value: it names the variable, or (graphql-core's
    check of a oneOf input) the member field inside it."""
    oneof = message.startswith(("Value for member field", "OneOf Input Object"))
    return f"${call.variable}" in message or oneof


def json_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((json_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((json_depth(v) for v in value), default=0)
    return 0


def field_of(answer: Answer, name: str) -> Any:
    data = answer.data
    return data.get(name) if isinstance(data, dict) else None


async def read_nodes(
    world: World, ids: dict[str, str], selection: str
) -> tuple[Answer, dict[str, Any]]:
    """Read objects back by node(id), one alias each."""
    if not ids:
        return Answer(200), {}
    query = (
        "query("
        + ", ".join(f"${alias}: ID!" for alias in ids)
        + ") { "
        + " ".join(f"{alias}: node(id: ${alias}) {{ {selection} }}" for alias in ids)
        + " }"
    )
    answer = await post(world.client, world.token, {"query": query, "variables": ids})
    nodes = answer.data if isinstance(answer.data, dict) else {}
    return answer, nodes


def read_problems(what: str, answer: Answer) -> list[str]:
    problems = [f"reading back {what} failed: {p}" for p in answer.problems]
    if answer.errors:
        problems.append(f"reading back {what} failed: {messages(answer.errors)}")
    return problems


def batch_paths(call: Call, errors: list[dict[str, Any]]) -> tuple[list[str], set[int]]:
    """Every userError of a batch names its item; the good items have none; the hostile one
    must have one when it can't be stored or names nothing."""
    problems: list[str] = []
    reported: set[int] = set()
    for error in errors:
        path = error.get("field") or []
        if (
            len(path) >= 2
            and path[0] == "input"
            and str(path[1]).isdecimal()
            and int(path[1]) < call.size
        ):
            reported.add(int(path[1]))
        elif call.index is not None:
            problems.append(f"userError without its item's path: {error}")
    for index in sorted(reported & call.goods.keys()):
        bad = [e for e in errors if (e.get("field") or [None, None])[1] == str(index)]
        problems.append(f"good item reported: {index}: {bad}")
    if call.index is not None and call.index not in reported and call.refuse:
        problems.append(f"accepted although {call.refuse}: {call.slot}")
    return problems, reported


def single_errors(call: Call, errors: list[dict[str, Any]], argument: str) -> list[str]:
    """A non-batch mutation's userErrors name an argument of the call (the hostile one when it
    is what's wrong); what can't be stored or names nothing must be one."""
    named = {argument, *call.variables}
    problems = [
        f"userError does not name an argument: {e}"
        for e in errors
        if (e.get("field") or [None])[0] not in named
    ]
    if not errors and call.refuse:
        problems.append(f"accepted although {call.refuse}: {call.slot}")
    return problems


def choose(data: st.DataObject, label: str, options: Any) -> Any:
    return data.draw(st.sampled_from(list(options)), label=label)


def place(
    data: st.DataObject, good: Callable[[int], dict[str, Any]], hostile: Any, most: int = 3
) -> tuple[list[Any], int, dict[int, dict[str, Any]]]:
    """A batch: 0-`most` good items with the hostile one among them."""
    count = data.draw(st.integers(0, most), label="good items")
    index = data.draw(st.integers(0, count), label="hostile item's index")
    goods = [good(i) for i in range(count)]
    items = [*goods[:index], hostile, *goods[index:]]
    return items, index, {i if i < index else i + 1: g for i, g in enumerate(goods)}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def same_instant(a: str | None, b: str) -> bool:
    return a is not None and datetime.fromisoformat(a) == datetime.fromisoformat(b)


BAD_ITEMS: tuple[Any, ...] = (None, "string", 1, [], {}, {"email": "x@example.com", "nope": 1})
ENUM_JUNK: tuple[Any, ...] = (
    "subscribed",
    "SUBSCRIBED ",
    "",
    "\x00",
    "NONE",
    1,
    True,
    ["SUBSCRIBED"],
    None,
)
TEXT_LISTS: tuple[Any, ...] = (
    [],
    ["t"] * 101,
    [f"t{i}" for i in range(101)],
    [f"t{i}" for i in range(10_000)],
    ["dup", "DUP", "Dup", " dup "],
    ["\u00e9t\u00e9", "e\u0301te\u0301"],
    [None],
    "bare string",
    None,
)


def hostile_text_lists() -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(TEXT_LISTS), hostile_text().map(lambda t: ["ok", t]))


# ------------------------------------------------------------------------------ filters


def nest(leaf: Any, depth: int, key: str = "not") -> Any:
    for _ in range(depth):
        leaf = {key: leaf} if key == "not" else {key: [leaf]}
    return leaf


def deep_filter(depth: int) -> Raw:
    return Raw('{"not":' * depth + '{"isCustomer":true}' + "}" * depth, f"not nested {depth} deep")


def filter_text_refusal(text: Any) -> str | None:
    if text == "":
        return "an empty string in a filter"
    return text_refusal(text) if isinstance(text, str) else None


def filter_leaves(world: World) -> list[st.SearchStrategy[tuple[Any, str | None]]]:
    """(filter, why the rules refuse it or None) with one hostile value somewhere in it."""
    product, segment = world.products[0], world.segment

    def texts(h: Any) -> list[Any]:
        return [
            {"firstName": {"eq": h}},
            {"email": {"contains": h}},
            {"lastName": {"in": ["x", h]}},
            {"country": {"startsWith": h}},
            {"email": {"endsWith": h}},
            {"tags": {"hasAny": [h]}},
            {"tags": {"hasNone": [h]}},
            {"emailActivity": {"event": "OPENED", "campaign": h}},
            {"customField": {"key": h, "exists": True}},
            {"customField": {"key": "plan", "string": {"eq": h}}},
        ]

    def ints(n: Any) -> list[Any]:
        return [
            {"age": {"gte": n}},
            {"purchases": {"count": {"eq": n}}},
            {"purchases": {"totalCents": {"gt": n}}},
            {"createdAt": {"withinLastDays": n}},
            {"birthDate": {"moreThanDaysAgo": n}},
            {"emailActivity": {"event": "SENT", "count": {"gte": n}}},
            {"emailActivity": {"event": "OPENED", "window": {"withinLastDays": n}}},
            {"productProgress": {"product": product, "percent": {"lte": n}}},
            {"customField": {"key": "score", "number": {"lt": n}}},
        ]

    def times(t: Any) -> list[Any]:
        return [
            {"createdAt": {"before": t}},
            {"birthDate": {"after": t}},
            {"purchases": {"window": {"since": t}}},
            {"emailActivity": {"event": "OPENED", "window": {"until": t}}},
            {"customField": {"key": "joined", "date": {"after": t}}},
        ]

    def products(i: Any) -> list[Any]:
        return [
            {"products": {"ownsAny": [i]}},
            {"products": {"ownsNone": [product, i]}},
            {"productProgress": {"product": i, "percent": {"gte": 1}}},
            {"purchases": {"product": i}},
        ]

    empty, many, long = "an empty group", "more than 200 conditions", "a list over 1 000 values"
    missing, contradictory = "missing operands", "contradictory operands"
    structural: list[tuple[Any, str | None]] = [
        ({}, None),
        ({"and": []}, empty),
        ({"or": []}, empty),
        ({"not": {}}, None),
        ({"isCustomer": True, "isInactive": True}, None),
        ({"isCustomer": None}, None),
        ({"and": [{"isCustomer": True}] * 201}, many),
        ({"or": [{"tags": {"hasAny": [f"t{i}"]}} for i in range(201)]}, many),
        ({"tags": {"hasAny": [f"t{i}" for i in range(1001)]}}, long),
        ({"email": {"in": [f"e{i}" for i in range(1001)]}}, long),
        ({"emailRisk": {"in": ["VALID"] * 1001}}, long),
        ({"tags": {}}, missing),
        ({"age": {}}, missing),
        ({"productProgress": {"product": product, "percent": {}}}, missing),
        ({"customField": {"key": "plan"}}, missing),
        ({"customField": {"key": "plan", "exists": True, "string": {"eq": "x"}}}, "two operands"),
        ({"customField": {"key": "", "exists": True}}, "an empty string in a filter"),
        ({"age": {"gt": 5, "lt": 6}}, contradictory),
        ({"tags": {"hasAll": ["a"], "hasNone": ["a"]}}, contradictory),
        (
            {
                "emailActivity": {
                    "event": "OPENED",
                    "window": {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
                }
            },
            contradictory,
        ),
        (
            {"createdAt": {"before": "2000-01-01T00:00:00Z", "after": "2001-01-01T00:00:00Z"}},
            contradictory,
        ),
        ({"emailActivity": {"event": "OPENED", "window": {}}}, None),
        ({"email": {"eq": "x", "neq": "y"}}, None),
        ({"email": {"eq": None}}, None),
        ({"subscriptionStatus": {"in": []}}, None),
        ({"segment": {"in": world.default_segment}}, None),
        (nest({"isCustomer": True}, 10), None),
        (nest({"isCustomer": True}, 11), None),
        (nest({"isCustomer": True}, 64), "a filter deeper than 10"),
        (nest({"isCustomer": True}, 200), "a filter deeper than 10"),
        (nest({"isCustomer": True}, 11, "and"), None),
        (nest({"isCustomer": True}, 64, "or"), "a filter deeper than 10"),
        (deep_filter(5_000), None),
        (deep_filter(100_000), None),
    ]
    malformed = "a malformed global ID"
    return [
        st.tuples(hostile_text(), st.integers(0, 9)).map(
            lambda t: (texts(t[0])[t[1]], filter_text_refusal(t[0]))
        ),
        st.tuples(hostile_ints(0, 100), st.integers(0, 8)).map(lambda t: (ints(t[0])[t[1]], None)),
        st.tuples(hostile_datetimes(), st.integers(0, 4)).map(
            lambda t: (times(t[0])[t[1]], time_refusal(t[0]))
        ),
        st.tuples(hostile_ids("Product", pk(product)), st.integers(0, 3)).map(
            lambda t: (products(t[0])[t[1]], malformed)
        ),
        hostile_ids("Segment", pk(segment)).map(lambda i: ({"segment": {"in": i}}, malformed)),
        st.sampled_from(structural),
    ]


WRAPS: tuple[Callable[[Any], Any], ...] = (
    lambda f: f,
    lambda f: {"and": [{"isCustomer": False}, f]},
    lambda f: {"or": [f, {"tags": {"hasAny": ["vip"]}}]},
    lambda f: {"not": f},
    lambda f: {"and": [{"isInactive": False}, {"or": [{"isCustomer": True}, {"not": f}]}]},
)


def hostile_filters(world: World) -> st.SearchStrategy[tuple[Any, str | None]]:
    return st.tuples(st.one_of(*filter_leaves(world)), st.sampled_from(WRAPS)).map(
        lambda t: (t[1](t[0][0]), t[0][1])
    )


# ---------------------------------------------------------------------- batch mutations

ERRORS = "userErrors { field code message }"
CONTACT = (
    "id email firstName lastName country birthDate customFields subscriptionStatus emailRisk"
    " unsubscribeReason totalSpentCents lastOpenedAt lastClickedAt createdAt flagsComputedAt"
    " isCustomer isInactive isHardBounced isExcluded tags { name contactCount }"
    " products { progress source grantedAt product { id externalId title } } segments { name }"
)
ON_CONTACT = f"... on Contact {{ {CONTACT} }}"


def contact_fields() -> dict[str, st.SearchStrategy[Any]]:
    return {
        "email": hostile_emails(),
        "firstName": hostile_text(),
        "lastName": hostile_text(),
        "country": hostile_text(),
        "subscriptionStatus": st.sampled_from(ENUM_JUNK),
        "unsubscribeReason": st.sampled_from(ENUM_JUNK),
        "emailRisk": st.sampled_from(ENUM_JUNK),
        "birthDate": hostile_dates(),
        "customFields": hostile_json(),
        "tags": hostile_text_lists(),
    }


def batch_call(
    data: st.DataObject,
    operation: str,
    query: str,
    fields: dict[str, st.SearchStrategy[Any]],
    good: Callable[[int], dict[str, Any]],
    base: Callable[[str], dict[str, Any]],
    check: Callable[[World, Call, Answer], Awaitable[list[str]]],
    world: World,
) -> Call:
    """One hostile field of one item (or a hostile item, or a hostile list) among good items."""
    slot = choose(data, "hostile field", [*fields, "<item>", "<list>"])
    if slot == "<list>":
        items = choose(data, "hostile list", ["empty", "null", "1001 items"])
        value: Any = [good(i % 3) for i in range(1001)] if items == "1001 items" else None
        value = [] if items == "empty" else value
        return Call(operation, query, {"input": value}, "input", "input", check, mutation=True)
    if slot == "<item>":
        hostile: Any = data.draw(st.sampled_from(BAD_ITEMS), label="hostile item")
    else:
        value = data.draw(fields[slot], label=f"hostile {slot}")
        hostile = {**base(slot), slot: value}
    items, index, goods = place(data, good, hostile)
    return Call(
        operation,
        query,
        {"input": items},
        f"input[{index}].{slot}",
        "input",
        check,
        mutation=True,
        index=index,
        size=len(items),
        goods=goods,
        refuse=refusal(slot, hostile[slot]) if slot in fields else None,
    )


UPSERT = f"""
mutation($input: [ContactInput!]!) {{ contactsUpsert(input: $input) {{ contacts {{ id email }} {ERRORS} }} }}"""


def build_contacts_upsert(data: st.DataObject, world: World) -> Call:
    def good(i: int) -> dict[str, Any]:
        return {
            "email": f"g{i}-{world.tag}@example.com",
            "firstName": f"Good{i}",
            "lastName": "Item",
            "country": "PT",
            "birthDate": "1985-03-0" + str(i + 1),
            "customFields": {"n": i, "s": "x"},
            "tags": ["good"],
            "subscriptionStatus": "SUBSCRIBED",
        }

    def base(slot: str) -> dict[str, Any]:
        return {"email": f"h-{world.tag}@example.com", "firstName": "Hostile"}

    return batch_call(
        data, "contactsUpsert", UPSERT, contact_fields(), good, base, check_contacts_upsert, world
    )


async def check_contacts_upsert(world: World, call: Call, answer: Answer) -> list[str]:
    payload = field_of(answer, "contactsUpsert")
    if payload is None:
        return []
    problems, reported = batch_paths(call, payload["userErrors"])
    if call.index is None:
        return problems
    returned = {c["email"].casefold(): c["id"] for c in payload["contacts"]}
    good_emails = {g["email"].casefold() for g in call.goods.values()}
    ids = {}
    for index, item in call.goods.items():
        if item["email"].casefold() in returned:
            ids[f"g{index}"] = returned[item["email"].casefold()]
        else:
            problems.append(f"good item missing from the payload: {index}")
    if call.index not in reported:
        others = [i for e, i in returned.items() if e not in good_emails]
        if others:
            ids["h"] = others[0]
        else:
            problems.append(f"hostile item neither reported nor stored: {call.index}")
    read, nodes = await read_nodes(world, ids, ON_CONTACT)
    problems += read_problems("the upserted contacts", read)
    for index, item in call.goods.items():
        node = nodes.get(f"g{index}")
        if f"g{index}" in ids and not node:
            problems.append(f"good item not stored: {index}")
        elif node:
            stored = {k: node[k] for k in ("firstName", "lastName", "country", "birthDate")}
            given = {k: item[k] for k in stored}
            if stored != given or node["customFields"] != item["customFields"]:
                problems.append(f"good item stored wrong: {index}: {stored} {node['customFields']}")
            if "good" not in [t["name"] for t in node["tags"]]:
                problems.append(f"good item lost its tag: {index}: {node['tags']}")
    if nodes.get("h") and unstorable(nodes["h"]):
        problems.append(f"stored text holds NUL or a lone surrogate: {call.slot}")
    return problems


PRODUCTS_UPSERT = f"""
mutation($input: [ProductInput!]!) {{
  productsUpsert(input: $input) {{ products {{ id externalId title kind }} {ERRORS} }}
}}"""
ON_PRODUCT = "... on Product { id externalId title kind }"


def build_products_upsert(data: st.DataObject, world: World) -> Call:
    def good(i: int) -> dict[str, Any]:
        return {"externalId": f"p{i}-{world.tag}", "title": f"Product {i}", "kind": "COURSE"}

    def base(slot: str) -> dict[str, Any]:
        return {"externalId": f"ph-{world.tag}", "title": "Hostile"}

    fields = {
        "externalId": hostile_text(),
        "title": hostile_text(),
        "kind": st.sampled_from(ENUM_JUNK),
    }
    return batch_call(
        data, "productsUpsert", PRODUCTS_UPSERT, fields, good, base, check_products_upsert, world
    )


async def check_products_upsert(world: World, call: Call, answer: Answer) -> list[str]:
    payload = field_of(answer, "productsUpsert")
    if payload is None:
        return []
    problems, reported = batch_paths(call, payload["userErrors"])
    if call.index is None:
        return problems
    returned = {p["externalId"]: p["id"] for p in payload["products"]}
    ids = {}
    for index, item in call.goods.items():
        if item["externalId"] in returned:
            ids[f"g{index}"] = returned[item["externalId"]]
        else:
            problems.append(f"good item missing from the payload: {index}")
    if call.index not in reported:
        good_ids = {g["externalId"] for g in call.goods.values()}
        others = [i for e, i in returned.items() if e not in good_ids]
        if others:
            ids["h"] = others[0]
        else:
            problems.append(f"hostile item neither reported nor stored: {call.index}")
    read, nodes = await read_nodes(world, ids, ON_PRODUCT)
    problems += read_problems("the upserted products", read)
    for index, item in call.goods.items():
        node = nodes.get(f"g{index}")
        if f"g{index}" in ids and (not node or node["title"] != item["title"]):
            problems.append(f"good item not stored as given: {index}: {node}")
    if nodes.get("h") and unstorable(nodes["h"]):
        problems.append(f"stored text holds NUL or a lone surrogate: {call.slot}")
    return problems


GRANT = f"""
mutation($input: [OfferGrantInput!]!) {{ offersGrant(input: $input) {{ count {ERRORS} }} }}"""
OWNED = "... on Contact { email totalSpentCents products { progress source product { id } } }"


def build_offers_grant(data: st.DataObject, world: World) -> Call:
    now = datetime.now(UTC)
    progress = data.draw(st.lists(st.integers(0, 100), min_size=3, max_size=3), label="progress")
    amounts = data.draw(st.lists(st.integers(1, 10**6), min_size=3, max_size=3), label="amounts")
    sources = data.draw(st.lists(st.booleans(), min_size=3, max_size=3), label="purchases")

    def good(i: int) -> dict[str, Any]:
        if sources[i]:
            return {
                "email": world.emails[i],
                "product": world.products[0],
                "source": "PURCHASE",
                "amountCents": amounts[i],
                "currency": "USD",
                "occurredAt": iso(now - timedelta(days=i + 1)),
            }
        return {
            "email": world.emails[i],
            "product": world.products[0],
            "source": "GRANT",
            "progress": progress[i],
        }

    def base(slot: str) -> dict[str, Any]:
        item = {"email": world.emails[3], "product": world.products[1], "source": "GRANT"}
        if slot in ("amountCents", "currency", "occurredAt"):
            item.update(source="PURCHASE", amountCents=100, currency="USD")
        return item

    fields = {
        "email": hostile_emails(),
        "product": st.one_of(hostile_ids("Product", pk(world.products[1]))),
        "source": st.sampled_from(ENUM_JUNK),
        "amountCents": hostile_ints(0, 10**12),
        "currency": hostile_text(),
        "occurredAt": hostile_datetimes(),
        "progress": hostile_ints(0, 100),
    }
    return batch_call(data, "offersGrant", GRANT, fields, good, base, check_offers_grant, world)


async def check_offers_grant(world: World, call: Call, answer: Answer) -> list[str]:
    payload = field_of(answer, "offersGrant")
    if payload is None:
        return []
    problems, _ = batch_paths(call, payload["userErrors"])
    if call.index is None:
        return problems
    if payload["count"] < len(call.goods):
        problems.append(f"good items not counted: {payload['count']} < {len(call.goods)}")
    ids = {f"c{i}": c for i, c in enumerate(world.contacts)}
    read, nodes = await read_nodes(world, ids, OWNED)
    problems += read_problems("the contacts granted", read)
    for item in call.goods.values():
        node = nodes.get(f"c{world.emails.index(item['email'])}") or {}
        owned = {p["product"]["id"]: p for p in node.get("products", [])}
        mine = owned.get(item["product"])
        if mine is None:
            problems.append(f"good grant not stored: {item['email']} has {list(owned)}")
        elif item["source"] == "GRANT" and mine["progress"] != item["progress"]:
            problems.append(f"good grant stored progress {mine['progress']} for {item['progress']}")
        elif item["source"] == "PURCHASE" and node["totalSpentCents"] != item["amountCents"]:
            problems.append(
                f"good purchase of {item['amountCents']} stored as {node['totalSpentCents']}"
            )
    return problems


EVENTS = f"""
mutation($input: [EmailEventInput!]!) {{ emailEventsRecord(input: $input) {{ recorded duplicates {ERRORS} }} }}"""


def build_email_events(data: st.DataObject, world: World) -> Call:
    now = datetime.now(UTC).replace(microsecond=0)
    hours = data.draw(st.lists(st.integers(1, 24 * 30), min_size=3, max_size=3), label="hours ago")

    def good(i: int) -> dict[str, Any]:
        return {
            "email": world.emails[i],
            "kind": "OPENED",
            "occurredAt": iso(now - timedelta(hours=hours[i])),
            "campaign": "news",
            "externalId": f"e{i}-{world.tag}",
        }

    def base(slot: str) -> dict[str, Any]:
        return {
            "email": world.emails[3],
            "kind": "SENT",
            "occurredAt": iso(now - timedelta(hours=1)),
            "externalId": f"eh-{world.tag}",
        }

    fields = {
        "email": hostile_emails(),
        "kind": st.sampled_from(ENUM_JUNK),
        "occurredAt": hostile_datetimes(),
        "campaign": hostile_text(),
        "externalId": hostile_text(),
    }
    return batch_call(
        data, "emailEventsRecord", EVENTS, fields, good, base, check_email_events, world
    )


async def check_email_events(world: World, call: Call, answer: Answer) -> list[str]:
    payload = field_of(answer, "emailEventsRecord")
    if payload is None:
        return []
    problems, _ = batch_paths(call, payload["userErrors"])
    if call.index is None:
        return problems
    if payload["recorded"] < len(call.goods):
        problems.append(f"good items not counted: {payload['recorded']} < {len(call.goods)}")
    ids = {f"c{i}": c for i, c in enumerate(world.contacts)}
    read, nodes = await read_nodes(world, ids, "... on Contact { email lastOpenedAt }")
    problems += read_problems("the contacts of the events", read)
    for item in call.goods.values():
        node = nodes.get(f"c{world.emails.index(item['email'])}") or {}
        if not same_instant(node.get("lastOpenedAt"), item["occurredAt"]):
            problems.append(
                f"good event not applied: lastOpenedAt {node.get('lastOpenedAt')} for {item['occurredAt']}"
            )
    return problems


# ------------------------------------------------------------------- other mutations

CONTACTS_TAG = f"""
mutation($ids: [ID!]!, $add: [String!], $remove: [String!]) {{
  contactsTag(ids: $ids, add: $add, remove: $remove) {{ contacts {{ id tags {{ name }} }} {ERRORS} }}
}}"""


def build_contacts_tag(data: st.DataObject, world: World) -> Call:
    new_tag = f"t-{world.tag}"
    variables: dict[str, Any] = {"ids": world.contacts[:2], "add": [new_tag], "remove": None}
    slot = choose(data, "hostile argument", ["ids", "add", "remove"])
    refuse = None
    if slot == "ids":
        kind = choose(data, "hostile ids", ["malformed", "list"])
        if kind == "malformed":
            bad = data.draw(hostile_ids("Contact", pk(world.contacts[2])), label="hostile id")
            variables["ids"] = [*world.contacts[:2], bad]
            refuse = "a malformed global ID"
        else:
            variables["ids"] = choose(
                data, "hostile list", [[], None, [None], world.contacts[0], world.contacts * 300]
            )
    else:
        variables[slot] = data.draw(hostile_text_lists(), label=f"hostile {slot}")
        refuse = refusal("tags", variables[slot]) if slot == "add" else None
    return Call(
        "contactsTag",
        CONTACTS_TAG,
        variables,
        slot,
        slot,
        check_contacts_tag,
        mutation=True,
        refuse=refuse,
    )


async def check_contacts_tag(world: World, call: Call, answer: Answer) -> list[str]:
    payload = field_of(answer, "contactsTag")
    if payload is None:
        return []
    problems = single_errors(call, payload["userErrors"], call.slot)
    if payload["userErrors"]:
        return problems
    ids = {f"c{i}": c for i, c in enumerate(world.contacts)}
    read, nodes = await read_nodes(world, ids, ON_CONTACT)
    problems += read_problems("the tagged contacts", read)
    if call.slot != "add" and call.variables["ids"] == world.contacts[:2]:
        for i in (0, 1):
            names = [t["name"] for t in (nodes.get(f"c{i}") or {}).get("tags", [])]
            if f"t-{world.tag}" not in names:
                problems.append(f"contact not tagged: {i}: {names}")
    if unstorable([nodes.get(f"c{i}") for i in range(4)]):
        problems.append(f"stored text holds NUL or a lone surrogate: {call.slot}")
    return problems


CONTACTS_DELETE = f"""
mutation($ids: [ID!]!, $confirm: Boolean!) {{
  contactsDelete(ids: $ids, confirm: $confirm) {{ deletedContactIds {ERRORS} }}
}}"""


def build_contacts_delete(data: st.DataObject, world: World) -> Call:
    variables: dict[str, Any] = {"ids": world.contacts[:1], "confirm": True}
    slot = choose(data, "hostile argument", ["ids", "confirm"])
    refuse = None
    if slot == "ids":
        kind = choose(data, "hostile ids", ["malformed", "list"])
        if kind == "malformed":
            bad = data.draw(hostile_ids("Contact", pk(world.contacts[2])), label="hostile id")
            variables["ids"] = [world.contacts[0], bad]
            refuse = "a malformed global ID"
        else:
            variables["ids"] = choose(
                data, "hostile list", [[], None, [None], world.contacts[0], world.contacts * 300]
            )
    else:
        junk = choose(data, "hostile confirm", ["true", 1, 0, None, [], "yes", math.nan])
        variables["confirm"] = junk
    return Call(
        "contactsDelete",
        CONTACTS_DELETE,
        variables,
        slot,
        slot,
        check_contacts_delete,
        mutation=True,
        refuse=refuse,
    )


async def check_contacts_delete(world: World, call: Call, answer: Answer) -> list[str]:
    payload = field_of(answer, "contactsDelete")
    if payload is None:
        return []
    problems = single_errors(call, payload["userErrors"], call.slot)
    deleted = payload["deletedContactIds"]
    if not set(deleted) <= set(world.contacts):
        problems.append(f"deleted what it was not given: {deleted}")
    if call.refuse:
        if not any(e.get("field") == ["ids", "1"] for e in payload["userErrors"]):
            problems.append(f"malformed global ID not reported at its index: {payload}")
        if deleted != [world.contacts[0]]:
            problems.append(f"the good ID of the call was not deleted: {deleted}")
        read, nodes = await read_nodes(world, {"c": world.contacts[2]}, "... on Contact { id }")
        problems += read_problems("the contact", read)
        if not nodes.get("c"):
            problems.append("malformed global ID accepted: the contact it resembles is gone")
    return problems


SEGMENT = "id name description filter count { value computedAt isStale }"
SEGMENT_CREATE = f"""
mutation($input: SegmentInput!) {{ segmentCreate(input: $input) {{ segment {{ {SEGMENT} }} {ERRORS} }} }}"""
SEGMENT_UPDATE = f"""
mutation($id: ID!, $input: SegmentInput!) {{
  segmentUpdate(id: $id, input: $input) {{ segment {{ {SEGMENT} }} {ERRORS} }}
}}"""
READ_SEGMENT = f"""... on Segment {{ {SEGMENT} history(days: 3) {{ date count }}
  members(first: 3) {{ totalCount edges {{ cursor node {{ id email }} }} }} }}"""


def segment_input(
    data: st.DataObject, world: World, own: str | None = None
) -> tuple[Any, str, str | None]:
    """A SegmentInput with one hostile part: (input, slot, why it must be refused)."""
    name = f"S {world.tag} {data.draw(st.integers(0, 10**6), label='name suffix')}"
    value: dict[str, Any] = {
        "name": name,
        "description": "hostile",
        "filter": {"tags": {"hasAny": ["vip"]}},
    }
    slot = choose(data, "hostile part", ["name", "description", "filter", "<input>"])
    if slot in ("name", "description"):
        value[slot] = data.draw(hostile_text(), label=f"hostile {slot}")
        return value, f"input.{slot}", refusal(slot, value[slot])
    if slot == "filter":
        leaves = filter_leaves(world)
        if own:
            leaves.append(st.just(({"segment": {"in": own}}, "a segment that refers to itself")))
        value["filter"], refuse = data.draw(
            st.tuples(st.one_of(*leaves), st.sampled_from(WRAPS)).map(
                lambda t: (t[1](t[0][0]), t[0][1])
            ),
            label="hostile filter",
        )
        return value, "input.filter", refuse
    junk = choose(
        data, "hostile input", [None, {}, {"name": name}, {"filter": {"isCustomer": True}}, "x"]
    )
    return junk, "input", None


def build_segment_create(data: st.DataObject, world: World) -> Call:
    value, slot, refuse = segment_input(data, world)
    return Call(
        "segmentCreate",
        SEGMENT_CREATE,
        {"input": value},
        slot,
        "input",
        check_segment_saved,
        mutation=True,
        refuse=refuse,
    )


def build_segment_update(data: st.DataObject, world: World) -> Call:
    if data.draw(st.booleans(), label="hostile id?"):
        bad = data.draw(
            st.one_of(hostile_ids("Segment", pk(world.segment)), st.just(world.default_segment)),
            label="hostile id",
        )
        value = {"name": f"S {world.tag}", "filter": {"isCustomer": True}}
        return Call(
            "segmentUpdate",
            SEGMENT_UPDATE,
            {"id": bad, "input": value},
            "id",
            "id",
            check_segment_saved,
            mutation=True,
            refuse="a malformed global ID" if bad != world.default_segment else "a default segment",
        )
    value, slot, refuse = segment_input(data, world, own=world.segment)
    return Call(
        "segmentUpdate",
        SEGMENT_UPDATE,
        {"id": world.segment, "input": value},
        slot,
        "input",
        check_segment_saved,
        mutation=True,
        refuse=refuse,
    )


async def check_segment_saved(world: World, call: Call, answer: Answer) -> list[str]:
    name = "segmentCreate" if call.operation == "segmentCreate" else "segmentUpdate"
    payload = field_of(answer, name)
    if payload is None:
        return []
    argument = "id" if call.slot == "id" else "input"
    problems = single_errors(call, payload["userErrors"], argument)
    segment = payload["segment"]
    if payload["userErrors"] or segment is None:
        if not payload["userErrors"]:
            problems.append("neither a segment nor a userError")
        return problems
    await settle()
    read, nodes = await read_nodes(world, {"s": segment["id"]}, READ_SEGMENT)
    problems += read_problems("the saved segment", read)
    saved = nodes.get("s") or {}
    if saved and saved["count"]["computedAt"] is None:
        problems.append("the background count failed: the saved segment has no count")
    explain = await post(
        world.client,
        world.token,
        {
            "query": "query($id: ID!, $c: ID!) { node(id: $id) { ... on Segment { explain(contactId: $c) { matches conditions { path description matches } } } } }",
            "variables": {"id": segment["id"], "c": world.contacts[0]},
        },
    )
    problems += read_problems("the saved segment's explanation", explain)
    contacts, _ = await read_nodes(
        world, {"c": world.contacts[0]}, "... on Contact { segments { name } }"
    )
    problems += read_problems("a contact's segments", contacts)
    if unstorable(saved):
        problems.append(f"stored text holds NUL or a lone surrogate: {call.slot}")
    return problems


SEGMENT_DELETE = f"""
mutation($id: ID!, $confirm: Boolean!) {{ segmentDelete(id: $id, confirm: $confirm) {{ deletedSegmentId {ERRORS} }} }}"""


def build_segment_delete(data: st.DataObject, world: World) -> Call:
    slot = choose(data, "hostile argument", ["id", "confirm"])
    if slot == "id":
        bad = data.draw(hostile_ids("Segment", pk(world.segment)), label="hostile id")
        variables = {"id": bad, "confirm": data.draw(st.booleans(), label="confirm")}
    else:
        junk = choose(data, "hostile confirm", ["true", 1, 0, None, [], "yes", math.nan])
        variables = {"id": world.segment, "confirm": junk}
    return Call(
        "segmentDelete",
        SEGMENT_DELETE,
        variables,
        slot,
        slot,
        check_segment_delete,
        mutation=True,
        refuse="a malformed global ID" if slot == "id" else None,
    )


async def check_segment_delete(world: World, call: Call, answer: Answer) -> list[str]:
    payload = field_of(answer, "segmentDelete")
    if payload is None:
        return []
    problems = single_errors(call, payload["userErrors"], "id")
    if call.refuse:
        if payload["deletedSegmentId"] is not None:
            problems.append(f"malformed global ID accepted: deleted {payload['deletedSegmentId']}")
        read, nodes = await read_nodes(world, {"s": world.segment}, "... on Segment { id }")
        problems += read_problems("the segment", read)
        if not nodes.get("s"):
            problems.append("malformed global ID accepted: the segment is gone")
    return problems


SEGMENT_TAG = f"""
mutation($id: ID!, $add: [String!], $remove: [String!]) {{
  segmentTag(id: $id, add: $add, remove: $remove) {{ job {{ id status }} {ERRORS} }}
}}"""
REFRESH = f"""
mutation($id: ID!) {{ segmentRefreshCount(id: $id) {{ segment {{ {SEGMENT} }} {ERRORS} }} }}"""


def build_segment_tag(data: st.DataObject, world: World) -> Call:
    variables: dict[str, Any] = {"id": world.segment, "add": [f"st-{world.tag}"], "remove": None}
    slot = choose(data, "hostile argument", ["id", "add", "remove"])
    if slot == "id":
        variables["id"] = data.draw(hostile_ids("Segment", pk(world.segment)), label="hostile id")
    else:
        variables[slot] = data.draw(hostile_text_lists(), label=f"hostile {slot}")
    return Call(
        "segmentTag",
        SEGMENT_TAG,
        variables,
        slot,
        slot,
        check_segment_tag,
        mutation=True,
        refuse="a malformed global ID"
        if slot == "id"
        else refusal("tags", variables["add"])
        if slot == "add"
        else None,
    )


async def check_segment_tag(world: World, call: Call, answer: Answer) -> list[str]:
    payload = field_of(answer, "segmentTag")
    if payload is None:
        return []
    problems = single_errors(call, payload["userErrors"], call.slot)
    job = payload["job"]
    if payload["userErrors"] or job is None:
        if not payload["userErrors"]:
            problems.append("neither a job nor a userError")
        return problems
    await settle()
    read = await post(
        world.client,
        world.token,
        {
            "query": "query($id: ID!) { bulkJob(id: $id) { status error } }",
            "variables": {"id": job["id"]},
        },
    )
    problems += read_problems("the tag job", read)
    state = (field_of(read, "bulkJob") or {}).get("status")
    if state != "SUCCEEDED":
        problems.append(f"the tag job did not succeed: {state}: {field_of(read, 'bulkJob')}")
    return problems


def build_segment_refresh(data: st.DataObject, world: World) -> Call:
    bad = data.draw(hostile_ids("Segment", pk(world.segment)), label="hostile id")
    return Call(
        "segmentRefreshCount",
        REFRESH,
        {"id": bad},
        "id",
        "id",
        check_segment_refresh,
        mutation=True,
        refuse="a malformed global ID",
    )


async def check_segment_refresh(world: World, call: Call, answer: Answer) -> list[str]:
    payload = field_of(answer, "segmentRefreshCount")
    if payload is None:
        return []
    return single_errors(call, payload["userErrors"], "id")


SETTINGS = f"""
mutation($input: AccountSettingsInput!) {{
  accountSettingsUpdate(input: $input) {{
    account {{ settings {{ inactivityDays softBounceThreshold unengagedSendThreshold }} }} {ERRORS}
  }}
}}"""
SETTING_BOUNDS = {
    "inactivityDays": (1, 3650),
    "softBounceThreshold": (1, 1000),
    "unengagedSendThreshold": (1, 10000),
}


def build_settings(data: st.DataObject, world: World) -> Call:
    slot = choose(data, "hostile field", [*SETTING_BOUNDS, "<input>"])
    if slot == "<input>":
        value = choose(data, "hostile input", [None, {}, "x", [], {"inactivityDays": None}])
        return Call(
            "accountSettingsUpdate",
            SETTINGS,
            {"input": value},
            "input",
            "input",
            check_settings,
            mutation=True,
        )
    value = data.draw(hostile_ints(*SETTING_BOUNDS[slot]), label=f"hostile {slot}")
    return Call(
        "accountSettingsUpdate",
        SETTINGS,
        {"input": {slot: value}},
        f"input.{slot}",
        "input",
        check_settings,
        mutation=True,
    )


async def check_settings(world: World, call: Call, answer: Answer) -> list[str]:
    payload = field_of(answer, "accountSettingsUpdate")
    if payload is None:
        return []
    problems = single_errors(call, payload["userErrors"], "input")
    if payload["userErrors"]:
        return problems
    await settle()
    read = await post(
        world.client,
        world.token,
        {
            "query": "{ viewer { settings { inactivityDays softBounceThreshold unengagedSendThreshold } maintenance { lastRun { status error } } } }"
        },
    )
    problems += read_problems("the settings", read)
    viewer = field_of(read, "viewer") or {}
    run = (viewer.get("maintenance") or {}).get("lastRun") or {}
    if run.get("status") == "FAILED":
        problems.append(f"the recompute after the settings change failed: {run}")
    return problems


# ---------------------------------------------------------------------------- queries

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
BULK_JOB = "query($id: ID!) { bulkJob(id: $id) { id status } }"
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
CONTACTS = f"""
query($filter: ContactFilter, $orderBy: ContactOrder, $first: Int, $after: String, $last: Int, $before: String) {{
  contacts(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {{
    totalCount {PAGE_INFO} edges {{ cursor node {{ {CONTACT} }} }}
  }}
}}"""
MEMBERS = f"""
query($id: ID!, $orderBy: ContactOrder, $first: Int, $after: String, $last: Int, $before: String) {{
  node(id: $id) {{ ... on Segment {{
    members(orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {{
      totalCount {PAGE_INFO} edges {{ cursor node {{ id email }} }}
    }}
  }} }}
}}"""
LISTS = {
    "segments": f"query($first: Int, $after: String) {{ segments(first: $first, after: $after) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ id name filter count {{ value }} }} }} }} }}",
    "tags": f"query($first: Int, $after: String) {{ tags(first: $first, after: $after) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ id name contactCount }} }} }} }}",
    "products": f"query($first: Int, $after: String) {{ products(first: $first, after: $after) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ id externalId title kind }} }} }} }}",
    "campaigns": f"query($first: Int, $after: String) {{ campaigns(first: $first, after: $after) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ name firstEventAt lastEventAt sent }} }} }} }}",
    "webhooks": f"query($first: Int, $after: String) {{ webhooks(first: $first, after: $after) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ id url events allSegments segments {{ id }} createdAt }} }} }} }}",
}
PREVIEW = f"""
query($filter: ContactFilter!, $sample: Int) {{ segmentPreview(filter: $filter, sample: $sample) {{ count sample {{ {CONTACT} }} }} }}"""
HISTORY = "query($id: ID!, $days: Int) { node(id: $id) { ... on Segment { history(days: $days) { date count } } } }"
EXPLAIN = """
query($id: ID!, $contact: ID!) { node(id: $id) { ... on Segment {
  explain(contactId: $contact) { matches conditions { path description matches } } } } }"""
ORDER_JUNK: tuple[Any, ...] = (
    {"field": "EMAIL", "direction": "SIDEWAYS"},
    {"field": "email"},
    {"field": "ID"},
    {},
    {"direction": "ASC"},
    "EMAIL",
    [{"field": "EMAIL"}],
    {"field": "EMAIL", "direction": None},
    {"field": None},
)


def build_node(data: st.DataObject, world: World) -> Call:
    targets = {
        "Contact": world.contacts[0],
        "Segment": world.segment,
        "Product": world.products[0],
        "Tag": world.tag_id,
        "Account": world.account,
    }
    kind = choose(data, "type", targets)
    bad = data.draw(
        st.one_of(
            hostile_ids(kind, pk(targets[kind]), other_types=False),
            hostile_text(),
            st.sampled_from([b64(f"Nope:{pk(targets[kind])}"), None, 1.5, [], {}]),
        ),
        label="hostile id",
    )
    return Call("node", NODE, {"id": bad}, "id", "id", check_names_nothing, names_nothing=True)


def build_bulk_job(data: st.DataObject, world: World) -> Call:
    bad = data.draw(hostile_ids("BulkJob", 1), label="hostile id")
    return Call(
        "bulkJob", BULK_JOB, {"id": bad}, "id", "id", check_names_nothing, names_nothing=True
    )


async def check_names_nothing(world: World, call: Call, answer: Answer) -> list[str]:
    name = "node" if call.operation == "node" else "bulkJob"
    problems = []
    if field_of(answer, name) is not None:
        problems.append(f"malformed global ID resolved: {field_of(answer, name)}")
    if answer.errors:
        problems.append(
            f"malformed global ID answered with errors, not null: {messages(answer.errors)}"
        )
    return problems


def connection_call(
    data: st.DataObject, world: World, operation: str, query: str, extra: dict[str, Any]
) -> Call:
    order_name = choose(data, "order", ORDERS)
    variables: dict[str, Any] = {**extra, "orderBy": ORDERS[order_name], "first": 2}
    slots = ["filter", "orderBy", "first", "last", "after", "before"]
    if operation != "contacts":
        slots.remove("filter")
    slot = choose(data, "hostile argument", slots)
    refuse = None
    if slot == "filter":
        variables["filter"], refuse = data.draw(hostile_filters(world), label="hostile filter")
    elif slot == "orderBy":
        variables["orderBy"] = choose(data, "hostile orderBy", ORDER_JUNK)
    elif slot in ("first", "last"):
        variables.pop("first")
        variables[slot] = data.draw(hostile_ints(0, 500), label=f"hostile {slot}")
    else:
        real = world.cursors["members" if operation == "members" else order_name]
        variables[slot] = data.draw(hostile_cursors(real), label=f"hostile {slot}")
        if slot == "before":
            variables.pop("first")
            variables["last"] = 2
    return Call(operation, query, variables, slot, slot, check_query, refuse=refuse)


def build_contacts(data: st.DataObject, world: World) -> Call:
    return connection_call(data, world, "contacts", CONTACTS, {})


def build_members(data: st.DataObject, world: World) -> Call:
    return connection_call(data, world, "members", MEMBERS, {"id": world.segment})


def list_builder(name: str) -> Callable[[st.DataObject, World], Call]:
    def build(data: st.DataObject, world: World) -> Call:
        slot = choose(data, "hostile argument", ["first", "after"])
        if slot == "first":
            value = data.draw(hostile_ints(0, 500), label="hostile first")
        else:
            value = data.draw(hostile_cursors(world.cursors[name]), label="hostile after")
        return Call(name, LISTS[name], {slot: value}, slot, slot, check_query)

    return build


def build_preview(data: st.DataObject, world: World) -> Call:
    variables: dict[str, Any] = {"filter": {"tags": {"hasAny": ["vip"]}}, "sample": 3}
    slot = choose(data, "hostile argument", ["filter", "sample"])
    refuse = None
    if slot == "filter":
        variables["filter"], refuse = data.draw(hostile_filters(world), label="hostile filter")
    else:
        variables["sample"] = data.draw(hostile_ints(0, 100), label="hostile sample")
    return Call("segmentPreview", PREVIEW, variables, slot, slot, check_query, refuse=refuse)


def build_history(data: st.DataObject, world: World) -> Call:
    days = data.draw(hostile_ints(1, 366), label="hostile days")
    return Call(
        "history", HISTORY, {"id": world.segment, "days": days}, "days", "days", check_query
    )


def build_explain(data: st.DataObject, world: World) -> Call:
    bad = data.draw(
        st.one_of(hostile_ids("Contact", pk(world.contacts[0])), hostile_text()),
        label="hostile contactId",
    )
    return Call(
        "explain",
        EXPLAIN,
        {"id": world.segment, "contact": bad},
        "contactId",
        "contact",
        check_query,
        refuse="a malformed global ID",
    )


async def check_query(world: World, call: Call, answer: Answer) -> list[str]:
    """A query may refuse a bad argument with a top-level error (it was checked above not to be
    a fault); what the rules refuse must be refused, not answered."""
    if call.refuse and not answer.errors:
        return [f"answered although {call.refuse}: {call.slot}: {shown(answer.text, 300)}"]
    return []


CHANGES = f"""
query($id: ID!, $first: Int, $after: String, $since: DateTime, $kind: MembershipChangeKind) {{
  node(id: $id) {{ ... on Segment {{
    changes(first: $first, after: $after, since: $since, kind: $kind) {{
      totalCount {PAGE_INFO} edges {{ cursor node {{ contactId kind at contact {{ id email }} }} }}
    }}
  }} }}
}}"""
SNAPSHOT_CREATE = f"""
mutation($id: ID!) {{
  segmentSnapshotCreate(id: $id) {{ snapshot {{ id count segment {{ id }} }} {ERRORS} }}
}}"""
WEBHOOK_CREATE = f"""
mutation($input: WebhookInput!) {{
  webhookCreate(input: $input) {{ webhook {{ id url events segments {{ id }} }} secret {ERRORS} }}
}}"""
WEBHOOK_DELETE = f"""
mutation($id: ID!, $confirm: Boolean!) {{ webhookDelete(id: $id, confirm: $confirm) {{ deletedWebhookId {ERRORS} }} }}"""
EVENT_JUNK: tuple[Any, ...] = (
    [],
    ["SEGMENT_MEMBERSHIP_CHANGED", "SEGMENT_MEMBERSHIP_CHANGED"],
    ["segment_membership_changed"],
    ["NOPE"],
    [None],
    "BULK_JOB_FINISHED",
    None,
)


def build_changes(data: st.DataObject, world: World) -> Call:
    variables: dict[str, Any] = {"id": world.segment, "first": 2}
    slot = choose(data, "hostile argument", ["first", "after", "since", "kind"])
    if slot == "first":
        variables["first"] = data.draw(hostile_ints(0, 500), label="hostile first")
    elif slot == "after":
        variables["after"] = data.draw(hostile_cursors(world.cursors["changes"]), label="after")
    elif slot == "since":
        variables["since"] = data.draw(hostile_datetimes(), label="hostile since")
    else:
        variables["kind"] = choose(data, "hostile kind", ["entered", "BOTH", "", None, 1, ["LEFT"]])
    return Call("changes", CHANGES, variables, slot, slot, check_query)


def build_snapshot_create(data: st.DataObject, world: World) -> Call:
    bad = data.draw(hostile_ids("Segment", pk(world.segment)), label="hostile id")
    return Call(
        "segmentSnapshotCreate",
        SNAPSHOT_CREATE,
        {"id": bad},
        "id",
        "id",
        check_payload("segmentSnapshotCreate", "snapshot", "id"),
        mutation=True,
        refuse="a malformed global ID",
    )


def build_webhook_create(data: st.DataObject, world: World) -> Call:
    good: dict[str, Any] = {
        "url": "https://example.com/hook",
        "events": ["SEGMENT_MEMBERSHIP_CHANGED"],
        "segments": [world.segment],
    }
    slot = choose(data, "hostile field", ["url", "events", "segments"])
    refuse = None
    if slot == "url":
        good["url"] = data.draw(
            st.one_of(
                hostile_text(),
                st.sampled_from(
                    [
                        "http://127.0.0.1/hook",
                        "http://[::1]/hook",
                        "http://169.254.169.254/latest",
                        "https://10.0.0.1/x",
                        "ftp://example.com/x",
                        "https://user:pass@localhost/x",
                        "https://" + "a" * 3000 + ".com/",
                        "//example.com",
                    ]
                ),
            ),
            label="hostile url",
        )
        refuse = "a URL that is not a public https one"
    elif slot == "events":
        good["events"] = choose(data, "hostile events", EVENT_JUNK)
    else:
        bad = data.draw(hostile_ids("Segment", pk(world.segment)), label="hostile segment")
        index = data.draw(st.integers(0, 2), label="hostile segment's index")
        good["segments"] = [*[world.default_segment] * index, bad]
        refuse = "a malformed global ID"
    return Call(
        "webhookCreate",
        WEBHOOK_CREATE,
        {"input": good},
        f"input.{slot}",
        "input",
        check_payload("webhookCreate", "webhook", "input"),
        mutation=True,
        refuse=refuse,
    )


def build_webhook_delete(data: st.DataObject, world: World) -> Call:
    bad = data.draw(hostile_ids("Webhook", 1), label="hostile id")
    variables = {"id": bad, "confirm": data.draw(st.booleans(), label="confirm")}
    return Call(
        "webhookDelete",
        WEBHOOK_DELETE,
        variables,
        "id",
        "id",
        check_payload("webhookDelete", "deletedWebhookId", "id"),
        mutation=True,
        refuse="a malformed global ID",
    )


def check_payload(
    name: str, result: str, argument: str
) -> Callable[[World, Call, Answer], Awaitable[list[str]]]:
    """A single mutation's payload: its userErrors name an argument, and what must be refused
    changed nothing (the payload holds no result, and no secret)."""

    async def check(world: World, call: Call, answer: Answer) -> list[str]:
        payload = field_of(answer, name)
        if payload is None:
            return []
        problems = single_errors(call, payload["userErrors"], argument)
        if payload["userErrors"] and (payload.get(result) or payload.get("secret")):
            problems.append(f"a result beside userErrors: {shown(payload, 300)}")
        return problems

    return check


BUILDERS: dict[str, Callable[[st.DataObject, World], Call]] = {
    "contactsUpsert": build_contacts_upsert,
    "productsUpsert": build_products_upsert,
    "offersGrant": build_offers_grant,
    "emailEventsRecord": build_email_events,
    "contactsTag": build_contacts_tag,
    "contactsDelete": build_contacts_delete,
    "segmentCreate": build_segment_create,
    "segmentUpdate": build_segment_update,
    "segmentDelete": build_segment_delete,
    "segmentTag": build_segment_tag,
    "segmentRefreshCount": build_segment_refresh,
    "accountSettingsUpdate": build_settings,
    "node": build_node,
    "bulkJob": build_bulk_job,
    "contacts": build_contacts,
    "segments": list_builder("segments"),
    "tags": list_builder("tags"),
    "products": list_builder("products"),
    "campaigns": list_builder("campaigns"),
    "segmentPreview": build_preview,
    "Segment.history": build_history,
    "Segment.members": build_members,
    "Segment.explain": build_explain,
    "Segment.changes": build_changes,
    "webhooks": list_builder("webhooks"),
    "segmentSnapshotCreate": build_snapshot_create,
    "webhookCreate": build_webhook_create,
    "webhookDelete": build_webhook_delete,
}
MUTATIONS = frozenset(
    [*list(BUILDERS)[:12], "segmentSnapshotCreate", "webhookCreate", "webhookDelete"]
)


# ------------------------------------------------------------------------------ failing

_FAILURES: dict[str, type[AssertionError]] = {}


def failure(operation: str, problem: str) -> type[AssertionError]:
    """One exception class per operation and kind of problem, so Hypothesis reports each kind
    as a distinct bug."""
    kind = re.sub(r"[^A-Za-z0-9]+", "_", f"{operation} {problem.split(':')[0][:60]}").strip("_")
    if kind not in _FAILURES:
        _FAILURES[kind] = type(f"Hostile_{kind}", (AssertionError,), {})
    return _FAILURES[kind]


def fail(
    operation: str, where: str, problems: list[str], sent: Any, answer: Answer, db: str = ""
) -> None:
    database = db.partition(":")[0]
    log(
        {
            "database": database,
            "operation": operation,
            "slot": where,
            "problems": problems,
            "request": shown(sent, 4000),
            "status": answer.status,
            "response": shown(answer.text, 4000),
        }
    )
    if SURVEY:
        return
    raise failure(operation, problems[0])(
        f"{operation} on {database}, hostile {where}:\n  "
        + "\n  ".join(problems)
        + f"\nrequest: {shown(sent)}\nHTTP {answer.status}: {shown(answer.text)}"
    )


SETTINGS_PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None if DERANDOMIZE else settings.default.database,
    phases=[p for p in Phase if p is not Phase.shrink or SHRINK],
    suppress_health_check=list(HealthCheck),
)


# -------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("operation", list(BUILDERS))
@SETTINGS_PROFILE
@given(data=st.data())
async def test_a_hostile_argument_is_refused_or_stored_never_a_fault(
    db: str, api: Api, operation: str, data: st.DataObject
) -> None:
    fresh = operation in MUTATIONS
    world = await world_for(api, fresh)
    call = BUILDERS[operation](data, world)
    valid = type_valid(call.query, call.variables)
    if SKIP_REFUSED and valid is False:
        if fresh:
            _SPARE[api.token] = world
        reject()
    problems, answer = await attempt(world, call, valid)
    if problems:
        sent = {"query": call.query, "variables": call.variables}
        fail(operation, call.slot, problems, sent, answer, db)


# Requests malformed as a whole, and the operations without arguments (viewer, accountRecompute)
# under hostile operation names, variables and extensions.
VIEWER = "{ viewer { id name settings { inactivityDays } maintenance { nextRunAt } } }"
RECOMPUTE = "mutation { accountRecompute { job { id kind status } userErrors { field code } } }"
DEEP_QUERY = "{ viewer { " * 3000 + "id" + " }" * 3000
DEEP_LITERAL = "{ contacts(first: " + "[" * 20_000 + "]" * 20_000 + ") { totalCount } }"
FRAGMENTS = "{ viewer { ...f9 } } fragment f0 on Account { id name } " + " ".join(
    f"fragment f{i} on Account {{ ...f{i - 1} ...f{i - 1} }}" for i in range(1, 10)
)
BODIES: dict[str, bytes] = {
    "empty body": b"",
    "truncated JSON": b'{"query": "{ viewer { id } }"',
    "a JSON array": b"[]",
    "a batch of two": encode([{"query": VIEWER}, {"query": VIEWER}]),
    "JSON null": b"null",
    "a JSON string": b'"{ viewer { id } }"',
    "a bare NaN": b"NaN",
    "query as a number": b'{"query": 1}',
    "query null": b'{"query": null}',
    "query a list": b'{"query": ["{ viewer { id } }"]}',
    "variables a string": encode({"query": VIEWER, "variables": "x"}),
    "variables a list": encode({"query": VIEWER, "variables": [1]}),
    "variables NaN": encode({"query": VIEWER, "variables": math.nan}),
    "variables nested 100 000 deep": encode(
        {"query": VIEWER, "variables": {"a": deep_list(100_000)}}
    ),
    "body nested 100 000 deep": ("[" * 100_000 + "]" * 100_000).encode(),
    "objects nested 100 000 deep": deep_object(100_000).text.encode(),
    "a number of 5 000 digits": (
        '{"query": "{ viewer { id } }", "variables": {"n": 1' + "0" * 5000 + "}}"
    ).encode(),
    "operationName a number": encode({"query": VIEWER, "operationName": 1}),
    "operationName unknown": encode({"query": VIEWER, "operationName": "Nope"}),
    "operationName NUL": encode({"query": VIEWER, "operationName": "\x00"}),
    "operationName lone surrogate": encode({"query": VIEWER, "operationName": "\ud800"}),
    "extensions a string": encode({"query": VIEWER, "extensions": "x"}),
    "persisted query": encode(
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "00"}}}
    ),
    "query with NUL": encode({"query": "{ viewer { id } }\x00"}),
    "query with a lone surrogate": encode({"query": "{ viewer { id \ud800 } }"}),
    "query with a string holding NUL": encode({"query": '{ node(id: "\\u0000") { id } }'}),
    "query 3 MB of spaces": encode({"query": VIEWER + " " * 3_000_000}),
    "query of 10 000 tokens": encode({"query": "{ viewer { " + "id " * 10_000 + "} }"}),
    "query 3 000 levels deep": encode({"query": DEEP_QUERY}),
    "a list literal 20 000 deep": encode({"query": DEEP_LITERAL}),
    "fragments doubling 10 times": encode({"query": FRAGMENTS}),
    "fragment cycle": encode(
        {"query": "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"}
    ),
    "31 aliases": encode(
        {"query": "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(31)) + " }"}
    ),
    "13 levels deep": encode(
        {
            "query": "{ segments { edges { node { members { edges { node { segments { members { edges { node { segments { members { edges { node { id } } } } } } } } } } } } } } }"
        }
    ),
    "invalid UTF-8": b'{"query": "{ viewer { id } }", "variables": {"a": "\xff\xfe"}}',
    "UTF-16": json.dumps({"query": VIEWER}).encode("utf-16"),
    "UTF-8 BOM": b"\xef\xbb\xbf" + json.dumps({"query": VIEWER}).encode(),
    "mutation with hostile variables": encode(
        {"query": RECOMPUTE, "variables": {"x": "\x00\ud800", "n": math.inf}}
    ),
    "mutation with operationName": encode({"query": RECOMPUTE, "operationName": "\u202e"}),
    "two operations without a name": encode({"query": f"{VIEWER} query B {{ viewer {{ id }} }}"}),
    "subscription": encode({"query": "subscription { viewer { id } }"}),
    "introspection nested": encode(
        {
            "query": "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } }"
        }
    ),
}
HEADERS: dict[str, dict[str, str]] = {
    "Accept with q=1.2.3": {"Accept": "application/graphql-response+json;q=1.2.3"},
    "Accept with q=NaN": {"Accept": "application/json;q=NaN"},
    "Accept with q=1e999": {"Accept": "application/graphql-response+json;q=1e999"},
    "Accept with q=-1": {"Accept": "application/graphql-response+json;q=-1, application/json;q=0"},
    "Accept nothing usable": {"Accept": "image/png"},
    "Accept 10 000 types": {"Accept": ",".join(["application/json;q=0.5"] * 10_000)},
    "Content-Type text/plain": {"Content-Type": "text/plain"},
    "Content-Type form": {"Content-Type": "application/x-www-form-urlencoded"},
    "Content-Type multipart without boundary": {"Content-Type": "multipart/form-data"},
    "Content-Type UTF-16 charset": {"Content-Type": "application/json; charset=utf-16"},
    "Content-Type unknown charset": {"Content-Type": "application/json; charset=x-nope"},
    "X-Request-ID 10 000 long": {"X-Request-ID": "r" * 10_000},
    "X-Request-ID path": {"X-Request-ID": "../../etc/passwd"},
    "Authorization 10 000 long": {"Authorization": "Bearer " + "x" * 10_000},
    "Authorization key of 5 000 digits": {"Authorization": "Bearer sgt_" + "9" * 5000 + "_x"},
    "Authorization Arabic-Indic key": {"Authorization": "Bearer sgt_\u0663_secret"},
    "Authorization key past 64 bits": {"Authorization": "Bearer sgt_99999999999999999999_x"},
    "Authorization Basic": {"Authorization": "Basic eDp5"},
    "Authorization lower-case scheme": {"Authorization": "bearer x"},
    "Authorization empty": {"Authorization": ""},
}


@pytest.mark.parametrize("case", list(BODIES))
async def test_a_malformed_request_is_a_clean_4xx_or_answer(db: str, api: Api, case: str) -> None:
    body = BODIES[case]
    answer = await post(
        api.client,
        api.token,
        body.decode("utf-8", "replace"),
        content=body,
        allowed=frozenset({200, 400, 413, 415}),
    )
    if answer.problems:
        fail("request", case, answer.problems, body.decode("utf-8", "replace"), answer, db)


@pytest.mark.parametrize("case", list(HEADERS))
async def test_hostile_headers_are_a_clean_4xx_or_answer(db: str, api: Api, case: str) -> None:
    body = encode({"query": VIEWER})
    answer = await post(
        api.client,
        api.token,
        {"query": VIEWER},
        headers=HEADERS[case],
        content=body,
        allowed=frozenset({200, 400, 401, 406, 413, 415}),
    )
    if answer.problems:
        fail("headers", case, answer.problems, HEADERS[case], answer, db)


GET_QUERIES: dict[str, dict[str, str]] = {
    "a mutation over GET": {"query": RECOMPUTE},
    "a mutation over GET, named": {
        "query": RECOMPUTE.replace("mutation", "mutation M"),
        "operationName": "M",
    },
    "variables not JSON": {"query": VIEWER, "variables": "{nope"},
    "variables NaN": {
        "query": "query($n: Int) { segments(first: $n) { totalCount } }",
        "variables": '{"n": NaN}',
    },
    "variables deep": {"query": VIEWER, "variables": "[" * 5_000 + "]" * 5_000},
    "query with NUL": {"query": "{ viewer { id } }\x00"},
    "query a lone surrogate": {"query": "{ viewer { id } }\ud800"},
    "no query": {"operationName": "x"},
    "query empty": {"query": ""},
}


@pytest.mark.parametrize("case", list(GET_QUERIES))
async def test_hostile_get_requests(db: str, api: Api, case: str) -> None:
    params = GET_QUERIES[case]
    # Percent-encoded by hand: a lone surrogate goes as the bytes a sloppy client would send.
    query = "&".join(
        f"{k}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in params.items()
    )
    request = api.client.build_request(
        "GET",
        f"/graphql?{query}",
        headers={"Authorization": f"Bearer {api.token}", "Accept": "application/json"},
    )
    try:
        response = await api.client.send(request)
    except Exception as exc:  # the ASGI transport re-raises what the app let out: a 500
        answer = Answer(None, problems=[f"HTTP 500: {type(exc).__name__} escaped the app"])
    else:
        answer = read(response, params, frozenset({200, 400, 405, 413}))
    if answer.problems:
        fail("GET", case, answer.problems, params, answer, db)


@SETTINGS_PROFILE
@given(
    operation=st.sampled_from([VIEWER, RECOMPUTE]),
    part=st.sampled_from(["operationName", "variables", "extensions", "query suffix"]),
    value=st.one_of(hostile_text(), hostile_json(), hostile_ints()),
)
async def test_hostile_request_parts_around_operations_without_arguments(
    db: str, api: Api, operation: str, part: str, value: Any
) -> None:
    """viewer and accountRecompute take no argument: what a request can still carry is hostile."""
    payload: dict[str, Any] = {"query": operation}
    if part == "query suffix":
        payload["query"] = f"{operation} {value}" if isinstance(value, str) else value
    else:
        payload[part] = value
    answer = await post(api.client, api.token, payload)
    if answer.problems:
        fail("request", part, answer.problems, payload, answer, db)


# ------------------------------------------------------------ one spelling, one thing

COMPOSED = "\u00e9\u00e8\u00ea\u00eb\u00e0\u00e2\u00e4\u00f4\u00f6\u00fb\u00fc\u00e7\u00f1\u00c5\u00c9\u1e9e"


@SETTINGS_PROFILE
@given(
    name=st.text(alphabet=COMPOSED + "ab", min_size=1, max_size=6).filter(lambda s: not s.isascii())
)
async def test_nfc_and_nfd_spellings_are_one_contact_and_one_tag(api: Api, name: str) -> None:
    token = secrets.token_hex(3)
    nfc = unicodedata.normalize("NFC", name)
    nfd = unicodedata.normalize("NFD", name)
    upsert = f"mutation($input: [ContactInput!]!) {{ contactsUpsert(input: $input) {{ contacts {{ id email tags {{ name }} }} {ERRORS} }} }}"
    first = await must(
        api.client,
        api.token,
        upsert,
        {"input": [{"email": f"{nfc}-{token}@example.com", "tags": [f"{nfc}-{token}"]}]},
    )
    second = await must(
        api.client,
        api.token,
        upsert,
        {"input": [{"email": f"{nfd}-{token}@example.com", "tags": [f"{nfd}-{token}"]}]},
    )
    one = first["contactsUpsert"]["contacts"]
    two = second["contactsUpsert"]["contacts"]
    assert first["contactsUpsert"]["userErrors"] == second["contactsUpsert"]["userErrors"] == []
    assert [c["id"] for c in one] == [c["id"] for c in two], (one, two)
    found = await must(
        api.client,
        api.token,
        "query($e: String!, $t: String!) { byEmail: contacts(filter: {email: {eq: $e}}) { totalCount } byTag: contacts(filter: {tags: {hasAny: [$t]}}) { totalCount } }",
        {"e": f"{nfd}-{token}@example.com", "t": f"{nfd}-{token}"},
    )
    assert found["byEmail"]["totalCount"] == found["byTag"]["totalCount"] == 1, found
