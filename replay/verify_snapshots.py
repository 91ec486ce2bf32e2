"""Snapshots checked against the events they stand for (issue 14; docs/audit.md).

A snapshot is a cache: the state of an aggregate after its first N events, kept so that loading
it (and an as-of replay, replay/history.py) need not apply all of them. It is not in the hash
chains, so a walk of the chains alone would trust a snapshot someone changed. This check
replays each snapshotted aggregate's events once, in order, and compares its state with each
of its snapshots on the way: a snapshot that is not what its events make is a break, named at
the log position of the event it stands after. (The events themselves are the chains' to
prove: run it with the walk, as `verify(..., snapshots=mapper)` does.)
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Mapper, StoredEvent

from ledger.sealing import CipherKeyMissing
from ledger.store import EVENTS_TABLE, SNAPSHOTS_TABLE

SNAPSHOTTED = (
    f"SELECT s.originator_id, s.originator_version, s.topic, s.state, e.notification_id, "  # noqa: S608
    f"e.chain FROM {SNAPSHOTS_TABLE} s LEFT JOIN {EVENTS_TABLE} e "
    "ON e.originator_id = s.originator_id AND e.originator_version = s.originator_version "
    "WHERE (%(partner)s::uuid IS NULL OR e.chain = %(partner)s) "
    "AND coalesce(e.notification_id, 0) <= %(up_to)s "
    "ORDER BY s.originator_id, s.originator_version"
)
EVENTS_UP_TO = (
    f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "  # noqa: S608
    "WHERE originator_id = %s AND originator_version <= %s ORDER BY originator_version"
)


def altered_snapshots(
    conn: psycopg.Connection[Any],
    mapper: Mapper[UUID],
    *,
    partner_id: UUID | None = None,
    up_to: int,
) -> list[tuple[int, UUID | None, str]]:
    """Each snapshot (of one partner's aggregates, or all) that is not the state its events
    make: the position of the event it stands after, that event's chain, and why."""
    snapshots: dict[UUID, list[tuple[Any, ...]]] = defaultdict(list)
    for row in conn.execute(SNAPSHOTTED, {"partner": partner_id, "up_to": up_to}).fetchall():
        snapshots[_uuid(row[0])].append(row)
    found: list[tuple[int, UUID | None, str]] = []
    for aggregate_id, rows in snapshots.items():
        wanted = {int(row[1]): row for row in rows}
        aggregate: Any = None
        for event_row in conn.execute(EVENTS_UP_TO, (aggregate_id, max(wanted))).fetchall():
            event: Any = mapper.to_domain_event(_stored(event_row))
            aggregate = event.mutate(aggregate)
            row = wanted.pop(int(event_row[1]), None)
            if row is not None and not _same(mapper, aggregate, row):
                found.append(
                    (
                        int(row[4]),
                        _uuid(row[5]) if row[5] is not None else None,
                        f"the snapshot of {aggregate_id} at version {row[1]} is not the state its "
                        "events make: it was changed",
                    )
                )
        for version, row in wanted.items():  # a snapshot with no event under it
            found.append(
                (
                    int(row[4] or 0),
                    None,
                    f"the snapshot of {aggregate_id} at version {version} stands after an event "
                    "the log does not hold",
                )
            )
    return sorted(found, key=lambda each: each[0])


def _same(mapper: Mapper[UUID], aggregate: Any, row: tuple[Any, ...]) -> bool:
    try:
        stored: Any = mapper.to_domain_event(_stored(row[:4]))
    except CipherKeyMissing:
        raise  # the verifier lacks the key: say so, rather than call every snapshot changed
    except Exception:  # an unreadable snapshot is not the state its events make
        return False
    return bool(stored.state == Snapshot.take(aggregate).state)


def _stored(row: tuple[Any, ...]) -> StoredEvent:
    return StoredEvent(
        originator_id=_uuid(row[0]),
        originator_version=int(row[1]),
        topic=row[2],
        state=bytes(row[3]),
    )


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
