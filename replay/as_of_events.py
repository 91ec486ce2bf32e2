"""The events that led a partner to a moment: position, recorded instant, business date,
type, who caused it and one sentence each (issue 14; docs/audit.md "As of").

The listing is the partner's chain (ledger/audit_chain.py): every event written for the
partner, in log order, read with its cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent

from ledger.audit_chain import UNKNOWN, Cause
from ledger.store import EVENTS_TABLE
from replay.as_of import HEAD, Cut, account_now, one_value
from replay.as_of_dates import event_business_date
from replay.as_of_sentences import sentence

CHAIN_EVENTS = (
    "SELECT notification_id, originator_id, originator_version, topic, state, recorded_at, "  # noqa: S608
    f"cause FROM {EVENTS_TABLE} WHERE chain = %(chain)s "
    "AND notification_id <= %(up_to)s AND notification_id > %(after)s "
    "AND (%(actor)s::text IS NULL OR cause ->> 'key_id' = %(actor)s) "
    "ORDER BY notification_id LIMIT %(limit)s"
)
EVENTS_LISTED_MAX = 1_000_000
"""The most events one listing returns (the command line's; HTTP pages): a bound a chain will
not reach for years; the command line says so when a listing reaches it."""


@dataclass(frozen=True)
class EventEntry:
    """One event of the listing: where, when, what, who, and a sentence for people."""

    position: int
    recorded_at: datetime | None
    business_date: date
    type: str
    """The event's class, as `Invoice.PaymentReceived`."""
    aggregate_id: UUID
    version: int
    cause: Cause | None
    sentence: str

    @property
    def caused_by(self) -> str:
        return self.cause.describe() if self.cause is not None else UNKNOWN


def partner_events(
    conn: psycopg.Connection[Any],
    mapper: Mapper[UUID],
    partner_id: UUID,
    *,
    up_to: int | None = None,
    after: int = 0,
    actor: str | None = None,
    limit: int = EVENTS_LISTED_MAX,
    time_zone: str | None = None,
) -> list[EventEntry]:
    """Up to `limit` events of the partner's chain after position `after` and up to `up_to`
    (the head if None), in log order; with `actor`, only those caused by that API key (its
    public id)."""
    if time_zone is None:
        time_zone = account_now(conn, mapper, partner_id).time_zone
    if up_to is None:
        up_to = int(one_value(conn, HEAD))
    rows = conn.execute(
        CHAIN_EVENTS,
        {"chain": partner_id, "up_to": up_to, "after": after, "actor": actor, "limit": limit},
    ).fetchall()
    listed = []
    for position, originator_id, version, topic, state, recorded_at, cause in rows:
        event: Any = mapper.to_domain_event(
            StoredEvent(originator_id, int(version), topic, bytes(state))
        )
        listed.append(
            EventEntry(
                position=int(position),
                recorded_at=recorded_at,
                business_date=event_business_date(event, time_zone),
                type=type(event).__qualname__,
                aggregate_id=originator_id,
                version=int(version),
                cause=Cause.from_json(cause),
                sentence=sentence(event),
            )
        )
    return listed


def events_to(
    conn: psycopg.Connection[Any],
    mapper: Mapper[UUID],
    partner_id: UUID,
    cut: Cut,
    *,
    actor: str | None = None,
) -> list[EventEntry]:
    """Every event of the partner's chain that led to the cut: up to its position, and for a
    business date, those in effect by then."""
    listed = partner_events(conn, mapper, partner_id, up_to=cut.position, actor=actor)
    if cut.business_date is None:
        return listed
    day = cut.business_date
    return [entry for entry in listed if entry.business_date <= day]
