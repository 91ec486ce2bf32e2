"""Connections broken by a database restart are replaced unseen; a lost connection is told
apart from a statement the database refused (issue 11, item 2)."""

from __future__ import annotations

import psycopg
import pytest
from eventsourcing import persistence
from psycopg import errors
from psycopg_pool import PoolTimeout

from domain.money import Money
from domain.payment_methods import PaymentSource
from ledger.application import Ledger
from ledger.availability import DatabaseUnavailable, connection_lost
from ledger.database import CannotConnect, Database


def terminate_other_sessions(database: Database) -> int:
    """What a restart does to every connection the ledger holds: the server ends them."""
    with database.connect() as conn:
        ended = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert ended is not None
    return int(ended[0])


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
