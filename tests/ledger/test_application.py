"""The ledger application on the PostgreSQL event store."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import InvoiceNotFound, LineNotFound, PartnerNotFound, UnknownCurrency
from domain.partner_account import PartnerAccount
from ledger.application import EVENTS_TABLE, Ledger
from ledger.clock import SimulatedClock
from ledger.database import Database
from tests.support import NOT_CATALOGUE, START


def count_events(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE} WHERE {NOT_CATALOGUE}").fetchone()
    assert row is not None
    return int(row[0])


def test_opening_a_partner_account_stores_opened_in_postgres(
    ledger: Ledger, database: Database
) -> None:
    result = ledger.open_partner_account(name="Acme", currency="PLN", time_zone="Europe/Warsaw")

    with database.connect() as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, notification_id "
            f"FROM {EVENTS_TABLE} WHERE {NOT_CATALOGUE}"
        ).fetchall()
    assert rows == [
        (result.aggregate_id, 1, "domain.partner_account:PartnerAccount.Opened", result.position)
    ]


def test_a_new_process_reads_the_account_back_from_the_store(database: Database) -> None:
    writer = Ledger(database, SimulatedClock(START), pool_size=1)
    result = writer.open_partner_account(name="Acme", currency="JPY", time_zone="Asia/Tokyo")
    writer.close()

    reader = Ledger(database, SimulatedClock(START), pool_size=1)
    try:
        account = reader.partner_account(result.aggregate_id)
    finally:
        reader.close()
    assert isinstance(account, PartnerAccount)
    assert (account.name, account.currency, account.time_zone) == ("Acme", "JPY", "Asia/Tokyo")
    assert account.created_on == START


def test_each_command_reports_the_log_position_it_reached(ledger: Ledger) -> None:
    first = ledger.open_partner_account(name="A", currency="USD", time_zone="UTC")
    second = ledger.open_partner_account(name="B", currency="USD", time_zone="UTC")
    assert second.position > first.position >= 1


def test_a_refused_command_writes_nothing(ledger: Ledger, database: Database) -> None:
    with pytest.raises(UnknownCurrency):
        ledger.open_partner_account(name="Acme", currency="ABC", time_zone="UTC")
    assert count_events(database) == 0


def test_an_unknown_partner_is_reported_as_not_found(ledger: Ledger) -> None:
    missing = uuid4()
    with pytest.raises(PartnerNotFound) as refused:
        ledger.partner_account(missing)
    assert refused.value.fields == {"partner_id": missing}


def test_stray_postgres_variables_in_the_environment_are_ignored(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    monkeypatch.setenv("POSTGRES_DBNAME", "someone_elses_database")
    monkeypatch.setenv("LEDGER_POSTGRES_HOST", "nowhere.invalid")
    app = Ledger(database, SimulatedClock(START), pool_size=1)
    try:
        app.open_partner_account(name="Acme", currency="USD", time_zone="UTC")
        assert app.store.env.get("POSTGRES_ENABLE_DB_FUNCTIONS") == "n"
    finally:
        app.close()
    assert count_events(database) == 1


def test_the_ledgers_loaders_refuse_an_unknown_id_as_the_one_builder_does(ledger: Ledger) -> None:
    """An unknown id loaded by the ledger is its kind's refusal, naming the id, in the words
    the edge answers for it (one builder: `NotFound.of`)."""
    missing = uuid4()
    loaders = (
        (ledger.partner_account, PartnerNotFound),
        (ledger.line, LineNotFound),
        (ledger.invoice, InvoiceNotFound),
    )
    for load, refusal in loaders:
        with pytest.raises(refusal) as refused:
            load(missing)
        expected = refusal.of(missing)
        assert (refused.value.detail, refused.value.fields) == (expected.detail, expected.fields)
