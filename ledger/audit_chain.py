"""The audit trail the writer keeps with every event: who caused it, when it was recorded, and
a hash chain that proves the log was not altered (issue 14; docs/audit.md).

Every event row carries, beside the library's columns:

- `chain`: the partner the event belongs to (its aggregate's partner when the event was
  written), or `VENDOR_CHAIN` for vendor-wide streams (the catalogue, the billing policy).
  One chain per partner keeps partners independent: each can be verified, exported and, later,
  sharded alone.
- `chain_seq`: 1, 2, 3, … within the chain, without gaps.
- `recorded_at`: the ledger clock's instant when the command that caused it was decided.
- `cause`: what caused it (`Cause`): an API key (its id and role, never its secret) and the
  request id, the billing clock's run, or the command line. NULL for events written before
  causes were recorded: read as "unknown".
- `hash`: SHA-256 over the previous hash of its chain and the event's stored bytes
  (`event_hash` says exactly which, in which order): changing, removing, inserting or moving
  one row breaks its chain at that row.

The writer computes the hashes in the same transaction as the events, under the events-table
lock that already orders every write, so each chain is one line whatever the concurrency. The
log positions are given by the writer too (the head it read under the lock, plus one), so a
hash covers its event's position: rows cannot be renumbered or swapped unnoticed. This module
is the format's only definition; replay/ verifies with the same `event_hash`, and a bundle is
checked offline with it (docs/audit.md spells the format out for other implementations).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from uuid import UUID

import psycopg

from domain.partner_account import PartnerAccount
from ledger import store

HASH_FORMAT = b"ledgerline/event-hash/v1\n"
"""The first bytes hashed for every event: names the format, so a later one cannot be confused
with it."""
GENESIS = bytes(32)
"""The "previous hash" of a chain's first event."""
VENDOR_CHAIN = UUID(int=0)
"""The chain of vendor-wide streams: the catalogue, the billing policy, whatever no partner
owns."""
UNKNOWN = "unknown"
"""How a cause reads for events written before causes were recorded."""


class CauseKind:
    API_KEY = "api_key"
    """A request made with an API key."""
    BILLING_CLOCK = "billing_clock"
    """A run of the billing clock (a tick: renewals, charges, retries, overdue marks, …)."""
    COMMAND_LINE = "command_line"
    """A `ledgerline` command run by an operator (catalogue import, …)."""
    LEDGER = "ledger"
    """The ledger on its own account, outside any request or run (the first start's import)."""


@dataclass(frozen=True)
class Cause:
    """What caused an event: recorded with it, hashed with it, never a secret."""

    kind: str
    key_id: str | None = None
    """The API key's public id (never its secret)."""
    role: str | None = None
    request_id: str | None = None
    run: str | None = None
    """The billing clock's run, or the command line's command."""

    @classmethod
    def api_key(cls, key_id: str, role: str, request_id: str | None) -> Cause:
        return cls(CauseKind.API_KEY, key_id=key_id, role=role, request_id=request_id)

    @classmethod
    def billing_clock(cls, run: str) -> Cause:
        return cls(CauseKind.BILLING_CLOCK, run=run)

    @classmethod
    def command_line(cls, command: str) -> Cause:
        return cls(CauseKind.COMMAND_LINE, run=command)

    def as_json(self) -> dict[str, str]:
        """As stored in the `cause` column: only the fields that are set."""
        return {name: value for name, value in asdict(self).items() if value is not None}

    @cached_property
    def hashed(self) -> bytes:
        """As hashed (`cause_bytes`), worked out once per cause: every event of a command, and
        of all the commands of a request or a billing-clock run, shares it. Canonical JSON, so
        also what the `cause` column is given."""
        return cause_bytes(self.as_json())

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Cause | None:
        if data is None:
            return None
        return cls(**{name: str(value) for name, value in data.items()})

    def describe(self) -> str:
        """One line for people: "api key k_3f… (partner), request 9c…"."""
        if self.kind == CauseKind.API_KEY:
            text = f"API key {self.key_id} ({self.role})"
            return f"{text}, request {self.request_id}" if self.request_id else text
        if self.kind == CauseKind.BILLING_CLOCK:
            return f"the billing clock, run {self.run}"
        if self.kind == CauseKind.COMMAND_LINE:
            return f"the command line: {self.run}"
        return "the ledger itself"


LEDGER_CAUSE = Cause(CauseKind.LEDGER)
_cause: ContextVar[Cause] = ContextVar("ledgerline_cause", default=LEDGER_CAUSE)


def current_cause() -> Cause:
    """What is causing the commands issued now, in this context (a request, a run)."""
    return _cause.get()


@contextmanager
def caused_by(cause: Cause) -> Iterator[Cause]:
    """Commands issued inside are recorded as caused by `cause`."""
    token = _cause.set(cause)
    try:
        yield cause
    finally:
        _cause.reset(token)


def set_cause(cause: Cause) -> None:
    """Commands issued from now on in this context are caused by `cause` (for a request's
    own context, which ends with the request)."""
    _cause.set(cause)


