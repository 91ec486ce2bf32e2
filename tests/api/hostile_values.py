"""Hostile values for the API's inputs: amounts past every bound, far and impossible dates,
ids that are not UUIDs, text no row can hold, wrong types, forged cursors, and bodies no JSON
encoder writes. tests/api/hostile.py builds requests from them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from domain.money import AMOUNT_MAX_MINOR

Json = Any

ONE_MB_TEXT = "a" * 1_000_000
"""A megabyte of text in one field: under the body limit, far over every field's length."""

AMOUNTS: list[Json] = [
    AMOUNT_MAX_MINOR + 1,
    -AMOUNT_MAX_MINOR - 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**400,
    -1,
    0,
    1.5,
    1e3,
    1e308,
    -0.0,
    float("nan"),
    float("inf"),
    "1000",
    "1e3",
    "0x10",
]
DATES: list[Json] = [
    "0001-01-01",
    "9999-12-31",
    "2126-01-31",
    "1926-01-31",
    "0000-01-01",
    "2026-02-29",
    "2026-13-01",
    "2026-1-1",
    "20260131",
    "2026-01-31T00:00:00Z",
    "+10000-01-01",
    "-0001-01-01",
    "\u0662\u0660\u0662\u0666-\u0660\u0661-\u0663\u0661",  # Arabic-Indic digits
    20260131,
]
INSTANTS: list[Json] = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-14:00",
    "2126-01-31T09:30:00Z",
    "2026-01-31T09:30:00",
    "2026-01-31T25:00:00Z",
    "now",
    1e20,
    -(2**63),
]
UUID_TEXT = "8f14e45f-ceea-4e7a-9b1c-0d2e3f4a5b6c"
IDS: list[Json] = [
    "not-a-uuid",
    "'; DROP TABLE ledger_events; --",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "x" * 5_000,  # long, and still within a URL a client sends (httpx refuses 64 KiB)
    "{" + UUID_TEXT + "}",
    UUID_TEXT.upper(),
    UUID_TEXT.replace("-", ""),
    "urn:uuid:" + UUID_TEXT,
    UUID_TEXT + "\x00",
    UUID_TEXT.replace("-", "\u2010"),  # a Unicode hyphen
    123,
]
TEXTS: list[Json] = [
    "",
    " ",
    "a\x00b",
    "\x00",
    "\ud800",
    "a\udfffb",
    "\u202eevil\u202c",
    "\u200f",
    "\x1b[2J",
    "line\nbreak",
    "\ufeff",
    "\U0001f642" * 50,
    "\u00e9" * 201,
    "a" * 201,
    ONE_MB_TEXT,
    "Robert'); DROP TABLE command_log;--",
    "%s%n{0}${jndi:ldap://x}",
    "\uff35\uff33\uff24",  # full-width USD
    "usd",
    "U\u0301SD",
]
WRONG_TYPES: list[Json] = [None, True, 0, -1, 1.5, "text", [], [1], {}, {"a": 1}]
HEADER_VALUES: list[bytes] = [b"", b"\xff\xfe", b"a" * 10_000, "cl\u00e9".encode("latin-1")]
"""Idempotency keys a client can send (uvicorn itself answers a bare 400 to control bytes)."""

OVERSIZED_BYTES = 9 * 1024 * 1024
"""Several megabytes: more than the API takes (ledger/settings.py HTTP_BODY_MAX_BYTES)."""
DEEP_NESTING = 100_000
"""Deeper than any JSON parser's recursion limit."""


def forged_cursor(values: Json) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


QUERY_VALUES: list[str] = [
    "0",
    "-1",
    str(2**63),
    str(2**64),
    str(10**30),
    "1e3",
    "1.5",
    " 1",
    "",
    "abc",
    "NaN",
    "\x00",
    "x" * 10_000,
    "0001-01-01",
    "9999-12-31",
    "2126-01-31",
    "0000-00-00",
    "'; DROP TABLE ledger_events; --",
    UUID_TEXT,
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    forged_cursor([2**70]),
    forged_cursor([-(2**70), "x"]),
    forged_cursor(["\x00"]),
    forged_cursor(["9999-12-31", UUID_TEXT]),
    forged_cursor(["0001-01-01", "not-a-uuid"]),
    forged_cursor([None]),
    forged_cursor([{"a": [1]}]),
    forged_cursor([1e308]),
    forged_cursor([]),
    forged_cursor("text"),
    base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    "%%%",
]


@dataclass(frozen=True)
class RawBody:
    """A body no JSON encoder writes, the Content-Type it is sent under, and whether a
    command must refuse it (a valid body under a wrong type may be taken or refused)."""

    what: str
    content: bytes | Iterator[bytes]
    content_type: str | None = "application/json"
    refused: bool = True


def raw_bodies(valid: bytes, body_required: bool) -> list[RawBody]:
    """Bodies no JSON encoder writes, and valid ones under the wrong Content-Type."""
    oversized = b'{"name": "' + b"a" * OVERSIZED_BYTES + b'"}'
    return [
        RawBody("oversized", oversized),
        RawBody("oversized, chunked", iter([oversized[:1024], oversized[1024:]])),
        RawBody("invalid JSON", b'{"amount": {"amount_minor": '),
        RawBody("not UTF-8", b'{"name": "\xff\xfe\xc3\x28"}'),
        RawBody("a UTF-8 surrogate", b'{"name": "\xed\xa0\x80"}'),
        RawBody("a raw NUL", b'{"name": "a\x00b"}'),
        RawBody("NUL only", b"\x00"),
        RawBody("5,000 digits", b'{"amount": {"amount_minor": 1' + b"0" * 5000 + b"}}"),
        RawBody("1e999999", b"1e999999"),
        RawBody("deep arrays", b"[" * DEEP_NESTING + b"]" * DEEP_NESTING),
        RawBody("deep objects", b'{"a":' * DEEP_NESTING + b"1" + b"}" * DEEP_NESTING),
        RawBody("empty", b"", refused=body_required),
        RawBody("text/plain", valid, "text/plain"),
        RawBody("a form", valid, "application/x-www-form-urlencoded"),
        RawBody("no Content-Type", valid, None, refused=False),
        RawBody("latin-1 declared", valid, "application/json; charset=latin-1", refused=False),
    ]
