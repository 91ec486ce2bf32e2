"""One batch of commands inside its transaction: the commands queued for it, what each one
decided, and what the batch will write; the batch reads aggregates and number series for the
units of work decided in it (ledger/unit_of_work.py)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent

from ledger import store
from ledger.aggregate_cache import AggregateCache
from ledger.audit_chain import NEW_CHAIN, Cause, Head, current_cause, instant_text, link_hash
from ledger.command_records import CommandResult, Lookup, Message
from ledger.unit_of_work import Command


@dataclass(eq=False, slots=True)
class QueuedCommand:
    """A command waiting to be written under its key (how its caller is answered: below)."""

    command: Command
    key: str
    cause: Cause = field(default_factory=current_cause)
    """What caused it, taken from its caller's context when it is queued (ledger/audit_chain)."""


class Wake:
    """Wakes one waiting thread: a lock held until it is set, which the waiter takes back.
    Cheaper than `threading.Event` (whose wait allocates a lock and whose set notifies under a
    condition), and a batch wakes each of its callers."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        with contextlib.suppress(RuntimeError):  # already set, not yet taken
            self._lock.release()

    def wait(self, timeout: float) -> bool:
        """Whether it was set (then it is cleared) within `timeout` seconds."""
        return self._lock.acquire(timeout=timeout)


@dataclass(eq=False, slots=True)
class WaitingCommand(QueuedCommand):
    """A command whose caller's thread waits for it (`Writer.submit`)."""

    answer: CommandResult | BaseException | None = None
    """What the caller is told, once the batch is over."""
    wake: Wake = field(default_factory=Wake)
    """Set when the command is answered, or when its caller is to lead next."""


@dataclass(eq=False, slots=True)
class AwaitedCommand(QueuedCommand):
    """A command a coroutine awaits (`Writer.enqueue`): its `waiter` belongs to the caller's
    event loop and is settled there, with the other waiters of its batch on that loop, by one
    call from the thread that wrote the batch (ledger/writer.py, `settle_on_loop`)."""

    loop: asyncio.AbstractEventLoop = field(kw_only=True)
    waiter: asyncio.Future[CommandResult] = field(kw_only=True)


@dataclass(frozen=True)
class PendingEvent:
    """An event decided, with what its row records besides its stored bytes."""

    stored: StoredEvent
    chain: UUID
    recorded_at: datetime
    cause: Cause


@dataclass
class AcceptedCommand:
    """A command that decided; its position is known once its events are inserted."""

    queued: QueuedCommand
    aggregate_id: UUID | None
    data: dict[str, Any]
    events: list[tuple[UUID, int]]
    """Its events' (aggregate id, version), to find their positions once inserted."""

    def response(self) -> dict[str, Any]:
        return CommandResult(self.aggregate_id, 0, self.data).response()


@dataclass(frozen=True)
class RepeatedCommand:
    """The same command under the same key twice in one batch: answer the first's result."""

    key: str


Outcome = CommandResult | BaseException | AcceptedCommand | RepeatedCommand
"""What deciding a command came to: a replayed answer, a refusal, accepted, or a repeat."""
Answer = tuple[QueuedCommand, CommandResult | BaseException]
"""A queued command and what its caller is told once the batch is over."""


