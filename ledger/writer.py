"""The writer: runs commands one batch per transaction (group commit), each command atomic.

Callers submit commands from any thread and wait for their result. The first caller to find
no batch being written becomes the leader: it takes every command waiting at that moment
(waiting up to a millisecond for the callers of the last batch to send again), opens one
transaction, takes the events-table lock, and for each command in turn: replays the first
answer if its idempotency key is known (R-X5), or loads the aggregates it needs, lets it
decide, and collects its events. Then it inserts all the batch's events and logs all its
commands in one statement, writes the numbers issued (R-X3), the outbox and the inline
projections, and commits once; each caller is answered only after that commit. When its own
command is answered the leader hands over to the oldest caller still waiting, so a caller
alone pays no hand-over between threads.

Deciding under the lock means every decision sees the current state: the aggregate cache is
brought up to date at the start of each batch (aggregates another process wrote since are
evicted and reloaded), so a stale cache can never cause a lost or wrong write. A command
refused by the rules writes nothing; if it had already changed an aggregate in memory before
failing, that aggregate is evicted and reloaded from the store.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import psycopg
import structlog
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg.types.json import Jsonb

from domain.errors import BillingError
from ledger import store
from ledger.aggregate_cache import AggregateCache
from ledger.availability import DatabaseHealth, DatabaseUnavailable, connection_lost
from ledger.clock import Clock
from ledger.command_records import Command, CommandResult, InlineProjection, Lookup, Message
from ledger.errors import IdempotencyKeyReused
from ledger.fingerprints import is_same_command
from ledger.sealing import Sealer

# CommandResult (ledger/command_records.py) is named here again for the modules that still
# import it from the writer (ledger/*_operations.py, ledger/charging.py, api/routers/*).
__all__ = ["CommandResult", "UnitOfWork", "Writer"]

BATCH_MAX = 512
"""Commands per transaction: enough to amortise the lock and the commit's fsync."""
SNAPSHOT_EVERY = 200
"""Events between snapshots of the aggregates that live long (accounts, wallets, lines)."""
GATHER_S = 0.001
"""How long a batch waits for the callers of the previous one to send again: a millisecond
turns many small transactions (each with its own fsync) into one."""
GATHER_MEMORY = 16
"""Batches remembered to judge how many callers are sending."""
SUBMIT_TIMEOUT_S = 30.0
"""How long a caller waits for its command before it gives up (the command may still land)."""
HANDOVER_CHECK_S = 0.05
"""A waiting caller also looks this often whether nobody leads (a safety net: the leader
hands over explicitly)."""

WRITE_EVENTS_AND_LOG = (
    # One statement inserts the batch's events and logs its commands: each command's position
    # is its last event's (found among the rows just inserted, never by searching the table),
    # or the position it already had, or for a command without events the batch's last one.
    "WITH inserted AS ("
    f" INSERT INTO {store.EVENTS_TABLE} (originator_id, originator_version, topic, state)"
    " SELECT * FROM unnest(%(oid)b::uuid[], %(ver)b::bigint[], %(topic)b::text[],"
    " %(state)b::bytea[])"
    " RETURNING originator_id, originator_version, notification_id"
    "), logged AS ("
    " INSERT INTO command_log (key, command, fingerprint, response, position)"
    " SELECT u.key, u.command, u.fingerprint, u.response,"
    " coalesce(u.known, i.notification_id, (SELECT max(notification_id) FROM inserted), %(head)s)"
    " FROM unnest(%(key)b::text[], %(command)b::text[], %(fingerprint)b::text[],"
    " %(response)b::jsonb[], %(known)b::bigint[], %(last_oid)b::uuid[], %(last_ver)b::bigint[])"
    " AS u(key, command, fingerprint, response, known, last_oid, last_ver)"
    " LEFT JOIN inserted i ON i.originator_id = u.last_oid AND i.originator_version = u.last_ver"
    ")"
    " SELECT originator_id, originator_version, notification_id FROM inserted"
)
KNOWN_KEYS = (
    "SELECT key, command, fingerprint, response, position FROM command_log WHERE key = ANY(%s)"
)

