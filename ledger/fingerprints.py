"""Command fingerprints: how a repeat of a command is told from another command sent under
the same idempotency key (R-X5).

A fingerprint is the SHA-256 of a canonical encoding of the command's fields: JSON with sorted
keys, each value written by the event store's transcoding rules (ledger/transcodings.py: tagged
UUIDs, dates, enums, `Money` and the other value objects), never sealed. A field left at its
default is left out, so adding a field with a default to a command changes no fingerprint
already recorded; nor does reordering fields or changing how a value prints.

A field whose metadata is `NOT_FINGERPRINTED` is left out: who acts (the key's own namespace
already names it), what the payment processor answered for a command that reaches it first
(a retry must match the request, not the processor's answer, which differs from one try to
the next), and what the ledger read to build a command (a client's lines in unified billing,
which a removal sent again no longer finds). Such a command's fingerprint carries `v3:`.

Fingerprints written before this encoding were the digest of `repr(command)`: 64 hex digits
with no prefix. They are still compared the old way (`legacy_fingerprint`), so a key recorded
then replays after the upgrade. New fingerprints carry their version (`v2:`, `v3:`). A `v2:`
or legacy fingerprint recorded for a command that now leaves a processor's answer out (`v3:`)
was replayed by its key alone before; it still is (same command name), whatever fields the
command has gained since (a charge's request: the method asked for).
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
REQUEST_VERSION_PREFIX = "v3:"
"""Marks a fingerprint that leaves out what the payment processor answered (see above)."""

NOT_FINGERPRINTED: dict[str, Any] = {"fingerprint": False}
"""Field metadata: leave this field out of the command's fingerprint."""
ACTOR_FIELD = "actor"
"""Every command's actor: left out, yet no reason for a `v3:` fingerprint (it never was in)."""


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
    """A dataclass's fields, but those left at their default and those not fingerprinted."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(record):
        if field.metadata.get("fingerprint", True) is False:
            continue
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
    prefix = REQUEST_VERSION_PREFIX if leaves_out_answers(type(command)) else VERSION_PREFIX
    return f"{prefix}{digest}"


def leaves_out_answers(cls: type[Any]) -> bool:
    """Whether a command class leaves a field out of its fingerprint (a processor's answer)."""
    known: bool | None = _LEAVES_OUT.get(cls)
    if known is None:
        known = _LEAVES_OUT[cls] = any(
            field.metadata.get("fingerprint", True) is False and field.name != ACTOR_FIELD
            for field in dataclasses.fields(cls)
        )
    return known


_LEAVES_OUT: dict[type[Any], bool] = {}


def legacy_fingerprint(command: Any) -> str:
    """The digest written before `fingerprint`: of the command's `repr` (all fields, in order)."""
    return hashlib.sha256(repr(command).encode()).hexdigest()


def is_same_command(command: Any, name: str, recorded: str) -> bool:
    """Whether `command` is the one recorded under a key as `name` with fingerprint `recorded`;
    a legacy fingerprint is compared the legacy way."""
    if name != command.command_name:
        return False
    if not recorded.startswith(REQUEST_VERSION_PREFIX) and leaves_out_answers(type(command)):
        return True  # recorded before the processor's answer was left out: by key, as then
    if recorded.startswith((VERSION_PREFIX, REQUEST_VERSION_PREFIX)):
        return bool(recorded == command.fingerprint())
    return recorded == legacy_fingerprint(command)
