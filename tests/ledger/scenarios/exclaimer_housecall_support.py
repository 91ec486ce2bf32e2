"""What the Exclaimer and Housecall Pro scenarios read back: the log, the outbox, double entry."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.persistence import StoredEvent

from domain.money import Money
from domain.postings import AccountKind, Entry, entries_for, imbalance
from ledger.application import Ledger
from ledger.database import Database

E = TypeVar("E")


def local(
    time_zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> datetime:
    """The UTC instant of a wall-clock time in a partner's time zone (R-X7)."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def stored_events(ledger: Ledger, database: Database) -> list[Any]:
    """Every event in `ledger_events`, decoded, in log order."""
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM ledger_events "
            "ORDER BY notification_id"
        ).fetchall()
    return [
        ledger.mapper.to_domain_event(
            StoredEvent(
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=bytes(state),
            )
        )
        for originator_id, version, topic, state in rows
    ]


def history(ledger: Ledger, database: Database, originator_id: UUID) -> list[Any]:
    """One aggregate's events from `ledger_events`, in version order (an activity feed)."""
    events = [e for e in stored_events(ledger, database) if e.originator_id == originator_id]
    return sorted(events, key=lambda event: event.originator_version)


def names(events: list[Any]) -> list[str]:
    """Event class names, without their aggregate's prefix."""
    return [type(event).__name__ for event in events]


def of_type(events: list[Any], cls: type[E]) -> list[E]:
    """The events of one class, in the order given."""
    return [event for event in events if isinstance(event, cls)]


def mails(database: Database, kind: str) -> list[tuple[str, str, str]]:
    """The outbox's messages of one kind: (recipient, subject, body), oldest first."""
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT recipient, subject, body FROM outbox WHERE kind = %s ORDER BY id", (kind,)
        ).fetchall()
    return [(str(to), str(subject), str(body)) for to, subject, body in rows]


def event_count(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(row[0])


def assert_double_entry(ledger: Ledger, database: Database) -> dict[UUID, int]:
    """R-X2 over the whole log: each event's entries balance per currency, so does the sum,
    and every payer's receivable is exactly what its open invoices still owe.

    Returns the receivable of each payer owing something, in minor units.
    """
    entries: list[Entry] = []
    for event in stored_events(ledger, database):
        posted = entries_for(event)
        assert imbalance(posted) == {}, f"{type(event).__qualname__} posts unbalanced entries"
        entries.extend(posted)
    assert imbalance(entries) == {}
    receivable: dict[UUID, int] = defaultdict(int)
    for entry in entries:
        if entry.account.kind is AccountKind.RECEIVABLE and entry.account.owner_id is not None:
            receivable[entry.account.owner_id] += entry.signed_minor
    owed: dict[UUID, int] = defaultdict(int)
    with database.connect() as conn:
        rows = conn.execute("SELECT invoice_id, payer_id FROM open_invoices").fetchall()
    for invoice_id, payer_id in rows:
        owed[payer_id] += ledger.invoice(invoice_id).outstanding.amount_minor
    owing = {payer: minor for payer, minor in receivable.items() if minor}
    assert owing == {payer: minor for payer, minor in owed.items() if minor}
    return owing


def scheduled(database: Database, subject_id: UUID) -> dict[str, date]:
    """The billing clock's work for one aggregate: kind -> the business day it is due."""
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT kind, due_on FROM schedule WHERE subject_id = %s", (subject_id,)
        ).fetchall()
    return {str(kind): due_on for kind, due_on in rows}


def banner(
    ledger: Ledger, database: Database, client: UUID, currency: str = "USD"
) -> tuple[Money, dict[UUID, Money]]:
    """What a client's banner shows (R-H3): the total owed, and what each plan owes.

    Only failed and overdue invoices count (R-H2); every invoice here charges one plan.
    """
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT invoice_id, line_ids FROM open_invoices WHERE payer_id = %s AND outstanding",
            (client,),
        ).fetchall()
    per_plan: dict[UUID, Money] = {}
    for invoice_id, line_ids in rows:
        [line_id] = line_ids
        owed = ledger.invoice(invoice_id).outstanding
        per_plan[line_id] = per_plan[line_id] + owed if line_id in per_plan else owed
    return sum(per_plan.values(), Money.zero(currency)), per_plan


def is_flagged_outstanding(database: Database, invoice_id: UUID) -> bool:
    """Whether `open_invoices` marks the invoice as failed or overdue (R-H2)."""
    with database.connect() as conn:
        row = conn.execute(
            "SELECT outstanding FROM open_invoices WHERE invoice_id = %s", (invoice_id,)
        ).fetchone()
    return bool(row and row[0])
