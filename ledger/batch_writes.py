"""Everything a batch writes before its commit, queued so that it travels with the commit: the
events and the command log in one statement, the numbers issued (R-X3), the e-mails to send,
the inline projections, the snapshots, and the notification of new events (with the
sequence's move)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg.types.json import Jsonb

from ledger import store
from ledger.batch import AcceptedCommand, Batch
from ledger.clock import Clock
from ledger.command_records import InlineProjection, Message
from ledger.sealing import Sealer

SNAPSHOT_EVERY = 200
"""Events between snapshots of the aggregates that live long (accounts, wallets, lines)."""

LOG_COMMANDS = (
    "INSERT INTO command_log (key, command, fingerprint, response, position)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::jsonb[], %b::bigint[])"
)
WRITE_NUMBER_SERIES = (
    "INSERT INTO number_series (series, last) VALUES (%s, %s) "
    "ON CONFLICT (series) DO UPDATE SET last = EXCLUDED.last"
)
QUEUE_MAIL = (
    "INSERT INTO outbox (dedup_key, kind, recipient, subject, body, partner_id, "
    "details, created_at, next_attempt_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (dedup_key) DO NOTHING"
)


def queue_batch_writes(
    batch: Batch,
    *,
    inline: tuple[InlineProjection, ...],
    snapshot_types: tuple[type[Any], ...],
    sealer: Sealer | None,
    clock: Clock,
) -> None:
    """Queue every write of the batch (no waiting: they travel with the commit)."""
    conn = batch.conn
    lookup = batch.lookup()
    for projection in inline:
        projection.apply(conn, batch.events, lookup)
    if batch.pending:
        conn.execute(store.INSERT_CHAINED, batch.chained())
    last_position = max(batch.positions.values(), default=batch.head)
    if batch.positions:  # the batch wrote events: the sequence follows, readers are told
        conn.execute(store.FOLLOW_POSITIONS, (last_position,))
    accepted = [outcome for _, outcome in batch.outcomes if isinstance(outcome, AcceptedCommand)]
    if accepted:
        # Each command's position is its last event's, or for one without events the batch's
        # last (what the log held once it was written).
        conn.execute(
            LOG_COMMANDS,
            (
                [answer.queued.key for answer in accepted],
                [answer.queued.command.command_name for answer in accepted],
                [answer.queued.command.fingerprint() for answer in accepted],
                [json.dumps(answer.response()) for answer in accepted],
                [
                    batch.positions[answer.events[-1]] if answer.events else last_position
                    for answer in accepted
                ],
            ),
        )
    with conn.cursor() as cur:
        changed = [
            (series, last_number)
            for series, last_number in batch.numbers.items()
            if batch.numbers_loaded[series] != last_number
        ]
        if changed:
            cur.executemany(WRITE_NUMBER_SERIES, changed)
        if batch.messages:
            now = clock.now()
            cur.executemany(
                QUEUE_MAIL,
                [
                    (*outbox_texts(m, sealer), m.partner_id, Jsonb(dict(m.details)), now, now)
                    for m in batch.messages
                ],
            )
    store.insert_snapshots(conn, _snapshots_due(batch, snapshot_types))


def _snapshots_due(batch: Batch, snapshot_types: tuple[type[Any], ...]) -> list[StoredEvent]:
    """Snapshots of the long-lived aggregates whose events in this batch crossed a multiple of
    SNAPSHOT_EVERY."""
    versions: dict[UUID, int] = {}
    for event in batch.events:
        versions.setdefault(event.originator_id, event.originator_version)
    return [
        store.take_snapshot(batch.mapper, aggregate)
        for aggregate_id, first in versions.items()
        if isinstance(aggregate := batch.touched.get(aggregate_id), snapshot_types)
        and aggregate.version // SNAPSHOT_EVERY > (first - 1) // SNAPSHOT_EVERY
    ]


def outbox_texts(message: Message, sealer: Sealer | None) -> tuple[str, str, str, str, str]:
    """An e-mail's dedup key, kind, recipient, subject and body as stored: with a cipher
    key the texts are sealed and the recipient in the key is a keyed digest, which is as
    stable as the address, so a retried command still queues the e-mail once."""
    m = message
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
