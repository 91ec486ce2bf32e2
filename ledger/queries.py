"""The ledger's own reads: the SQL the write side runs outside a command, in one place.

Each takes a connection from the caller's read pool; none writes. The tables are the ledger's
own (command_log, the inline projections `open_invoices`, `line_index` and `schedule`:
ledger/schema.py), never a read model of `projections/`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import psycopg

from ledger.command_records import CommandResult
from ledger.schedule import ORDER, Work

RECORDED_RESULT = "SELECT response, position FROM command_log WHERE key = %s"
RECORDED_COMMAND = "SELECT command, fingerprint, response, position FROM command_log WHERE key = %s"
OUTSTANDING_INVOICES = (
    "SELECT invoice_id FROM open_invoices WHERE payer_id = %s AND outstanding "
    "ORDER BY due_on, invoice_id"
)
UNIFIED_BILLING_LINES = (
    "SELECT line_id FROM line_index WHERE partner_id = %s AND client_id = %s "
    "AND unified_billing AND status <> 'cancelled' ORDER BY line_id"
)
DUE_WORK = (
    "SELECT kind, subject_id, due_on FROM schedule "
    "WHERE (due_on::timestamp AT TIME ZONE time_zone) <= %s "
    "AND NOT EXISTS (SELECT 1 FROM test_clock_partners t WHERE t.partner_id = schedule.partner_id) "
    "ORDER BY due_on, array_position(%s::text[], kind), subject_id LIMIT %s"
)
"""The server's work: every partner's but those living on a test clock (issue 15)."""
DUE_WORK_ON_TEST_CLOCK = (
    "SELECT kind, subject_id, due_on FROM schedule JOIN test_clock_partners t USING (partner_id) "
    "WHERE (due_on::timestamp AT TIME ZONE time_zone) <= %s AND t.clock_id = %s "
    "ORDER BY due_on, array_position(%s::text[], kind), subject_id LIMIT %s"
)
"""A test clock's work: its partners' only."""
NEXT_DUE_ON_TEST_CLOCK = (
    "SELECT min(due_on::timestamp AT TIME ZONE time_zone) FROM schedule "
    "JOIN test_clock_partners t USING (partner_id) "
    "WHERE t.clock_id = %s AND (due_on::timestamp AT TIME ZONE time_zone) > %s"
)


def recorded_result(conn: psycopg.Connection[Any], key: str) -> CommandResult | None:
    """The first answer to a key, if a command was already recorded under it (R-X5)."""
    row = conn.execute(RECORDED_RESULT, (key,)).fetchone()
    if row is None:
        return None
    return _result(*row)


def _result(response: dict[str, Any], position: int) -> CommandResult:
    aggregate_id = response.pop("aggregate_id", None)
    return CommandResult(
        UUID(aggregate_id) if aggregate_id else None, int(position), response, replayed=True
    )


def recorded_command(
    conn: psycopg.Connection[Any], key: str
) -> tuple[str, str, CommandResult] | None:
    """What a key recorded: the command's name, its fingerprint and its first answer."""
    row = conn.execute(RECORDED_COMMAND, (key,)).fetchone()
    if row is None:
        return None
    command, fingerprint, response, position = row
    return command, fingerprint, _result(response, position)


def outstanding_invoice_ids(conn: psycopg.Connection[Any], payer_id: UUID) -> list[UUID]:
    """The invoices a payer owes (failed or overdue), oldest due first (R-H5, R-L5)."""
    rows = conn.execute(OUTSTANDING_INVOICES, (payer_id,)).fetchall()
    return [row[0] for row in rows]


def unified_billing_line_ids(
    conn: psycopg.Connection[Any], partner_id: UUID, client_id: UUID
) -> tuple[UUID, ...]:
    """A client's lines its partner still pays for under unified billing (R-O4)."""
    rows = conn.execute(UNIFIED_BILLING_LINES, (partner_id, client_id)).fetchall()
    return tuple(row[0] for row in rows)


def due_work(
    conn: psycopg.Connection[Any], until: datetime, limit: int, test_clock: UUID | None = None
) -> list[tuple[Work, UUID, date]]:
    """The work due at `until`: kind, subject and business day, in the order to do it. The
    server's (`test_clock` None) never includes a partner on a test clock; a test clock's is
    its partners' alone."""
    if test_clock is None:
        rows = conn.execute(DUE_WORK, (until, list(ORDER), limit)).fetchall()
    else:
        rows = conn.execute(
            DUE_WORK_ON_TEST_CLOCK, (until, test_clock, list(ORDER), limit)
        ).fetchall()
    return [(Work(kind), UUID(str(subject)), due_on) for kind, subject, due_on in rows]


def next_due_on_test_clock(
    conn: psycopg.Connection[Any], test_clock: UUID, after: datetime
) -> datetime | None:
    """The first instant after `after` at which work of a test clock's partners falls due."""
    row = conn.execute(NEXT_DUE_ON_TEST_CLOCK, (test_clock, after)).fetchone()
    return row[0] if row else None