@dataclass
class Batch:
    """What one transaction is writing, and its reads of the store under the events lock."""

    conn: psycopg.Connection[Any]
    head: int
    """The log's last position when the batch took the lock."""
    cache: AggregateCache
    mapper: Mapper[UUID]
    snapshots: bool
    """Whether aggregates may be loaded from a snapshot (some types are snapshotted)."""
    pending: list[PendingEvent] = field(default_factory=list)
    """Events decided but not yet inserted."""
    heads: dict[UUID, Head] = field(default_factory=dict)
    """The chains this batch links to, with the links it added (the cache's after commit)."""
    linking: bool = True
    """Off only to measure what the chains cost (Writer.linking)."""
    events: list[Any] = field(default_factory=list)
    positions: dict[tuple[UUID, int], int] = field(default_factory=dict)
    numbers_loaded: dict[str, int] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    keys: dict[str, tuple[tuple[str, str], CommandResult | None]] = field(default_factory=dict)
    """Each key's command name and fingerprint as recorded, and its first result if known."""
    messages: list[Message] = field(default_factory=list)
    touched: dict[UUID, Any] = field(default_factory=dict)
    outcomes: list[tuple[QueuedCommand, Outcome]] = field(default_factory=list)

    def load(self, aggregate_id: UUID) -> Any | None:
        """An aggregate from the cache, or from the store (after this batch's own events)."""
        cached = self.cache.get(aggregate_id)
        if cached is not None:
            return cached
        if self.cache.is_absent(aggregate_id):
            # Not in the store when last looked for, and no process wrote it since (the batch
            # holds the lock; the catch-up evicted what others wrote): only this batch's
            # commands can have made it, and what they made is among `touched`.
            return self.touched.get(aggregate_id)
        self.flush()
        aggregate = store.load(self.conn, self.mapper, aggregate_id, snapshots=self.snapshots)
        if aggregate is not None:
            self.cache.put(aggregate)
        else:
            self.cache.put_absent(aggregate_id)
        return aggregate

    def last_number(self, series: str) -> int:
        """The last number a series issued (0 for a new one). Only read here: a command that
        draws a number and is then refused must leave no row behind; the batch's writes
        (ledger/batch_writes.py) store the series its accepted commands moved. The batch holds
        the events table's lock, so no other writer draws from the series meanwhile."""
        if series not in self.numbers:
            # Read only: a series first drawn by a command that is then refused gets no row
            # (a refused command writes nothing). The events-table lock this batch holds keeps
            # every writer, in any process, from drawing the same number meanwhile.
            row = self.conn.execute(
                "SELECT last FROM number_series WHERE series = %s FOR UPDATE", (series,)
            ).fetchone()
            self.numbers_loaded[series] = self.numbers[series] = int(row[0]) if row else 0
        return self.numbers[series]

    def flush(self) -> None:
        """Insert the events decided so far, so that the store shows them to a reload."""
        if self.pending:
            self.conn.execute(store.INSERT_CHAINED, self.chained())

    def chained(self) -> tuple[list[Any], ...]:
        """The pending events as the columns of their rows, each given its log position and
        linked to its chain (ledger/audit_chain.py); the pending list is emptied."""
        if self.linking:
            opened = {event.chain for event in self.pending if _opens_its_chain(event)}
            self._load_heads({event.chain for event in self.pending} - opened)
        rows: tuple[list[Any], ...] = tuple([] for _ in range(10))
        position = max(self.positions.values(), default=self.head)
        instants: dict[datetime, bytes] = {}  # a command's events share theirs
        for event in self.pending:
            stored, chain = event.stored, event.chain
            oid = stored.originator_id
            originator_id = oid if isinstance(oid, UUID) else UUID(oid)
            position += 1
            self.positions[(originator_id, stored.originator_version)] = position
            cause = event.cause.hashed
            link: Head | None = None
            if self.linking:
                recorded = instants.get(event.recorded_at)
                if recorded is None:
                    recorded = instants[event.recorded_at] = instant_text(
                        event.recorded_at
                    ).encode()
                head = self.heads.get(chain, NEW_CHAIN)
                link = Head(
                    head.seq + 1,
                    link_hash(
                        head.hash,
                        position,
                        chain,
                        head.seq + 1,
                        originator_id,
                        stored.originator_version,
                        stored.topic,
                        stored.state,
                        recorded,
                        cause,
                    ),
                )
                self.heads[chain] = link
            for column, value in zip(
                rows,
                (
                    position,
                    originator_id,
                    stored.originator_version,
                    stored.topic,
                    stored.state,
                    chain if link else None,
                    link.seq if link else None,
                    event.recorded_at,
                    cause.decode(),
                    link.hash if link else None,
                ),
                strict=True,
            ):
                column.append(value)
        self.pending = []
        return rows

    def _load_heads(self, chains: set[UUID]) -> None:
        """The last link of each chain not yet known to the batch: from the writer's cache, or
        (its first time since the writer started or since another process wrote to it) from the
        store."""
        missing = []
        for chain in chains - self.heads.keys():
            cached = self.cache.heads.get(chain)
            if cached is None:
                missing.append(chain)
            else:
                self.heads[chain] = cached
        if missing:
            for chain, seq, hash_ in self.conn.execute(store.CHAIN_HEADS, (missing,)).fetchall():
                key = chain if isinstance(chain, UUID) else UUID(str(chain))
                self.heads[key] = NEW_CHAIN if seq is None else Head(int(seq), bytes(hash_))

    def lookup(self) -> Lookup:
        """Aggregates as this batch leaves them, for the inline projections."""

        def aggregate(aggregate_id: UUID) -> Any:
            return self.touched.get(aggregate_id) or self.load(aggregate_id)

        return aggregate


def _opens_its_chain(event: PendingEvent) -> bool:
    """Whether the event is a partner account's first, which opens the partner's chain: no
    need to look for the chain's head (there is none; the unique (chain, chain_seq) index
    refuses the batch, rather than fork a chain, were there one)."""
    stored = event.stored
    return stored.originator_version == 1 and str(stored.originator_id) == str(event.chain)
