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
NOTIFY_EVENTS = f"NOTIFY {EVENTS_TABLE}"
HEAD = f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"
WRITTEN_SINCE = (
    f"SELECT DISTINCT originator_id FROM {EVENTS_TABLE} "
    "WHERE notification_id > %s AND notification_id <= %s"
)
INSERT_EVENTS = (
    f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state) "
    "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
    "RETURNING originator_id, originator_version, notification_id"
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


def insert_events(
    conn: psycopg.Connection[Any], stored: Sequence[StoredEvent]
) -> dict[tuple[UUID, int], int]:
    """Insert events in one statement; return each one's notification id (its log position)."""
    if not stored:
        return {}
    return positions(conn.execute(INSERT_EVENTS, columns(stored)).fetchall())


def positions(rows: Sequence[tuple[Any, ...]]) -> dict[tuple[UUID, int], int]:
    """Notification ids by (originator id, version), from the rows INSERT_EVENTS returned."""
    return {(UUID(str(row[0])), int(row[1])): int(row[2]) for row in rows}


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
