"""Command fingerprints: how a repeat of a command is told from another command sent under
the same idempotency key (R-X5).

A fingerprint is the SHA-256 of a canonical encoding of the command's fields: JSON with sorted
keys, each value written by the event store's transcoding rules (ledger/transcodings.py: tagged
UUIDs, dates, enums, `Money` and the other value objects), never sealed. A field left at its
default is left out, so adding a field with a default to a command changes no fingerprint
already recorded; nor does reordering fields or changing how a value prints.

Fingerprints written before this encoding were the digest of `repr(command)`: 64 hex digits
with no prefix. They are still compared the old way (`legacy_fingerprint`), so a key recorded
then replays after the upgrade. New fingerprints carry their version (`v2:`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from enum import Enum
from functools import cache
from typing import Any

from ledger.transcodings import LedgerTranscoder

VERSION_PREFIX = "v2:"
"""Marks a fingerprint of the canonical encoding; one without it is the legacy `repr` digest."""


class _CommandTranscoder(LedgerTranscoder):
    """The events' transcoding rules, extended to the ledger's own values that only commands
    carry (a processor's answer, a share of a charge): those are written as their fields, at
    their defaults left out; enums as their values. It never seals: the same command must
    always encode the same."""

    def __init__(self) -> None:
        super().__init__(sealer=None)
        # One encoder kept: json.dumps with options builds a new one per call (half the cost).
        self.canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def _walk(self, o: Any) -> Any:
        encode = self._encoders.get(type(o))
        if encode is not None:
            return encode(o)
        if isinstance(o, Enum):
            return self._walk(o.value)
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return self._dict(fields_set(o))
        return super()._walk(o)  # refuses what it does not know


@cache
def _transcoder() -> _CommandTranscoder:
    return _CommandTranscoder()


def fields_set(record: Any) -> dict[str, Any]:
    """A dataclass's fields, but those left at their default."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if field.default is not dataclasses.MISSING and value == field.default:
            continue
        if field.default_factory is not dataclasses.MISSING and value == field.default_factory():
            continue
        values[field.name] = value
    return values


def canonical_json(command: Any) -> str:
    """The command's fields as canonical JSON: sorted keys, no spaces, transcoded values."""
    transcoder = _transcoder()
    return transcoder.canonical.encode(transcoder._dict(fields_set(command)))


def fingerprint(command: Any) -> str:
    """The digest of a command's canonical encoding, with its version."""
    digest = hashlib.sha256(canonical_json(command).encode()).hexdigest()
    return f"{VERSION_PREFIX}{digest}"


def legacy_fingerprint(command: Any) -> str:
    """The digest written before `fingerprint`: of the command's `repr` (all fields, in order)."""
    return hashlib.sha256(repr(command).encode()).hexdigest()


def is_same_command(command: Any, name: str, recorded: str) -> bool:
    """Whether `command` is the one recorded under a key as `name` with fingerprint `recorded`;
    a legacy fingerprint is compared the legacy way."""
    if name != command.command_name:
        return False
    if recorded.startswith(VERSION_PREFIX):
        return bool(recorded == command.fingerprint())
    return recorded == legacy_fingerprint(command)