T = TypeVar("T")
log = structlog.get_logger(__name__)


@dataclass
class _Envelope:
    command: Command
    key: str
    future: Future[CommandResult] = field(default_factory=Future)
    wake: threading.Event = field(default_factory=threading.Event)
    """Set when the command is answered, or when its caller is to lead next."""


@dataclass
class _Accepted:
    """A command that decided; its position is known once its events are inserted."""

    envelope: _Envelope
    aggregate_id: UUID | None
    data: dict[str, Any]
    events: list[tuple[UUID, int]]

    def response(self) -> dict[str, Any]:
        return CommandResult(self.aggregate_id, 0, self.data).response()


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
    keys: dict[str, tuple[tuple[str, str], CommandResult | None]] = field(default_factory=dict)
    """Each key's command name and fingerprint as recorded, and its first result if known."""
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
        health: DatabaseHealth | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        self._connect = connect
        self.health = health or DatabaseHealth()
        self.sealer = sealer
        self.context = context
        self.mapper = mapper
        self.clock = clock
        self.snapshot_types = snapshot_types
        self.inline = inline
        self.batch_max = batch_max
        self.cache = AggregateCache()
        self._waiting: deque[_Envelope] = deque()
        self._arrivals = threading.Condition()
        """Guards `_waiting`; notified whenever a command arrives."""
        self._leadership = threading.Lock()
        """Held by the caller writing a batch; the writer's connection and cache are its."""
        self._started = False
        self._pump: threading.Thread | None = None
        """Writes the batches of queued commands (`enqueue`); started with the first one."""
        self._recent: deque[int] = deque([1], maxlen=GATHER_MEMORY)
        self._conn: psycopg.Connection[Any] | None = None
        self.batches = 0
        self.commands = 0

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        self._started = True

    @property
    def running(self) -> bool:
        return self._started

    def stop(self) -> None:
        with self._leadership:  # let a batch being written finish
            self._started = False
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        with self._arrivals:
            self._arrivals.notify_all()  # the pump, idle, sees the stop
        if self._pump is not None and self._pump is not threading.current_thread():
            self._pump.join(timeout=SUBMIT_TIMEOUT_S)
            self._pump = None

    def submit(self, command: Command, key: str) -> CommandResult:
        """Run a command under an idempotency key and wait for its committed result.

        Leader and followers: a caller who finds no batch being written writes one itself,
        with every command waiting (its own among them); the others wait. When its own command
        is answered, the leader hands over to the oldest waiting caller. A caller alone never
        hands its command to another thread.
        """
        if not self._started:
            raise RuntimeError("the writer is not started")
        envelope = _Envelope(command, key)
        with self._arrivals:
            self._waiting.append(envelope)
            self._arrivals.notify_all()
        deadline = time.monotonic() + SUBMIT_TIMEOUT_S
        while not envelope.future.done():
            if self._leadership.acquire(blocking=False):
                try:
                    self._lead(envelope)
                finally:
                    self._leadership.release()
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the command was not written in time; it may still land")
            # Woken when answered, or when the leader hands over to this caller.
            envelope.wake.wait(min(remaining, HANDOVER_CHECK_S))
            envelope.wake.clear()
        return envelope.future.result()

    def enqueue(self, command: Command, key: str) -> Future[CommandResult]:
        """Queue a command under an idempotency key and return at once: its committed result
        (or its refusal) comes in the future.

        For callers that must not hold a thread while they wait, such as the HTTP edge's
        coroutines (`asyncio.wrap_future`). The writer's pump thread writes the batches of
        queued commands, together with those of any `submit` caller waiting beside them. The
        future is marked running at once: a caller that gives up (a timeout, a client gone)
        cancels only its own wait, never the command, which may still land (as with `submit`).
        """
        if not self._started:
            raise RuntimeError("the writer is not started")
        envelope = _Envelope(command, key)
        envelope.future.set_running_or_notify_cancel()
        with self._arrivals:
            self._waiting.append(envelope)
            if self._pump is None:
                self._pump = threading.Thread(
                    target=self._run_pump, name="writer-pump", daemon=True
                )
                self._pump.start()
            self._arrivals.notify_all()
        return envelope.future

    # --- writing batches ---------------------------------------------------------------

    def _run_pump(self) -> None:
        """Lead whenever commands wait and no caller leads, until the writer stops."""
        while True:
            with self._arrivals:
                while self._started and not self._waiting:
                    self._arrivals.wait()
                if not self._started:
                    return
            with self._leadership:
                if not self.running:  # stopped while this thread waited to lead
                    return
                try:
                    self._lead(until=lambda: not self._waiting)
                except Exception:  # never leave queued commands without a writer
                    log.exception("writer_pump_failed")

    def _lead(
        self, mine: _Envelope | None = None, *, until: Callable[[], bool] | None = None
    ) -> None:
        """Write batches until this caller's command is answered (or, for the pump, until
        `until` holds); then hand over to the oldest waiting caller."""
        done = until or (lambda: mine is not None and mine.future.done())
        while not done():
            # Expect as many commands as the busiest recent batch: callers split into groups
            # that take turns would otherwise settle into batches half as large.
            batch = self._gather(max(self._recent))
            if not batch:
                break
            self._write(batch)
            self._recent.append(len(batch))
        with self._arrivals:
            if self._waiting:
                self._waiting[0].wake.set()

    def _gather(self, expected: int) -> list[_Envelope]:
        """The next batch: every command waiting, and, when recent batches were larger, the
        callers they answered, who are about to send their next command (up to GATHER_S)."""
        deadline = time.monotonic() + GATHER_S
        with self._arrivals:
            while len(self._waiting) < min(expected, self.batch_max):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._arrivals.wait(remaining):
                    break
            count = min(len(self._waiting), self.batch_max)
            return [self._waiting.popleft() for _ in range(count)]

    def _write(self, envelopes: list[_Envelope]) -> None:
        # A connection that sat idle through a database restart fails at its first statement;
        # the batch then goes once more on a new one, so the first commands after an outage
        # are written (safe in any case: a command that did land replays its answer, R-X5).
        reused = self._conn is not None and not self._conn.closed
        try:
            answers = self._transaction(envelopes)
        except Exception as error:  # the transaction failed as a whole: nothing was written
            # ...or, if the connection broke at the commit, maybe all of it: the keys tell, as
            # a command written again under its key replays its first answer (R-X5).
            lost = connection_lost(error)
            log.error("batch_failed", commands=len(envelopes), error=repr(error))
            self.cache.clear()
            for projection in self.inline:
                projection.settle(committed=False)
                projection.forget(None)
            if self._conn is not None and (self._conn.broken or lost):
                self._drop_connection()
            if lost and reused:
                self._write(envelopes)  # on a new connection (and never reused: no loop)
                return
            if lost:
                self.health.failed(error)
                unavailable = DatabaseUnavailable(f"The database did not answer: {error}")
                unavailable.__cause__ = error
                error = unavailable
            elif len(envelopes) > 1:
                # One command's events may be what the database refused: write each alone, so
                # that only its own caller hears of it.
                for envelope in envelopes:
                    self._write([envelope])
                return
            for envelope in envelopes:
                envelope.future.set_exception(error)
                envelope.wake.set()
            return
        self.health.answered()
        self.batches += 1
        self.commands += len(envelopes)
        for envelope, answer in answers:
            if isinstance(answer, BaseException):
                envelope.future.set_exception(answer)
            else:
                envelope.future.set_result(answer)
            envelope.wake.set()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _transaction(
        self, envelopes: list[_Envelope]
    ) -> list[tuple[_Envelope, CommandResult | BaseException]]:
        conn = self._connection()
        # Pipeline mode: statements whose results are not needed at once travel together, so
        # a batch costs three round trips (lock and read, insert, write the rest and commit).
        with conn.pipeline(), conn.transaction():
            conn.execute(store.LOCK_EVENTS)
            head_cursor = conn.execute(store.HEAD)
            keys_cursor = conn.execute(KNOWN_KEYS, ([envelope.key for envelope in envelopes],))
            head_row = head_cursor.fetchone()
            head = int(head_row[0]) if head_row else 0
            self._catch_up(conn, head)
            batch = _Batch(conn, head)
            self._load_keys(batch, keys_cursor.fetchall())
            for envelope in envelopes:
                self._decide(batch, envelope)
            inserted = self._finish(batch)
        # Committed: the inserted events' positions arrived with the commit's answer.
        for projection in self.inline:
            projection.settle(committed=True)
        if inserted is not None:
            batch.positions.update(store.positions(inserted.fetchall()))
        if batch.positions:
            self.cache.seen = max(batch.positions.values())
        return self._answers(batch)

    def _catch_up(self, conn: psycopg.Connection[Any], head: int) -> None:
        """Evict every cached aggregate another process wrote since this one last looked."""
        if head > self.cache.seen:
            written = conn.execute(store.WRITTEN_SINCE, (self.cache.seen, head)).fetchall()
            ids = [UUID(str(aggregate_id)) for (aggregate_id,) in written]
            for aggregate_id in ids:
                self.cache.evict(aggregate_id)
            for projection in self.inline:
                projection.forget(ids)
        self.cache.seen = head

    def _load_keys(self, batch: _Batch, rows: list[tuple[Any, ...]]) -> None:
        for key, command, fingerprint, response, position in rows:
            aggregate_id = response.pop("aggregate_id", None)
            result = CommandResult(
                UUID(aggregate_id) if aggregate_id else None,
                int(position),
                response,
                replayed=True,
            )
            batch.keys[key] = ((command, fingerprint), result)

    def _decide(self, batch: _Batch, envelope: _Envelope) -> None:
        command = envelope.command
        known = batch.keys.get(envelope.key)
        if known is not None:
            (first_name, first_fingerprint), first_result = known
            if not is_same_command(command, first_name, first_fingerprint):
                refusal = IdempotencyKeyReused(
                    "This idempotency key was already used for a different command."
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
        batch.keys[envelope.key] = ((command.command_name, command.fingerprint()), None)
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
        """The last number a series issued (0 for a new one). Only read here: a command that
        draws a number and is then refused must leave no row behind; `_finish` writes the
        series the batch's accepted commands moved. The batch holds the events table's lock,
        so no other writer draws from the series meanwhile."""
        if series not in batch.numbers:
            # Read only: a series first drawn by a command that is then refused gets no row
            # (a refused command writes nothing). The events-table lock this batch holds keeps
            # every writer, in any process, from drawing the same number meanwhile.
            row = batch.conn.execute(
                "SELECT last FROM number_series WHERE series = %s FOR UPDATE", (series,)
            ).fetchone()
            batch.numbers_loaded[series] = batch.numbers[series] = int(row[0]) if row else 0
        return batch.numbers[series]

    def flush(self, batch: _Batch) -> None:
        if batch.pending:
            batch.positions.update(store.insert_events(batch.conn, batch.pending))
            batch.pending = []

    def _finish(self, batch: _Batch) -> psycopg.Cursor[Any] | None:
        """Queue every write of the batch (no waiting: they travel with the commit)."""
        conn = batch.conn
        lookup = self._lookup(batch)
        for projection in self.inline:
            projection.apply(conn, batch.events, lookup)
        accepted = [answer for _, answer in batch.answers if isinstance(answer, _Accepted)]
        oid, ver, topic, state = store.columns(batch.pending)
        last = [answer.events[-1] if answer.events else (None, None) for answer in accepted]
        inserted = conn.cursor()
        inserted.execute(
            WRITE_EVENTS_AND_LOG,
            {
                "oid": oid,
                "ver": ver,
                "topic": topic,
                "state": state,
                "head": max(batch.positions.values(), default=batch.head),
                "key": [answer.envelope.key for answer in accepted],
                "command": [answer.envelope.command.command_name for answer in accepted],
                "fingerprint": [answer.envelope.command.fingerprint() for answer in accepted],
                "response": [json.dumps(answer.response()) for answer in accepted],
                "known": [batch.positions.get(key) if key[0] else None for key in last],
                "last_oid": [key[0] for key in last],
                "last_ver": [key[1] for key in last],
            },
        )
        batch.pending = []
        with conn.cursor() as cur:
            changed = [
                (series, last_number)
                for series, last_number in batch.numbers.items()
                if batch.numbers_loaded[series] != last_number
            ]
            if changed:
                cur.executemany(
                    "INSERT INTO number_series (series, last) VALUES (%s, %s) "
                    "ON CONFLICT (series) DO UPDATE SET last = EXCLUDED.last",
                    changed,
                )
            if batch.messages:
                now = self.clock.now()
                cur.executemany(
                    "INSERT INTO outbox (dedup_key, kind, recipient, subject, body, partner_id, "
                    "details, created_at, next_attempt_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (dedup_key) DO NOTHING",
                    [
                        (
                            *self._outbox_texts(m),
                            m.partner_id,
                            Jsonb(dict(m.details)),
                            now,
                            now,
                        )
                        for m in batch.messages
                    ],
                )
        versions: dict[UUID, int] = {}
        for event in batch.events:
            versions.setdefault(event.originator_id, event.originator_version)
        snapshots = [
            store.take_snapshot(self.mapper, aggregate)
            for aggregate_id, first in versions.items()
            if isinstance(aggregate := batch.touched.get(aggregate_id), self.snapshot_types)
            and aggregate.version // SNAPSHOT_EVERY > (first - 1) // SNAPSHOT_EVERY
        ]
        store.insert_snapshots(conn, snapshots)
        if batch.events:
            conn.execute(store.NOTIFY_EVENTS)
        return inserted

    def _outbox_texts(self, message: Message) -> tuple[str, str, str, str, str]:
        """An e-mail's dedup key, kind, recipient, subject and body as stored: with a cipher
        key the texts are sealed and the recipient in the key is a keyed digest, which is as
        stable as the address, so a retried command still queues the e-mail once."""
        m, sealer = message, self.sealer
        if sealer is None:
            return m.dedup_key, m.kind, m.recipient, m.subject, m.body
        dedup_key = m.dedup_key.replace(m.recipient, sealer.digest(m.recipient))
        return (
            dedup_key,
            m.kind,
            sealer.seal_text(m.recipient),
            sealer.seal_text(m.subject),
            sealer.seal_text(m.body),
        )

    def _answers(self, batch: _Batch) -> list[tuple[_Envelope, CommandResult | BaseException]]:
        head = max(batch.positions.values(), default=batch.head)
        answers: list[tuple[_Envelope, CommandResult | BaseException]] = []
        results: dict[str, CommandResult] = {}
        for envelope, answer in batch.answers:
            if isinstance(answer, _Accepted):
                position = max((batch.positions[key] for key in answer.events), default=head)
                result = CommandResult(answer.aggregate_id, position, answer.data)
                results[envelope.key] = result
                answers.append((envelope, result))
            elif isinstance(answer, _Repeat):
                first = results[answer.key]
                answers.append((envelope, CommandResult(**{**vars(first), "replayed": True})))
            else:
                answers.append((envelope, answer))
        return answers

    def _lookup(self, batch: _Batch) -> Lookup:
        def lookup(aggregate_id: UUID) -> Any:
            return batch.touched.get(aggregate_id) or self.load(batch, aggregate_id)

        return lookup


@dataclass(frozen=True)
class _Repeat:
    """The same command under the same key twice in one batch: answer the first's result."""

    key: str
