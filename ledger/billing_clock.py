"""The billing clock: finds the work due up to an instant and does it, each piece once.

Work is due at the start of its business day in the partner's time zone (R-X7). Each piece
runs as a command whose idempotency key names what it is (kind, subject, day), so a second
run, or another process ticking at the same moment, does nothing twice (R-X5). Work is done
in the order it fell due, and each command carries the business day it was due, so ticking a
month in one call gives the same bills as ticking it day by day.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

import structlog

from domain.errors import BillingError
from ledger.application import Ledger
from ledger.schedule import ORDER

ROWS_PER_QUERY = 500
"""Work read at once; the clock reads again until nothing is left due."""

log = structlog.get_logger(__name__)


@dataclass
class TickReport:
    """What one tick did."""

    done: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.done.values())


def due(ledger: Ledger, until: datetime) -> list[tuple[str, UUID, date]]:
    """The work due at `until`: kind, subject and business day, in the order to do it."""
    with ledger.reads.connection() as conn:
        rows = conn.execute(
            "SELECT kind, subject_id, due_on FROM schedule "
            "WHERE (due_on::timestamp AT TIME ZONE time_zone) <= %s "
            "ORDER BY due_on, array_position(%s::text[], kind), subject_id LIMIT %s",
            (until, list(ORDER), ROWS_PER_QUERY),
        ).fetchall()
    return [(str(kind), UUID(str(subject)), due_on) for kind, subject, due_on in rows]


def tick(ledger: Ledger, until: datetime) -> TickReport:
    """Do every piece of work due up to `until`, including work that doing it makes due."""
    report = TickReport()
    attempted: set[tuple[str, UUID, date]] = set()
    while True:
        work = [item for item in due(ledger, until) if item not in attempted]
        if not work:
            return report
        for item in work:
            attempted.add(item)
            kind, subject_id, on = item
            try:
                ledger.do_work(kind, subject_id, on)
            except BillingError as refusal:
                report.refused[kind] += 1
                log.warning(
                    "scheduled_work_refused",
                    kind=kind,
                    subject_id=str(subject_id),
                    code=refusal.code,
                )
            else:
                report.done[kind] += 1
