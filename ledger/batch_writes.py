"""Everything a batch writes before its commit, queued so that it travels with the commit: the
events and the command log in one statement, the numbers issued (R-X3), the e-mails to send,
the inline projections, the snapshots, and the notification of new events."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg.types.json import Jsonb

from ledger import store
from ledger.batch import AcceptedCommand, Batch
from ledger.clock import Clock
from ledger.command_records import InlineProjection, Message
from ledger.sealing import Sealer

SNAPSHOT_EVERY = 200
"""Events between snapshots of the aggregates that live long (accounts, wallets, lines)."""

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
) -> psycopg.Cursor[Any]:
    """Queue every write of the batch (no waiting: they travel with the commit); the cursor
    returned answers, after the commit, the positions of the events it inserted."""
    conn = batch.conn
    lookup = batch.lookup()
    for projection in inline:
        projection.apply(conn, batch.events, lookup)
    accepted = [outcome for _, outcome in batch.outcomes if isinstance(outcome, AcceptedCommand)]
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
            "key": [answer.queued.key for answer in accepted],
            "command": [answer.queued.command.command_name for answer in accepted],
            "fingerprint": [answer.queued.command.fingerprint() for answer in accepted],
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
    if batch.events:
        conn.execute(store.NOTIFY_EVENTS)
    return inserted


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
