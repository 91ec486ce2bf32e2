"""The writer: runs commands one batch per transaction (group commit), each command atomic.

Callers submit commands from any thread and wait for their result. One writer thread takes
every command waiting at that moment as one batch, opens one transaction, takes the events
table lock, and for each command in turn: replays the first answer if its idempotency key is
known (R-X5), or loads the aggregates it needs, lets it decide, and collects its events.
Then it inserts all the batch's events in one statement, with the command log, the numbers
issued (R-X3), the outbox and the inline projections, and commits once. Each caller is
answered only after that commit.

Deciding under the lock means every decision sees the current state: the aggregate cache is
brought up to date at the start of each batch (aggregates another process wrote since are
evicted and reloaded), so a stale cache can never cause a lost or wrong write. A command
refused by the rules writes nothing; if it had already changed an aggregate in memory before
failing, that aggregate is evicted and reloaded from the store.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID

import psycopg
import structlog
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent

from domain.errors import BillingError
from ledger import store
from ledger.clock import Clock
from ledger.errors import IdempotencyKeyReused

BATCH_MAX = 512
"""Commands per transaction: enough to amortise the lock and the commit's fsync."""
CACHE_MAX = 100_000
"""Aggregates kept in memory between commands (least recently used are dropped)."""
SNAPSHOT_EVERY = 200
"""Events between snapshots of the aggregates that live long (accounts, wallets, lines)."""
SUBMIT_TIMEOUT_S = 30.0
"""How long a caller waits for its command before it gives up (the command may still land)."""

T = TypeVar("T")
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the aggregate it created or changed, its log position, its answer."""

    aggregate_id: UUID | None
    position: int
    data: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False
    """True when this is the first answer given again for a repeated idempotency key."""

    def response(self) -> dict[str, Any]:
        aggregate_id = None if self.aggregate_id is None else str(self.aggregate_id)
        return {"aggregate_id": aggregate_id, **self.data}


class Command(Protocol):
    """A command: decides through the unit of work, returns its aggregate id and answer data."""

    command_name: ClassVar[str]

    def handle(self, uow: UnitOfWork) -> tuple[UUID | None, dict[str, Any]]: ...

    def fingerprint(self) -> str: ...


@dataclass(frozen=True)
class Message:
    """An e-mail to send because of what a command did; the dedup key makes sending safe."""

    dedup_key: str
    kind: str
    recipient: str
    subject: str
    body: str


Lookup = Callable[[UUID], Any]


class InlineProjection(Protocol):
    """A table kept in step with the events, in the same transaction (schedule, indexes)."""

    def apply(self, conn: psycopg.Connection[Any], events: list[Any], lookup: Lookup) -> None: ...


@dataclass
class _Envelope:
    command: Command
    key: str
    future: Future[CommandResult] = field(default_factory=Future)


@dataclass
class _Accepted:
    """A command that decided; its position is known once its events are inserted."""

    envelope: _Envelope
    aggregate_id: UUID | None
    data: dict[str, Any]
    events: list[tuple[UUID, int]]


class AggregateCache:
    """The aggregates the writer holds in memory, least recently used first out."""

    def __init__(self, maxsize: int = CACHE_MAX) -> None:
        self._items: OrderedDict[UUID, Any] = OrderedDict()
        self.maxsize = maxsize
        self.seen = 0
        """The log position up to which every cached aggregate is known to be current."""

    def __len__(self) -> int:
        return len(self._items)

    def get(self, aggregate_id: UUID) -> Any | None:
        item = self._items.get(aggregate_id)
        if item is not None:
            self._items.move_to_end(aggregate_id)
        return item

    def put(self, aggregate: Any) -> None:
        self._items[aggregate.id] = aggregate
        self._items.move_to_end(aggregate.id)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def evict(self, aggregate_id: UUID) -> None:
        self._items.pop(aggregate_id, None)

    def clear(self) -> None:
        self._items.clear()
        self.seen = 0


@dataclass
class _Batch:
    """What one transaction is writing."""

    conn: psycopg.Connection[Any]
    head: int
    pending: list[StoredEvent] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    positions: dict[tuple[UUID, int], int] = field(default_factory=dict)
    numbers_loaded: dict[str, int] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    keys: dict[str, tuple[str, CommandResult | None]] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    touched: dict[UUID, Any] = field(default_factory=dict)
    answers: list[tuple[_Envelope, CommandResult | BaseException | _Accepted | _Repeat]] = field(
        default_factory=list
    )


class UnitOfWork:
    """One command's view of the store: aggregates, numbers, outgoing messages."""

    def __init__(self, writer: Writer, batch: _Batch, now: datetime) -> None:
        self._writer = writer
        self._batch = batch
        self.now = now
        self.context: Any = writer.context
        """What commands need besides the store: the billing policy, the catalogue, links."""
        self.touched: dict[UUID, Any] = {}
        self.numbers: dict[str, int] = {}
        self.messages: list[Message] = []

    def get(self, cls: type[T], aggregate_id: UUID) -> T | None:
        """The aggregate as it is now, or None if it does not exist (or is another type)."""
        aggregate = self.touched.get(aggregate_id)
        if aggregate is None:
            aggregate = self._writer.load(self._batch, aggregate_id)
        if not isinstance(aggregate, cls):
            return None
        self.touched[aggregate_id] = aggregate
        return aggregate

    def add(self, aggregate: Aggregate) -> None:
        """A new aggregate this command created."""
        self.touched[aggregate.id] = aggregate

    def next_number(self, series: str) -> int:
        """The next number in a series, without gaps: it is used only if this command succeeds."""
        last = self._writer.last_number(self._batch, series) + self.numbers.get(series, 0)
        self.numbers[series] = self.numbers.get(series, 0) + 1
        return last + 1

    def send(self, message: Message) -> None:
        """E-mail this once the command commits (at least once, de-duplicated by its key)."""
        self.messages.append(message)

    def collect(self) -> list[Any]:
        events: list[Any] = []
        for aggregate in self.touched.values():
            events.extend(aggregate.collect_events())
        return events

    def dirty(self) -> bool:
        return any(aggregate.pending_events for aggregate in self.touched.values())


