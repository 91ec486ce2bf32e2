"""Walking the audit chains: is the log as the ledger wrote it? (issue 14; docs/audit.md)

Every event's hash covers its stored bytes, its position, its link in its chain and the hash
of the link before (ledger/audit_chain.py). Walking the log in position order and hashing each
row again finds:

- `altered`: a row whose bytes (state, topic, instant, cause, …) or position no longer give
  its hash: it was changed, or moved to another position;
- `missing`: a chain skips links (rows deleted);
- `out_of_order`: a chain's links come in another order than its positions (rows swapped);
- `unchained`: a row outside every chain (inserted by something other than the ledger).

After a break the walk goes on from the row as stored, so one altered row is one break, and
every later break is reported too (up to BREAKS_KEPT). What a walk cannot see by itself is the
last links of a chain removed together with nothing after them: a signed digest of the chain
heads, kept by the auditor, shows that (replay/digests.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper

from ledger.audit_chain import NEW_CHAIN, VENDOR_CHAIN, Head, cause_bytes, instant_text, link_hash
from ledger.store import EVENTS_TABLE
from replay.verify_snapshots import altered_snapshots

BREAKS_KEPT = 100
"""Breaks a walk reports in full; beyond them it only counts."""
FETCH_ROWS = 5_000
"""Rows fetched per round trip from the walk's server-side cursor."""

_COLUMNS = (
    "notification_id, originator_id, originator_version, topic, state, chain, chain_seq, "
    "recorded_at, cause::text, hash"
)
"""The cause as its text, not parsed by the driver: a walk encodes each distinct cause once
(`Causes`), and parsing it for every row was a fifth of the walk's time (bench/replay.py)."""
CAUSES_KEPT = 10_000
"""Distinct causes a walk remembers the encoding of (one per request or billing-clock run)."""
WALK_ALL = (
    f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} "  # noqa: S608
    "WHERE notification_id > %s AND notification_id <= %s ORDER BY 1"
)
WALK_CHAIN = (
    f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} "  # noqa: S608
    "WHERE chain = %s AND notification_id > %s AND notification_id <= %s ORDER BY 1"
)
HEAD = f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"  # noqa: S608

Progress = Callable[[int], None]
"""Told the position the walk reached, every FETCH_ROWS rows."""


class BreakKind(StrEnum):
    ALTERED = "altered"
    MISSING = "missing"
    OUT_OF_ORDER = "out_of_order"
    UNCHAINED = "unchained"
    SNAPSHOT = "snapshot"
    """A snapshot that is not the state its events make (replay/verify_snapshots.py)."""


@dataclass(frozen=True)
class Break:
    """One broken link: where, in which chain, and what it looks like."""

    position: int
    chain: UUID | None
    """The partner whose chain broke (VENDOR_CHAIN: the vendor's); None: outside every chain."""
    kind: BreakKind
    message: str

    @property
    def partner_id(self) -> UUID | None:
        return None if self.chain in (None, VENDOR_CHAIN) else self.chain

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "chain": str(self.chain) if self.chain is not None else None,
            "partner_id": str(self.partner_id) if self.partner_id is not None else None,
            "kind": self.kind.value,
            "message": self.message,
        }


@dataclass
class Verification:
    """What a walk found: how much it checked, each chain's last link, and the breaks."""

    up_to: int
    """The log position the walk went up to (the head when it began, unless told)."""
    partner_id: UUID | None = None
    events: int = 0
    heads: dict[UUID, Head] = field(default_factory=dict)
    breaks: list[Break] = field(default_factory=list)
    break_count: int = 0

    @property
    def intact(self) -> bool:
        return self.break_count == 0

    @property
    def first_break(self) -> Break | None:
        return self.breaks[0] if self.breaks else None

    def summary(self) -> str:
        if self.intact:
            chains = len(self.heads)
            return (
                f"intact: {self.events} events in {chains} chain{'s' * (chains != 1)}, "
                f"up to position {self.up_to}"
            )
        first = self.breaks[0]
        return (
            f"BROKEN: {self.break_count} broken link{'s' * (self.break_count != 1)}; the first "
            f"at position {first.position}: {first.message}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "up_to_position": self.up_to,
            "partner_id": str(self.partner_id) if self.partner_id else None,
            "events": self.events,
            "chains": len(self.heads),
            "break_count": self.break_count,
            "first_break": self.first_break.as_json() if self.first_break else None,
            "breaks": [each.as_json() for each in self.breaks],
        }


