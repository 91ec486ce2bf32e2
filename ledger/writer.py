"""The writer: runs commands one batch per transaction (group commit), each command atomic.

Callers submit commands from any thread and wait for their result, or queue them and are
answered through a future of their event loop (`enqueue`, for coroutines that hold no thread;
a batch's answers reach each loop in one call). The first caller to
find no batch being written becomes the leader: it takes every command waiting at that moment
(waiting up to a millisecond for the callers of the last batch to send again) and writes them
in one transaction (ledger/batch_transaction.py: each command decides under the events-table
lock through its unit of work, ledger/unit_of_work.py; ledger/batch_writes.py writes the
events, the command log, the numbers issued (R-X3), the outbox and the inline projections,
and the batch commits once). Each caller is answered only after that commit. When its own
command is answered the leader hands over to the oldest thread still waiting, so a caller
alone pays no hand-over between threads; queued commands with no caller to lead them are
written by the writer's pump thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import Mapper

from ledger.aggregate_cache import AggregateCache
from ledger.availability import DatabaseHealth, DatabaseUnavailable, connection_lost
from ledger.batch import Answer, AwaitedCommand, QueuedCommand, WaitingCommand
from ledger.batch_transaction import BatchTransaction
from ledger.clock import Clock
from ledger.command_records import CommandResult, InlineProjection
from ledger.sealing import Sealer
from ledger.unit_of_work import Command

BATCH_MAX = 512
"""Commands per transaction: enough to amortise the lock and the commit's fsync."""
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

