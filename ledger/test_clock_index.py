"""The test clocks and the partners living on them, kept beside the events (inline, like
ledger/schedule.py), and the reads of them: the billing clock's query joins
`test_clock_partners` so that each partner's work is done by its own clock alone (issue 15)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from domain.partner_account import PartnerAccount
from domain.test_clock import ClockStatus, TestClock
from ledger.command_records import Lookup

CLOCKS_PER_PAGE_MAX = 100
"""Clocks one read lists at most (a page of the API)."""
PARTNERS_LISTED_MAX = 100
"""Partners a clock's read lists at most: a test scenario has a few."""


@dataclass(frozen=True)
class ClockRow:
    """A test clock as the index keeps it."""

    clock_id: UUID
    name: str
    frozen_at: datetime
    status: ClockStatus
    target: datetime | None
    created_at: datetime


class TestClockIndex:
    """Keeps `test_clocks` (each clock's name, instant and status) and `test_clock_partners`
    (which clock each partner lives on) true to the events of each batch."""

    __test__ = False  # not a pytest class, whatever its name

    def apply(self, conn: psycopg.Connection[Any], events: list[Any], lookup: Lookup) -> None:
        clocks = dict.fromkeys(e.originator_id for e in events if isinstance(e, TestClock.Event))
        joined = [
            (event.originator_id, event.clock_id)
            for event in events
            if isinstance(event, PartnerAccount.JoinedTestClock)
        ]
        rows = []
        for clock_id in clocks:
            clock: TestClock = lookup(clock_id)
            rows.append(
                (
                    clock.id,
                    clock.name,
                    clock.frozen_at,
                    clock.status.value,
                    clock.target,
                    clock.created_on,
                )
            )
        if rows:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO test_clocks "
                    "(clock_id, name, frozen_at, status, target, created_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (clock_id) DO UPDATE SET "
                    "frozen_at = excluded.frozen_at, status = excluded.status, "
                    "target = excluded.target",
                    rows,
                )
        if joined:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO test_clock_partners (partner_id, clock_id) VALUES (%s, %s) "
                    "ON CONFLICT (partner_id) DO NOTHING",
                    joined,
                )

    def settle(self, committed: bool) -> None:
        """Nothing to settle: it remembers nothing between batches."""

    def forget(self, aggregate_ids: list[UUID] | None) -> None:
        """Nothing to forget."""


SELECT_CLOCKS = "SELECT clock_id, name, frozen_at, status, target, created_at FROM test_clocks "


def _row(row: tuple[Any, ...]) -> ClockRow:
    clock_id, name, frozen_at, status, target, created_at = row
    return ClockRow(UUID(str(clock_id)), name, frozen_at, ClockStatus(status), target, created_at)


def clock_row(conn: psycopg.Connection[Any], clock_id: UUID) -> ClockRow | None:
    """A test clock as last written, or None."""
    row = conn.execute(SELECT_CLOCKS + "WHERE clock_id = %s", (clock_id,))
    found = row.fetchone()
    return _row(found) if found else None


def clock_page(
    conn: psycopg.Connection[Any], after: tuple[datetime, UUID] | None, limit: int
) -> list[ClockRow]:
    """Up to `limit` clocks (deleted ones too, so that a deletion can be seen) after `after`,
    oldest first (keyset: created, id)."""
    rows = conn.execute(
        SELECT_CLOCKS
        + "WHERE %(at)s::timestamptz IS NULL OR (created_at, clock_id) > (%(at)s, %(id)s) "
        "ORDER BY created_at, clock_id LIMIT %(limit)s",
        {
            "at": after[0] if after else None,
            "id": after[1] if after else None,
            "limit": min(limit, CLOCKS_PER_PAGE_MAX),
        },
    ).fetchall()
    return [_row(row) for row in rows]


def partners_on(
    conn: psycopg.Connection[Any],
    clock_id: UUID,
    limit: int = PARTNERS_LISTED_MAX,
    after: UUID | None = None,
) -> list[UUID]:
    """The partners living on a clock (deleted or not), in id order: up to `limit` after
    `after`."""
    rows = conn.execute(
        "SELECT partner_id FROM test_clock_partners WHERE clock_id = %s "
        "AND (%s::uuid IS NULL OR partner_id > %s) ORDER BY partner_id LIMIT %s",
        (clock_id, after, after, limit),
    ).fetchall()
    return [UUID(str(row[0])) for row in rows]


def advancing(conn: psycopg.Connection[Any]) -> list[UUID]:
    """The clocks whose advance was under way (a restart resumes them)."""
    rows = conn.execute(
        "SELECT clock_id FROM test_clocks WHERE status = %s ORDER BY created_at, clock_id",
        (ClockStatus.ADVANCING.value,),
    ).fetchall()
    return [UUID(str(row[0])) for row in rows]
