"""The periodic verify of a serving process: the audit chains walked again and again, cheaply,
with every break logged loudly and shown in /metrics (issue 14; docs/operations.md).

The first run walks the whole log; each later run walks only the events written since the
position the last one reached, from the heads it remembered, and every AUDIT_FULL_WALK_EVERY
runs the whole log again (a row changed below the last position is only seen by a whole walk).
Every run also looks up the heads it remembered, by their link numbers: a chain whose last
links were deleted, which no walk can see, is named by the position its head had.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
import structlog

from ledger.audit_chain import VENDOR_CHAIN
from ledger.store import EVENTS_TABLE
from replay.verify import Break, BreakKind, Verification, verify

AUDIT_FULL_WALK_EVERY = 24
"""Runs between two whole walks: daily at the hourly default. A whole walk reads every event
(about 50,000 a second); the runs between read only what was written since."""

HEADS_AT = (
    "SELECT h.chain, h.seq, e.hash, e.notification_id "  # noqa: S608
    "FROM unnest(%s::uuid[], %s::bigint[]) AS h(chain, seq) "
    f"LEFT JOIN {EVENTS_TABLE} e ON e.chain = h.chain AND e.chain_seq = h.seq"
)

log = structlog.get_logger(__name__)

Connect = Callable[[], psycopg.Connection[Any]]


@dataclass(frozen=True)
class KeptHead:
    """A chain's last link as a run verified it, with its log position."""

    seq: int
    hash: bytes
    position: int


class ChainWatch:
    """Runs the verify when told (`run`), remembers what it verified, and counts the breaks."""

    def __init__(self, connect: Connect, now: Callable[[], datetime]) -> None:
        self._connect = connect
        self._now = now
        self._lock = threading.Lock()
        self._verified: Verification | None = None
        self._heads: dict[UUID, KeptHead] = {}
        self._reported: set[tuple[int, UUID | None, BreakKind]] = set()
        self.runs = 0
        self.breaks_found = 0
        """Distinct breaks found since the process started (each counted and logged once)."""
        self.intact: bool | None = None
        """What the last run found; None before the first."""
        self.verified_position = 0
        self.last_run_at: datetime | None = None

    def run(self, *, whole: bool = False) -> Verification:
        """One verify: whole (the first run, every AUDIT_FULL_WALK_EVERY, or when told), else
        the events since the last; then the heads it remembered looked up again."""
        with self._lock, self._connect() as conn:
            whole = whole or self._verified is None or self.runs % AUDIT_FULL_WALK_EVERY == 0
            found = verify(conn, since=None if whole else self._verified)
            for lost in self._lost_heads(conn, found):
                found.breaks.append(lost)
                found.break_count += 1
            self._heads = self._positions(conn, found)
        self._verified = found
        self.runs += 1
        self.intact = found.intact
        self.verified_position = found.up_to
        self.last_run_at = self._now()
        self._report(found, whole)
        return found

    def _lost_heads(self, conn: psycopg.Connection[Any], found: Verification) -> list[Break]:
        """The links that were heads last time, if they are gone or no longer the same."""
        if not self._heads:
            return []
        chains = list(self._heads)
        rows = conn.execute(HEADS_AT, (chains, [self._heads[c].seq for c in chains])).fetchall()
        lost = []
        for chain, seq, stored, position in rows:
            kept = self._heads[chain]
            if stored is not None and (bytes(stored), position) == (kept.hash, kept.position):
                continue
            owner = "the vendor's chain" if chain == VENDOR_CHAIN else f"partner {chain}'s chain"
            what = "is gone" if stored is None else "was changed or moved"
            lost.append(
                Break(
                    kept.position,
                    chain,
                    BreakKind.MISSING if stored is None else BreakKind.ALTERED,
                    f"{owner}'s link {seq} at position {kept.position}, its last when verified "
                    f"up to position {self.verified_position}, {what}: rows were deleted or "
                    "rewritten",
                )
            )
        return lost

    def _positions(
        self, conn: psycopg.Connection[Any], found: Verification
    ) -> dict[UUID, KeptHead]:
        chains = list(found.heads)
        rows = conn.execute(HEADS_AT, (chains, [found.heads[c].seq for c in chains])).fetchall()
        return {
            chain: KeptHead(seq, found.heads[chain].hash, position)
            for chain, seq, _, position in rows
            if position is not None
        }

    def _report(self, found: Verification, whole: bool) -> None:
        new = [
            each
            for each in found.breaks
            if (each.position, each.chain, each.kind) not in self._reported
        ]
        for each in new:
            self._reported.add((each.position, each.chain, each.kind))
            log.error(
                "audit_chain_broken",
                position=each.position,
                partner_id=str(each.partner_id) if each.partner_id else None,
                chain=str(each.chain) if each.chain else None,
                kind=each.kind.value,
                message=each.message,
            )
        self.breaks_found += len(new)
        if found.intact:
            log.info(
                "audit_chains_verified",
                whole=whole,
                up_to_position=found.up_to,
                events=found.events,
                chains=len(found.heads),
            )
        elif not new:
            log.error("audit_chain_still_broken", summary=found.summary())

    def loop(self, stop: threading.Event, interval_s: float) -> None:
        """Run now, then every `interval_s` until stopped; a failed run is logged and the next
        one comes at its time (the database may be down: /readyz says so, not this)."""
        while not stop.is_set():
            try:
                self.run()
            except Exception:
                log.exception("audit_verify_failed")
            stop.wait(interval_s)