def cause_bytes(cause: Mapping[str, Any] | None) -> bytes:
    """A cause as hashed: canonical JSON (sorted keys, no spaces), empty when unknown; the
    same bytes whether it comes from a `Cause` or back from the `jsonb` column."""
    if cause is None:
        return b""
    return json.dumps(dict(cause), sort_keys=True, separators=(",", ":")).encode()


def instant_text(instant: datetime) -> str:
    """A recorded instant as hashed: UTC, microseconds (what `timestamptz` keeps)."""
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


_U64 = struct.Struct(">Q")


def event_hash(
    previous: bytes,
    *,
    position: int,
    chain: UUID,
    chain_seq: int,
    originator_id: UUID,
    originator_version: int,
    topic: str,
    state: bytes,
    recorded_at: datetime | None,
    cause: Mapping[str, Any] | None,
) -> bytes:
    """SHA-256 of HASH_FORMAT, the previous hash of the chain (32 bytes), then each field as an
    8-byte big-endian length and its bytes: position, chain, chain_seq and originator_version as
    8-byte big-endian integers, the UUIDs as their 16 bytes, the topic as UTF-8, the state as
    stored, the recorded instant as `instant_text` (empty if none) and the cause as
    `cause_bytes`."""
    recorded = instant_text(recorded_at).encode() if recorded_at is not None else b""
    return link_hash(
        previous,
        position,
        chain,
        chain_seq,
        originator_id,
        originator_version,
        topic,
        state,
        recorded,
        cause_bytes(cause),
    )


def link_hash(
    previous: bytes,
    position: int,
    chain: UUID,
    chain_seq: int,
    originator_id: UUID,
    originator_version: int,
    topic: str,
    state: bytes,
    recorded: bytes,
    cause: bytes,
) -> bytes:
    """`event_hash` of a link whose instant and cause are encoded already (a walk of the log
    encodes each distinct cause once). The bytes are joined and hashed at once: the same
    digest as fed piece by piece, at a fraction of the calls (bench/replay.py)."""
    fields = (
        _U64.pack(position),
        chain.bytes,
        _U64.pack(chain_seq),
        originator_id.bytes,
        _U64.pack(originator_version),
        topic.encode(),
        state,
        recorded,
        cause,
    )
    parts = [HASH_FORMAT, previous]
    for field in fields:
        parts += (_U64.pack(len(field)), field)
    return hashlib.sha256(b"".join(parts)).digest()


def chain_of(aggregate: Any) -> UUID:
    """The chain an aggregate's events go to: its partner's, or the vendor's. A partner's
    account is its own partner; lines, invoices, wallets and price overrides name theirs (a
    line moved to another reseller chains its later events to the new one)."""
    partner_id = getattr(aggregate, "partner_id", None)
    if isinstance(partner_id, UUID):
        return partner_id
    if isinstance(aggregate, PartnerAccount):
        return aggregate.id
    return VENDOR_CHAIN


@dataclass(frozen=True)
class Head:
    """The last link of a chain: its sequence number and hash (GENESIS and 0 for a new one)."""

    seq: int = 0
    hash: bytes = GENESIS


NEW_CHAIN = Head()


LINK_BATCH = 5_000
"""Rows read and linked per statement when a store made before the chains is linked on its
upgrade."""


def link_unchained(conn: psycopg.Connection[Any]) -> int:
    """Link every event of a store made before the audit chains into its chain, in log order,
    once (its upgrade, under the schema's lock): the chain from its stream's aggregate as it is
    now known (a line's last partner; an aggregate of no partner: the vendor's), the recorded
    instant from the event's own timestamp, the cause unknown. Returns the rows linked."""
    conn.execute(store.LOCK_EVENTS)
    owners = dict(conn.execute(store.STREAM_PARTNERS).fetchall())
    accounts = {row[0] for row in conn.execute(store.PARTNER_ACCOUNTS).fetchall()}
    heads: dict[UUID, Head] = {}
    linked = 0
    updates: list[tuple[Any, ...]] = []
    # Read through a server-side cursor and written back in batches: a store of millions of
    # events is linked in bounded memory.
    with conn.cursor(name="ledgerline_link_unchained") as rows:
        rows.itersize = LINK_BATCH
        rows.execute(store.EVENTS_TO_LINK)
        for position, originator_id, version, topic, state, recorded_at in rows:
            owner = owners.get(originator_id)
            chain = (
                UUID(str(owner))
                if owner is not None
                else originator_id
                if originator_id in accounts
                else VENDOR_CHAIN
            )
            head = heads.get(chain, NEW_CHAIN)
            seq = head.seq + 1
            digest = event_hash(
                head.hash,
                position=position,
                chain=chain,
                chain_seq=seq,
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=bytes(state),
                recorded_at=recorded_at,
                cause=None,
            )
            heads[chain] = Head(seq, digest)
            updates.append((chain, seq, recorded_at, digest, position))
            linked += 1
            if len(updates) == LINK_BATCH:
                _set_links(conn, updates)
    _set_links(conn, updates)
    return linked


def _set_links(conn: psycopg.Connection[Any], updates: list[tuple[Any, ...]]) -> None:
    """Write a batch of links (chain, link, instant, hash, position) in one statement."""
    if updates:
        conn.execute(store.SET_LINKS, [list(column) for column in zip(*updates, strict=True)])
        updates.clear()
