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
from typing import Protocol
from uuid import UUID, uuid4

import structlog

from domain.errors import BillingError
from ledger import queries
from ledger.audit_chain import Cause, caused_by
from ledger.availability import CheckedPool
from ledger.command_records import CommandResult
from ledger.schedule import Work

ROWS_PER_QUERY = 500
"""Work read at once; the clock reads again until nothing is left due."""

log = structlog.get_logger(__name__)


class Ledger(Protocol):
    """What the billing clock needs of the ledger (ledger/application.py's `Ledger`, which
    owns the test clocks that tick too: ledger/test_clocks.py)."""

    reads: CheckedPool

    def do_scheduled_work(self, work: Work, subject_id: UUID, on: date) -> CommandResult | None:
        """Do one piece of the billing clock's work, once."""
        ...


@dataclass
class TickReport:
    """What one tick did."""

    done: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.done.values())


def due(
    ledger: Ledger, until: datetime, test_clock: UUID | None = None
) -> list[tuple[Work, UUID, date]]:
    """The work due at `until`: kind, subject and business day, in the order to do it; the
    server's, or with `test_clock` that clock's partners' alone (ledger/test_clocks.py)."""
    with ledger.reads.connection() as conn:
        return queries.due_work(conn, until, ROWS_PER_QUERY, test_clock)


def tick(ledger: Ledger, until: datetime, test_clock: UUID | None = None) -> TickReport:
    """Do every piece of work due up to `until`, including work that doing it makes due. The
    server's tick never touches a partner on a test clock; an advance of a test clock ticks
    for its partners alone (`test_clock`)."""
    with caused_by(Cause.billing_clock(uuid4().hex)):
        return _tick(ledger, until, test_clock)


def _tick(ledger: Ledger, until: datetime, test_clock: UUID | None) -> TickReport:
    report = TickReport()
    attempted: set[tuple[Work, UUID, date]] = set()
    while True:
        pending = [item for item in due(ledger, until, test_clock) if item not in attempted]
        if not pending:
            return report
        for item in pending:
            attempted.add(item)
            work, subject_id, on = item
            try:
                ledger.do_scheduled_work(work, subject_id, on)
            except BillingError as refusal:
                report.refused[work.value] += 1
                log.warning(
                    "scheduled_work_refused",
                    kind=work.value,
                    subject_id=str(subject_id),
                    code=refusal.code,
                )
            else:
                report.done[work.value] += 1
