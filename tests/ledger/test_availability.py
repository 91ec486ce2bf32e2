"""Connections broken by a database restart are replaced unseen; a lost connection is told
apart from a statement the database refused (issue 11, item 2)."""

from __future__ import annotations

import tempfile
import time
from typing import Any

import psycopg
import pytest
from eventsourcing import persistence
from psycopg import errors
from psycopg_pool import PoolTimeout

from domain.money import Money
from domain.payment_methods import PaymentSource
from ledger.application import Ledger
from ledger.availability import (
    CHECK_IDLE_S,
    CheckedPool,
    DatabaseHealth,
    DatabaseUnavailable,
    connection_lost,
    pool,
)
from ledger.database import CannotConnect, Database

SESSIONS_END_S = 5.0
"""How long terminated sessions may take to end (a few milliseconds here)."""


def terminate_other_sessions(database: Database) -> int:
    """What a restart does to every connection the ledger holds: the server ends them (and,
    as a restart has before anyone connects again, the sessions are gone when it returns)."""
    with database.connect() as conn:
        ended = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        assert ended is not None
        deadline = time.monotonic() + SESSIONS_END_S
        while _sessions_left(conn):
            assert time.monotonic() < deadline, "the terminated sessions did not end"
            time.sleep(0.005)
    count = ended[0]
    assert isinstance(count, int)
    return count


def _sessions_left(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = conn.execute(
        "SELECT count(*) > 0 FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).fetchone()
    return bool(row and row[0])


def test_the_first_command_and_reads_after_a_restart_succeed(
    ledger: Ledger, database: Database
) -> None:
    """Before, the writer's idle connection failed the first command after a restart, and a
    broken pooled connection failed a read; now both are dropped and replaced unseen."""
    opened = ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC", key="open")
    assert opened.aggregate_id is not None
    assert ledger.replayed("open") is not None  # a pooled read connection, then idle
    assert terminate_other_sessions(database) >= 2  # the writer's and the read pool's

    topped = ledger.top_up(
        opened.aggregate_id, Money(500, "USD"), PaymentSource.BANK_TRANSFER, reference="W", key="t"
    )
    assert topped.position > opened.position
    assert ledger.partner_account(opened.aggregate_id).balance == Money(500, "USD")
    replayed = ledger.replayed("t")
    assert replayed is not None
    assert replayed.position == topped.position
    assert not ledger.health.down


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.InterfaceError("the connection is closed"), True),
        (errors.AdminShutdown(), True),
        (errors.CannotConnectNow(), True),
        (errors.ConnectionFailure(), True),
        (CannotConnect("Cannot connect to PostgreSQL"), True),
        (PoolTimeout("couldn't get a connection after 0.50 sec"), True),
        (DatabaseUnavailable("down"), True),
        (errors.PipelineAborted("pipeline aborted"), False),
        (errors.LockNotAvailable(), False),
        (errors.QueryCanceled(), False),
        (errors.UniqueViolation(), False),
        (ValueError("not the database"), False),
    ],
)
def test_a_lost_connection_is_told_from_a_statement_the_database_refused(
    error: Exception, lost: bool
) -> None:
    """503 `database_unavailable` for the first kind; a lock or statement timeout is no outage,
    nor a pipeline aborted by one command's refused events (its neighbours were answered 503
    under load, found by tests/ledger/test_concurrency.py)."""
    assert connection_lost(error) is lost


def test_the_event_stores_wrapped_errors_are_judged_by_their_cause() -> None:
    wrapped = persistence.OperationalError("closed")
    wrapped.__cause__ = psycopg.OperationalError("server closed the connection unexpectedly")
    refused = persistence.OperationalError("lock")
    refused.__cause__ = errors.LockNotAvailable()
    assert (connection_lost(wrapped), connection_lost(refused)) == (True, False)


@pytest.mark.parametrize("check_idle_s", [CHECK_IDLE_S, 0.0])
def test_a_connection_that_just_answered_is_handed_out_unchecked_unless_its_session_ended(
    database: Database, check_idle_s: float
) -> None:
    """The check is a round trip for every read (issue 16): a connection given back a moment
    ago is handed out as it is, one idle for `check_idle_s` is checked, and one whose session
    the server ended meanwhile is replaced whatever its idle time (its socket says so)."""
    checked = CheckedPool(pool(database.conninfo(), 1, 5.0), DatabaseHealth(), check_idle_s)
    try:
        with tempfile.TemporaryFile("w+") as trace:
            with checked.connection() as conn:
                pid = _one(conn, "SELECT pg_backend_pid()")
                # libpq's own record of every message the connection sends from now on.
                conn.pgconn.trace(trace.fileno())
            with checked.connection() as conn:
                assert _one(conn, "SELECT pg_backend_pid()") == pid
                conn.pgconn.untrace()
            trace.seek(0)
            sent = [line for line in trace.read().splitlines() if "\tF\t" in line]
        # The check is an empty statement before the read's own.
        checks = [line for line in sent if line.endswith('Query\t ""')]
        assert len(checks) == (1 if check_idle_s == 0.0 else 0), sent
        assert sent[-1].endswith('Query\t "SELECT pg_backend_pid()"')
        assert terminate_other_sessions(database) == 1
        with checked.connection() as conn:
            assert _one(conn, "SELECT pg_backend_pid()") != pid
    finally:
        checked.close()


def _one(conn: psycopg.Connection[Any], query: str) -> object:
    row = conn.execute(query.encode()).fetchone()
    assert row is not None
    return row[0]
