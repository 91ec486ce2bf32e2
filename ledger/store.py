"""Reading and writing the library's events and snapshots tables directly, in batches.

The tables are the eventsourcing library's own (`ledger_events`, `ledger_snapshots`), so its
tools and Ledgerline's projectors read what this writes. Every write happens inside a
transaction that holds `LOCK TABLE ledger_events IN EXCLUSIVE MODE`, as the library's does:
commit order equals notification order, so no reader ever skips an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Mapper, StoredEvent

EVENTS_TABLE = "ledger_events"
SNAPSHOTS_TABLE = "ledger_snapshots"

LOCK_EVENTS = f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE"
HEAD = f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"
WRITTEN_SINCE = (
    f"SELECT DISTINCT originator_id, chain FROM {EVENTS_TABLE} "
    "WHERE notification_id > %s AND notification_id <= %s"
)
INSERT_CHAINED = (
    # The writer gives each event its position (the head it read under the lock, plus one)
    # and its link in its chain (ledger/audit_chain.py).
    f"INSERT INTO {EVENTS_TABLE} (notification_id, originator_id, originator_version, topic,"
    " state, chain, chain_seq, recorded_at, cause, hash)"
    " SELECT * FROM unnest(%b::bigint[], %b::uuid[], %b::bigint[], %b::text[], %b::bytea[],"
    " %b::uuid[], %b::bigint[], %b::timestamptz[], %b::jsonb[], %b::bytea[])"
)
EVENTS_SEQUENCE = f"{EVENTS_TABLE}_notification_id_seq"
FOLLOW_POSITIONS = f"SELECT setval('{EVENTS_SEQUENCE}', %s), pg_notify('{EVENTS_TABLE}', '')"
"""The table's own sequence moved past the positions the writer gave, so that anything else
inserting rows (the library's recorder, a person at a SQL prompt) takes the next ones; and the
events' readers told (`pg_notify` is `NOTIFY ledger_events`, delivered at the commit), in the
same statement: one fewer for each batch."""
CHAIN_HEADS = (
    "SELECT c.chain, h.chain_seq, h.hash FROM unnest(%s::uuid[]) AS c(chain) "
    "LEFT JOIN LATERAL (SELECT chain_seq, hash FROM "
    f"{EVENTS_TABLE} e WHERE e.chain = c.chain ORDER BY chain_seq DESC LIMIT 1) h ON true"
)
STREAM_PARTNERS = (
    f"SELECT DISTINCT ON (originator_id) originator_id, "
    "coalesce(event->'new_partner_id', event->'partner_id')->>'_data_' "
    f"FROM {EVENTS_TABLE} WHERE event ? 'partner_id' OR event ? 'new_partner_id' "
    "ORDER BY originator_id, originator_version DESC"
)
"""Each stream's partner as its last event naming one says (a line moved: the new one)."""
PARTNER_ACCOUNTS = (
    f"SELECT originator_id FROM {EVENTS_TABLE} "
    "WHERE originator_version = 1 AND topic LIKE 'domain.partner_account:%'"
)
EVENTS_TO_LINK = (
    "SELECT notification_id, originator_id, originator_version, topic, state, "
    f"(event->'timestamp'->>'_data_')::timestamptz FROM {EVENTS_TABLE} ORDER BY notification_id"
)
SET_LINKS = (
    f"UPDATE {EVENTS_TABLE} e SET chain = u.chain, chain_seq = u.seq, recorded_at = u.at, "
    "hash = u.hash FROM unnest(%s::uuid[], %s::bigint[], %s::timestamptz[], %s::bytea[], "
    "%s::bigint[]) AS u(chain, seq, at, hash, position) WHERE e.notification_id = u.position"
)
SELECT_EVENTS = (
    f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "
    "WHERE originator_id = %s AND originator_version > %s ORDER BY originator_version"
)
SELECT_SNAPSHOT = (
    f"SELECT originator_id, originator_version, topic, state FROM {SNAPSHOTS_TABLE} "
    "WHERE originator_id = %s ORDER BY originator_version DESC LIMIT 1"
)
INSERT_SNAPSHOTS = (
    f"INSERT INTO {SNAPSHOTS_TABLE} (originator_id, originator_version, topic, state) "
    "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
    "ON CONFLICT DO NOTHING"
)


def load(
    conn: psycopg.Connection[Any], mapper: Mapper[UUID], aggregate_id: UUID, *, snapshots: bool
) -> Any | None:
    """The aggregate as its snapshot and later events make it, or None if it has no events."""
    aggregate: Any = None
    after = 0
    if snapshots:
        row = conn.execute(SELECT_SNAPSHOT, (aggregate_id,)).fetchone()
        if row is not None:
            snapshot: Any = mapper.to_domain_event(_stored(row))
            aggregate = snapshot.mutate(None)
            after = int(row[1])
    for row in conn.execute(SELECT_EVENTS, (aggregate_id, after)).fetchall():
        event: Any = mapper.to_domain_event(_stored(row))
        aggregate = event.mutate(aggregate)
    return aggregate


def insert_snapshots(conn: psycopg.Connection[Any], snapshots: Sequence[StoredEvent]) -> None:
    if snapshots:
        conn.execute(INSERT_SNAPSHOTS, columns(snapshots))


def take_snapshot(mapper: Mapper[UUID], aggregate: Any) -> StoredEvent:
    return mapper.to_stored_event(Snapshot.take(aggregate))


def columns(stored: Sequence[StoredEvent]) -> tuple[list[Any], ...]:
    return (
        [event.originator_id for event in stored],
        [event.originator_version for event in stored],
        [event.topic for event in stored],
        [event.state for event in stored],
    )


def _stored(row: tuple[Any, ...]) -> StoredEvent:
    originator_id, version, topic, state = row
    return StoredEvent(
        originator_id=originator_id
        if isinstance(originator_id, UUID)
        else UUID(str(originator_id)),
        originator_version=int(version),
        topic=topic,
        state=bytes(state),
    )