log = structlog.get_logger(__name__)


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
        self.linking = True
        """Whether events are linked into their audit chains (ledger/audit_chain.py). Always,
        but for bench/commands.py, which turns it off to measure what the chain costs: a store
        written without it fails its verification."""
        self.context = context
        self.mapper = mapper
        self.clock = clock
        self.snapshot_types = snapshot_types
        self.inline = inline
        self.batch_max = batch_max
        self.cache = AggregateCache()
        self._waiting: deque[QueuedCommand] = deque()
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
        queued = WaitingCommand(command, key)
        with self._arrivals:
            self._waiting.append(queued)
            self._arrivals.notify_all()
        deadline = time.monotonic() + SUBMIT_TIMEOUT_S
        while queued.answer is None:
            if self._leadership.acquire(blocking=False):
                try:
                    self._lead(queued)
                finally:
                    self._leadership.release()
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the command was not written in time; it may still land")
            # Woken when answered, or when the leader hands over to this caller.
            queued.wake.wait(min(remaining, HANDOVER_CHECK_S))
        if isinstance(queued.answer, BaseException):
            raise queued.answer
        return queued.answer

    def enqueue(self, command: Command, key: str) -> asyncio.Future[CommandResult]:
        """Queue a command under an idempotency key and return at once a future of the running
        event loop (call it from a coroutine): its committed result (or its refusal) comes in it.

        For callers that must not hold a thread while they wait, such as the HTTP edge's
        coroutines. The writer's pump thread writes the batches of queued commands, together
        with those of any `submit` caller waiting beside them, and settles all of a batch's
        futures of one loop with one call into that loop (`settle_on_loop`), not one per
        command. A caller that gives up (a timeout, a client gone) cancels only its own wait,
        never the command, which may still land (as with `submit`): its future, done, is left
        alone when the batch is answered.
        """
        if not self._started:
            raise RuntimeError("the writer is not started")
        loop = asyncio.get_running_loop()
        queued = AwaitedCommand(command, key, loop=loop, waiter=loop.create_future())
        with self._arrivals:
            self._waiting.append(queued)
            if self._pump is None:
                self._pump = threading.Thread(
                    target=self._run_pump, name="writer-pump", daemon=True
                )
                self._pump.start()
            self._arrivals.notify_all()
        return queued.waiter

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
        self, mine: WaitingCommand | None = None, *, until: Callable[[], bool] | None = None
    ) -> None:
        """Write batches until this caller's command is answered (or, for the pump, until
        `until` holds); then hand over to the oldest waiting caller."""
        done = until or (lambda: mine is not None and mine.answer is not None)
        while not done():
            # Expect as many commands as the busiest recent batch: callers split into groups
            # that take turns would otherwise settle into batches half as large.
            batch = self._gather(max(self._recent))
            if not batch:
                break
            self._write(batch)
            self._recent.append(len(batch))
        with self._arrivals:
            # Coroutines' commands have no thread to lead them: the pump takes those.
            oldest = next((q for q in self._waiting if isinstance(q, WaitingCommand)), None)
            if oldest is not None:
                oldest.wake.set()

    def _gather(self, expected: int) -> list[QueuedCommand]:
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

    def _write(self, batch: list[QueuedCommand]) -> None:
        """Write a batch and answer each of its callers, or tell them why it failed."""
        # A connection that sat idle through a database restart fails at its first statement;
        # the batch then goes once more on a new one, so the first commands after an outage
        # are written (safe in any case: a command that did land replays its answer, R-X5).
        reused = self._conn is not None and not self._conn.closed
        try:
            answers = self._transaction(batch)
        except Exception as error:  # the transaction failed as a whole: nothing was written
            # ...or, if the connection broke at the commit, maybe all of it: the keys tell, as
            # a command written again under its key replays its first answer (R-X5).
            lost = connection_lost(error)
            log.error("batch_failed", commands=len(batch), error=repr(error))
            self.cache.clear()
            for projection in self.inline:
                projection.settle(committed=False)
                projection.forget(None)
            if self._conn is not None and (self._conn.broken or lost):
                self._drop_connection()
            if lost and reused:
                self._write(batch)  # on a new connection (and never reused: no loop)
                return
            if lost:
                self.health.failed(error)
                unavailable = DatabaseUnavailable(f"The database did not answer: {error}")
                unavailable.__cause__ = error
                error = unavailable
            elif len(batch) > 1:
                # One command's events may be what the database refused: write each alone, so
                # that only its own caller hears of it.
                for queued in batch:
                    self._write([queued])
                return
            answer_all([(queued, error) for queued in batch])
            return
        self.health.answered()
        self.batches += 1
        self.commands += len(batch)
        answer_all(answers)

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _transaction(self, batch: list[QueuedCommand]) -> list[Answer]:
        """One transaction over the writer's connection, cache and inline projections."""
        transaction = BatchTransaction(
            self._connection(),
            cache=self.cache,
            mapper=self.mapper,
            clock=self.clock,
            context=self.context,
            snapshot_types=self.snapshot_types,
            inline=self.inline,
            sealer=self.sealer,
            linking=self.linking,
        )
        return transaction.run(batch)


Settled = tuple[asyncio.Future[CommandResult], CommandResult | BaseException]
"""A coroutine's future and the answer it is given."""


def answer_all(answers: list[Answer]) -> None:
    """Tell each caller of a batch what came of its command: a waiting thread through its
    `answer` (and wakes it); the coroutines of each event loop all at once, with one call into
    their loop (the loop's thread is the server's busiest: one wake-up per batch, not one per
    command)."""
    on_loops: dict[asyncio.AbstractEventLoop, list[Settled]] = {}
    for queued, answer in answers:
        if isinstance(queued, WaitingCommand):
            queued.answer = answer
            queued.wake.set()
        elif isinstance(queued, AwaitedCommand):
            on_loops.setdefault(queued.loop, []).append((queued.waiter, answer))
    for loop, settled in on_loops.items():
        try:
            loop.call_soon_threadsafe(settle_on_loop, settled)
        except RuntimeError:  # the loop is closed: nobody awaits these answers any more
            log.warning("answers_to_closed_loop", commands=len(settled))


def settle_on_loop(settled: list[Settled]) -> None:
    """On the callers' event loop: give each waiting coroutine its answer. A future already
    done is a caller that gave up (timed out, cancelled): its command was written all the same."""
    for waiter, answer in settled:
        if waiter.done():
            continue
        if isinstance(answer, BaseException):
            waiter.set_exception(answer)
        else:
            waiter.set_result(answer)