def verify(
    conn: psycopg.Connection[Any],
    *,
    partner_id: UUID | None = None,
    up_to: int | None = None,
    progress: Progress | None = None,
    since: Verification | None = None,
    snapshots: Mapper[UUID] | None = None,
) -> Verification:
    """Walk the chains (one partner's, or all and every row outside them) up to a position
    (the head now, if none is given), in one snapshot of the log.

    With `since` (an earlier walk of the same chains) it walks only the rows after the
    position that walk reached, from the heads it found, and counts on from its figures: the
    periodic verify's cheap step (api/audit_watch.py). It cannot see rows changed before that
    position; only a whole walk does.

    With `snapshots` (the store's mapper) it also checks every snapshot in scope against the
    events it stands for (replay/verify_snapshots.py), in the same snapshot of the log."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if up_to is None:
            row = conn.execute(HEAD).fetchone()
            up_to = int(row[0]) if row else 0
        result = Verification(up_to, partner_id)
        after = 0
        if since is not None:
            after = since.up_to
            result.events, result.heads = since.events, dict(since.heads)
            result.breaks, result.break_count = list(since.breaks), since.break_count
        causes = Causes()
        with conn.cursor(name="ledgerline_verify") as cursor:
            cursor.itersize = FETCH_ROWS
            if partner_id is None:
                cursor.execute(WALK_ALL, (after, up_to))
            else:
                cursor.execute(WALK_CHAIN, (partner_id, after, up_to))
            for row in cursor:
                _check(result, row, causes)
                if progress is not None and result.events % FETCH_ROWS == 0:
                    progress(int(row[0]))
        if snapshots is not None:
            for position, chain, message in altered_snapshots(
                conn, snapshots, partner_id=partner_id, up_to=up_to
            ):
                _broken(result, Break(position, chain, BreakKind.SNAPSHOT, message))
            result.breaks.sort(key=lambda each: each.position)
    return result


class Causes:
    """Each distinct cause's bytes as hashed (`cause_bytes`), from its stored text."""

    def __init__(self) -> None:
        self._known: dict[str, bytes] = {}

    def encoded(self, text: str | None) -> bytes:
        if text is None:
            return cause_bytes(None)
        found = self._known.get(text)
        if found is None:
            found = cause_bytes(json.loads(text))
            if len(self._known) >= CAUSES_KEPT:
                self._known.clear()
            self._known[text] = found
        return found


def _check(result: Verification, row: tuple[Any, ...], causes: Causes) -> None:
    position, originator_id, version, topic, state, chain, seq, recorded_at, cause, stored = row
    result.events += 1
    if chain is None or seq is None or stored is None:
        _broken(
            result,
            Break(
                position,
                None,
                BreakKind.UNCHAINED,
                f"position {position} is outside every chain: a row the ledger did not write "
                "(inserted out of band)",
            ),
        )
        return
    head = result.heads.get(chain, NEW_CHAIN)
    owner = "the vendor's chain" if chain == VENDOR_CHAIN else f"partner {chain}'s chain"
    if seq > head.seq + 1:
        first, last = head.seq + 1, seq - 1
        missing = f"link {first}" if first == last else f"links {first}-{last}"
        _broken(
            result,
            Break(
                position,
                chain,
                BreakKind.MISSING,
                f"{owner} lacks {missing} before position {position}: rows were deleted (or moved)",
            ),
        )
    elif seq <= head.seq:
        _broken(
            result,
            Break(
                position,
                chain,
                BreakKind.OUT_OF_ORDER,
                f"{owner} has link {seq} at position {position}, after link {head.seq}: rows "
                "were moved or duplicated",
            ),
        )
    else:
        expected = link_hash(
            head.hash,
            position,
            chain,
            seq,
            originator_id,
            version,
            topic,
            bytes(state),
            instant_text(recorded_at).encode() if recorded_at is not None else b"",
            causes.encoded(cause),
        )
        if expected != bytes(stored):
            _broken(
                result,
                Break(
                    position,
                    chain,
                    BreakKind.ALTERED,
                    f"the event at position {position} ({owner}, link {seq}) does not match its "
                    "hash: its stored bytes or its position were changed",
                ),
            )
    # Go on from the row as stored: one altered row is one break, not the rest of its chain.
    result.heads[chain] = Head(int(seq), bytes(stored))


def _broken(result: Verification, found: Break) -> None:
    result.break_count += 1
    if len(result.breaks) < BREAKS_KEPT:
        result.breaks.append(found)