class Writer:
    """The one thread that writes events; see the module docstring."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        mapper: Mapper[UUID],
        clock: Clock,
        *,
        snapshot_types: tuple[type[Any], ...] = (),
        inline: tuple[InlineProjection, ...] = (),
        batch_max: int = BATCH_MAX,
        context: Any = None,
    ) -> None:
        self._connect = connect
        self.context = context
        self.mapper = mapper
        self.clock = clock
        self.snapshot_types = snapshot_types
        self.inline = inline
        self.batch_max = batch_max
        self.cache = AggregateCache()
        self._queue: queue.SimpleQueue[_Envelope | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection[Any] | None = None
        self.batches = 0
        self.commands = 0

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(SUBMIT_TIMEOUT_S)
            self._thread = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def submit(self, command: Command, key: str) -> CommandResult:
        """Run a command under an idempotency key and wait for its committed result."""
        if self._thread is None:
            raise RuntimeError("the writer is not started")
        envelope = _Envelope(command, key)
        self._queue.put(envelope)
        return envelope.future.result(timeout=SUBMIT_TIMEOUT_S)

    # --- the loop ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.batch_max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, envelopes: list[_Envelope]) -> None:
        try:
            answers = self._transaction(envelopes)
        except Exception as error:  # the transaction failed as a whole: nothing was written
            log.error("batch_failed", commands=len(envelopes), error=repr(error))
            self.cache.clear()
            if self._conn is not None and self._conn.broken:
                self._conn = None
            for envelope in envelopes:
                envelope.future.set_exception(error)
            return
        self.batches += 1
        self.commands += len(envelopes)
        for envelope, answer in answers:
            if isinstance(answer, BaseException):
                envelope.future.set_exception(answer)
            else:
                envelope.future.set_result(answer)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _transaction(
        self, envelopes: list[_Envelope]
    ) -> list[tuple[_Envelope, CommandResult | BaseException]]:
        conn = self._connection()
        with conn.transaction():
            conn.execute(store.LOCK_EVENTS)
            head_row = conn.execute(store.HEAD).fetchone()
            head = int(head_row[0]) if head_row else 0
            self._catch_up(conn, head)
            batch = _Batch(conn, head)
            self._load_keys(batch, [envelope.key for envelope in envelopes])
            for envelope in envelopes:
                self._decide(batch, envelope)
            self.flush(batch)
            answers = self._finish(batch)
        if batch.positions:
            self.cache.seen = max(batch.positions.values())
        return answers

    def _catch_up(self, conn: psycopg.Connection[Any], head: int) -> None:
        """Evict every cached aggregate another process wrote since this one last looked."""
        if head > self.cache.seen:
            written = conn.execute(store.WRITTEN_SINCE, (self.cache.seen, head)).fetchall()
            for (aggregate_id,) in written:
                self.cache.evict(UUID(str(aggregate_id)))
        self.cache.seen = head

    def _load_keys(self, batch: _Batch, keys: list[str]) -> None:
        rows = batch.conn.execute(
            "SELECT key, command, fingerprint, response, position "
            "FROM command_log WHERE key = ANY(%s)",
            (keys,),
        ).fetchall()
        for key, command, fingerprint, response, position in rows:
            aggregate_id = response.pop("aggregate_id", None)
            result = CommandResult(
                UUID(aggregate_id) if aggregate_id else None,
                int(position),
                response,
                replayed=True,
            )
            batch.keys[key] = (f"{command}:{fingerprint}", result)

    def _decide(self, batch: _Batch, envelope: _Envelope) -> None:
        command = envelope.command
        identity = f"{command.command_name}:{command.fingerprint()}"
        known = batch.keys.get(envelope.key)
        if known is not None:
            first_identity, first_result = known
            if first_identity != identity:
                refusal = IdempotencyKeyReused(
                    "This idempotency key was already used for a different command.",
                    key=envelope.key,
                )
                batch.answers.append((envelope, refusal))
            else:
                # Replayed from the log, or the same command twice in this batch.
                batch.answers.append((envelope, first_result or _Repeat(envelope.key)))
            return
        uow = UnitOfWork(self, batch, self.clock.now())
        try:
            aggregate_id, data = command.handle(uow)
            events = uow.collect()
        except BaseException as error:
            if uow.dirty():
                # It changed aggregates in memory before it failed: forget them; the store
                # (with this batch's earlier events, flushed before any reload) is the truth.
                for touched_id in uow.touched:
                    self.cache.evict(touched_id)
                    batch.touched.pop(touched_id, None)
            if not isinstance(error, BillingError):
                log.exception("command_failed", command=command.command_name)
            batch.answers.append((envelope, error))
            return
        for series, count in uow.numbers.items():
            batch.numbers[series] += count
        batch.touched.update(uow.touched)
        for aggregate in uow.touched.values():
            self.cache.put(aggregate)
        batch.events.extend(events)
        batch.pending.extend(self.mapper.to_stored_event(event) for event in events)
        batch.messages.extend(uow.messages)
        batch.keys[envelope.key] = (identity, None)
        keys = [(event.originator_id, event.originator_version) for event in events]
        batch.answers.append((envelope, _Accepted(envelope, aggregate_id, data, keys)))

    def load(self, batch: _Batch, aggregate_id: UUID) -> Any | None:
        """An aggregate from the cache, or from the store (after this batch's own events)."""
        cached = self.cache.get(aggregate_id)
        if cached is not None:
            return cached
        self.flush(batch)
        aggregate = store.load(
            batch.conn, self.mapper, aggregate_id, snapshots=bool(self.snapshot_types)
        )
        if aggregate is not None:
            self.cache.put(aggregate)
        return aggregate

    def last_number(self, batch: _Batch, series: str) -> int:
        if series not in batch.numbers:
            row = batch.conn.execute(
                "INSERT INTO number_series (series, last) VALUES (%s, 0) "
                "ON CONFLICT (series) DO UPDATE SET last = number_series.last RETURNING last",
                (series,),
            ).fetchone()
            batch.numbers_loaded[series] = batch.numbers[series] = int(row[0]) if row else 0
        return batch.numbers[series]

    def flush(self, batch: _Batch) -> None:
        if batch.pending:
            batch.positions.update(store.insert_events(batch.conn, batch.pending))
            batch.pending = []

    def _finish(self, batch: _Batch) -> list[tuple[_Envelope, CommandResult | BaseException]]:
        conn = batch.conn
        lookup = self._lookup(batch)
        for projection in self.inline:
            projection.apply(conn, batch.events, lookup)
        self.flush(batch)
        head = max(batch.positions.values(), default=batch.head)
        answers: list[tuple[_Envelope, CommandResult | BaseException]] = []
        results: dict[str, CommandResult] = {}
        log_rows = []
        for envelope, answer in batch.answers:
            if isinstance(answer, _Accepted):
                position = max((batch.positions[key] for key in answer.events), default=head)
                result = CommandResult(answer.aggregate_id, position, answer.data)
                results[envelope.key] = result
                log_rows.append(
                    (
                        envelope.key,
                        envelope.command.command_name,
                        envelope.command.fingerprint(),
                        json.dumps(result.response()),
                        position,
                    )
                )
                answers.append((envelope, result))
            elif isinstance(answer, _Repeat):
                first = results[answer.key]
                answers.append((envelope, CommandResult(**{**vars(first), "replayed": True})))
            else:
                answers.append((envelope, answer))
        with conn.cursor() as cur:
            if log_rows:
                cur.executemany(
                    "INSERT INTO command_log (key, command, fingerprint, response, position) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    log_rows,
                )
            changed = [
                (last, series)
                for series, last in batch.numbers.items()
                if batch.numbers_loaded[series] != last
            ]
            if changed:
                cur.executemany("UPDATE number_series SET last = %s WHERE series = %s", changed)
            if batch.messages:
                cur.executemany(
                    "INSERT INTO outbox (dedup_key, kind, recipient, subject, body) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (dedup_key) DO NOTHING",
                    [(m.dedup_key, m.kind, m.recipient, m.subject, m.body) for m in batch.messages],
                )
        snapshots = [
            store.take_snapshot(self.mapper, aggregate)
            for aggregate in batch.touched.values()
            if isinstance(aggregate, self.snapshot_types) and _crossed(aggregate, batch.events)
        ]
        store.insert_snapshots(conn, snapshots)
        if batch.positions:
            conn.execute(store.NOTIFY_EVENTS)
        return answers

    def _lookup(self, batch: _Batch) -> Lookup:
        def lookup(aggregate_id: UUID) -> Any:
            return batch.touched.get(aggregate_id) or self.load(batch, aggregate_id)

        return lookup


@dataclass(frozen=True)
class _Repeat:
    """The same command under the same key twice in one batch: answer the first's result."""

    key: str


def _crossed(aggregate: Any, events: list[Any]) -> bool:
    """Whether this batch took the aggregate across a multiple of SNAPSHOT_EVERY events."""
    versions = [e.originator_version for e in events if e.originator_id == aggregate.id]
    if not versions:
        return False
    before = min(versions) - 1
    return bool(aggregate.version // SNAPSHOT_EVERY > before // SNAPSHOT_EVERY)


def fingerprint_of(values: dict[str, Any]) -> str:
    """A stable digest of a command's fields, to tell a repeat from a reuse of its key."""
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
