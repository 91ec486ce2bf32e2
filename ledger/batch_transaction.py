"""One batch of commands written in one transaction, each command atomic.

The transaction takes the events-table lock, and for each command in turn: replays the first
answer if its idempotency key is known (R-X5), or loads the aggregates it needs, lets it
decide, and collects its events. Then it queues all the batch's writes (ledger/batch_writes.py)
and commits once; the answers are given only after that commit.

Deciding under the lock means every decision sees the current state: the aggregate cache is
brought up to date at the start of each batch (aggregates another process wrote since are
evicted and reloaded), so a stale cache can never cause a lost or wrong write. A command
refused by the rules writes nothing; if it had already changed an aggregate in memory before
failing, that aggregate is evicted and reloaded from the store.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import Mapper

from domain.errors import BillingError
from ledger import store
from ledger.aggregate_cache import AggregateCache
from ledger.audit_chain import chain_of
from ledger.batch import (
    AcceptedCommand,
    Answer,
    Batch,
    PendingEvent,
    QueuedCommand,
    RepeatedCommand,
)
from ledger.batch_writes import queue_batch_writes
from ledger.clock import Clock
from ledger.command_records import CommandResult, InlineProjection
from ledger.errors import IdempotencyKeyReused
from ledger.fingerprints import is_same_command
from ledger.sealing import Sealer
from ledger.unit_of_work import UnitOfWork

KNOWN_KEYS = (
    "SELECT key, command, fingerprint, response, position FROM command_log WHERE key = ANY(%s)"
)

log = structlog.get_logger(__name__)


class BatchTransaction:
    """Writes one batch of queued commands in one transaction; see the module docstring."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        *,
        cache: AggregateCache,
        mapper: Mapper[UUID],
        clock: Clock,
        context: Any,
        snapshot_types: tuple[type[Any], ...],
        inline: tuple[InlineProjection, ...],
        sealer: Sealer | None,
        linking: bool = True,
    ) -> None:
        self.conn = conn
        self.cache = cache
        self.mapper = mapper
        self.clock = clock
        self.context = context
        self.snapshot_types = snapshot_types
        self.inline = inline
        self.sealer = sealer
        self.linking = linking

    def run(self, queued: list[QueuedCommand]) -> list[Answer]:
        """Decide and write the commands, commit, and return what each caller is told. Raises
        if the transaction fails as a whole (then nothing was written, or, if the connection
        broke at the commit, maybe all of it)."""
        conn = self.conn
        # Pipeline mode: statements whose results are not needed at once travel together, so
        # a batch costs three round trips (lock and read, insert, write the rest and commit).
        with conn.pipeline(), conn.transaction():
            conn.execute(store.LOCK_EVENTS)
            head_cursor = conn.execute(store.HEAD)
            keys_cursor = conn.execute(KNOWN_KEYS, ([command.key for command in queued],))
            head_row = head_cursor.fetchone()
            head = int(head_row[0]) if head_row else 0
            self._catch_up(head)
            batch = Batch(conn, head, self.cache, self.mapper, bool(self.snapshot_types))
            batch.linking = self.linking
            _load_keys(batch, keys_cursor.fetchall())
            for command in queued:
                self._decide(batch, command)
            queue_batch_writes(
                batch,
                inline=self.inline,
                snapshot_types=self.snapshot_types,
                sealer=self.sealer,
                clock=self.clock,
            )
        # Committed.
        for projection in self.inline:
            projection.settle(committed=True)
        self.cache.keep_heads(batch.heads)
        if batch.positions:
            self.cache.seen = max(batch.positions.values())
        return _answers(batch)

    def _catch_up(self, head: int) -> None:
        """Evict every cached aggregate another process wrote since this one last looked."""
        if head > self.cache.seen:
            written = self.conn.execute(store.WRITTEN_SINCE, (self.cache.seen, head)).fetchall()
            ids = [UUID(str(aggregate_id)) for aggregate_id, _ in written]
            for aggregate_id in ids:
                self.cache.evict(aggregate_id)
            # An out-of-band row has no chain; a chain another process linked to is reloaded.
            for chain in {chain for _, chain in written if chain is not None}:
                self.cache.evict_chain(chain if isinstance(chain, UUID) else UUID(str(chain)))
            for projection in self.inline:
                projection.forget(ids)
        self.cache.seen = head

    def _decide(self, batch: Batch, queued: QueuedCommand) -> None:
        command = queued.command
        known = batch.keys.get(queued.key)
        if known is not None:
            (first_name, first_fingerprint), first_result = known
            if not is_same_command(command, first_name, first_fingerprint):
                refusal = IdempotencyKeyReused(
                    "This idempotency key was already used for a different command."
                )
                batch.outcomes.append((queued, refusal))
            else:
                # Replayed from the log, or the same command twice in this batch.
                batch.outcomes.append((queued, first_result or RepeatedCommand(queued.key)))
            return
        uow = UnitOfWork(batch, self.clock.now(), self.context)
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
            batch.outcomes.append((queued, error))
            return
        for series, count in uow.numbers.items():
            batch.numbers[series] += count
        batch.touched.update(uow.touched)
        for aggregate in uow.touched.values():
            self.cache.put(aggregate)
        batch.events.extend(events)
        batch.pending.extend(
            PendingEvent(
                self.mapper.to_stored_event(event),
                chain_of(uow.touched[event.originator_id]),
                uow.now,
                queued.cause,
            )
            for event in events
        )
        batch.messages.extend(uow.messages)
        batch.keys[queued.key] = ((command.command_name, command.fingerprint()), None)
        keys = [(event.originator_id, event.originator_version) for event in events]
        batch.outcomes.append((queued, AcceptedCommand(queued, aggregate_id, data, keys)))


def _load_keys(batch: Batch, rows: list[tuple[Any, ...]]) -> None:
    """The keys of this batch already in the command log, with their first answers."""
    for key, command, fingerprint, response, position in rows:
        aggregate_id = response.pop("aggregate_id", None)
        result = CommandResult(
            UUID(aggregate_id) if aggregate_id else None,
            int(position),
            response,
            replayed=True,
        )
        batch.keys[key] = ((command, fingerprint), result)


def _answers(batch: Batch) -> list[Answer]:
    """Each command's answer once the batch committed: accepted commands learn their log
    position, repeats within the batch the first one's result."""
    head = max(batch.positions.values(), default=batch.head)
    answers: list[Answer] = []
    results: dict[str, CommandResult] = {}
    for queued, outcome in batch.outcomes:
        if isinstance(outcome, AcceptedCommand):
            position = max((batch.positions[key] for key in outcome.events), default=head)
            result = CommandResult(outcome.aggregate_id, position, outcome.data)
            results[queued.key] = result
            answers.append((queued, result))
        elif isinstance(outcome, RepeatedCommand):
            first = results[outcome.key]
            answers.append((queued, CommandResult(**{**vars(first), "replayed": True})))
        else:
            answers.append((queued, outcome))
    return answers
