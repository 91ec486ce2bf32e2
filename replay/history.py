"""Any aggregate as it stood at a version or a log position, from its newest snapshot at or
before that version plus the events after it (issue 14; docs/audit.md "As of").

The writer snapshots partner accounts, bonus wallets and lines every SNAPSHOT_EVERY events
(ledger/batch_writes.py), so a state at any version costs one round trip and at most that many
events, however long the history: bench/replay.py measures it on an account of 10,000 events.
Aggregates without snapshots (invoices, price lists) are short and load from their events.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent

from ledger.store import EVENTS_TABLE, SNAPSHOTS_TABLE

AT_CUT = f"""
WITH cut AS (
    SELECT coalesce(
        %(version)s::bigint,
        (SELECT max(originator_version) FROM {EVENTS_TABLE}
         WHERE originator_id = %(id)s AND notification_id <= %(position)s)
    ) AS version
), snapshot AS (
    SELECT s.originator_version, s.topic, s.state FROM {SNAPSHOTS_TABLE} s, cut
    WHERE %(snapshots)s AND s.originator_id = %(id)s AND s.originator_version <= cut.version
    ORDER BY s.originator_version DESC LIMIT 1
)
SELECT true, originator_version, topic, state FROM snapshot
UNION ALL
SELECT false, e.originator_version, e.topic, e.state FROM {EVENTS_TABLE} e, cut
WHERE e.originator_id = %(id)s
  AND e.originator_version > coalesce((SELECT originator_version FROM snapshot), 0)
  AND e.originator_version <= cut.version
ORDER BY 1 DESC, 2
"""  # noqa: S608 (table names are constants)
"""One round trip: the version the cut reaches (given, or the last at or before a log
position), the newest snapshot at or before it, and the events after the snapshot up to it."""


def load_at_version(
    conn: psycopg.Connection[Any],
    mapper: Mapper[UUID],
    aggregate_id: UUID,
    version: int,
    *,
    snapshots: bool = True,
) -> Any | None:
    """The aggregate as its first `version` events made it (None before its first)."""
    return _load(conn, mapper, aggregate_id, version=version, position=None, snapshots=snapshots)


def load_at_position(
    conn: psycopg.Connection[Any],
    mapper: Mapper[UUID],
    aggregate_id: UUID,
    position: int,
    *,
    snapshots: bool = True,
) -> Any | None:
    """The aggregate as its events up to log position `position` made it (None: none yet)."""
    return _load(conn, mapper, aggregate_id, version=None, position=position, snapshots=snapshots)


def _load(
    conn: psycopg.Connection[Any],
    mapper: Mapper[UUID],
    aggregate_id: UUID,
    *,
    version: int | None,
    position: int | None,
    snapshots: bool,
) -> Any | None:
    rows = conn.execute(
        AT_CUT,
        {"id": aggregate_id, "version": version, "position": position, "snapshots": snapshots},
    ).fetchall()
    aggregate: Any = None
    for _, row_version, topic, state in rows:
        stored = StoredEvent(aggregate_id, int(row_version), topic, bytes(state))
        aggregate = mapper.to_domain_event(stored).mutate(aggregate)  # type: ignore[attr-defined]
    return aggregate


def replay_selected(events: Iterable[Any]) -> Any | None:
    """An aggregate made by some of its events only, in version order (those in effect by a
    business date): each is applied as if it were the next, since the ones left out have not
    taken effect. None if its creation is left out."""
    aggregate: Any = None
    for event in events:
        if aggregate is None:
            if event.originator_version != 1:
                return None
        else:
            aggregate.version = event.originator_version - 1
        aggregate = event.mutate(aggregate)
    return aggregate
