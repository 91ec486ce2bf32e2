"""`ledgerline audit partner ID`: the account as it stood, and the events that led there
(issue 14), from real `ledgerline` processes on a real database (three, about 0.7 s of CPU
each: the runtime's start is most of it); the refusals that need no database run in process.
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from typer.testing import CliRunner

from api.cli import cli
from api.cli.audit_history import EXIT_NOT_FOUND
from api.cli.starting import EXIT_USAGE
from domain.money import Money
from domain.payment_methods import PaymentSource
from ledger.application import Ledger
from ledger.audit_chain import Cause, caused_by
from ledger.clock import SimulatedClock
from ledger.database import Database
from tests.api.test_cli import LEDGERLINE, START_TIMEOUT_S, cli_env
from tests.api.test_cli_commands import ledgerline

WIDE = "400"
"""Columns for the table test: each event on one row, so a sentence reads whole."""


def wide_ledgerline(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEDGERLINE, *args],
        env=cli_env(
            DATABASE_URL=database.url,
            LEDGERLINE_ENVIRONMENT="test",
            LEDGERLINE_LOG_FORMAT="json",
            COLUMNS=WIDE,
        ),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def partner(ledger: Ledger, clock: SimulatedClock) -> UUID:
    """A partner topped up by two keys, an hour apart, and sold a line (an invoice)."""
    opened = ledger.open_partner_account(name="Heron", currency="EUR", time_zone="Europe/Madrid")
    partner_id = opened.aggregate_id
    assert partner_id is not None
    with caused_by(Cause.api_key("k_first", "admin", "r-1")):
        ledger.top_up(partner_id, Money(3_000, "EUR"), PaymentSource.BANK_TRANSFER)
    clock.advance(timedelta(hours=1))
    with caused_by(Cause.api_key("k_second", "admin", "r-2")):
        ledger.top_up(partner_id, Money(2_000, "EUR"), PaymentSource.BANK_TRANSFER)
        client = ledger.register_client(partner_id, name="Egret Bistro", unified_billing=False)
        assert client.aggregate_id is not None
        line = ledger.create_line(partner_id, client.aggregate_id, "email-signatures")
        assert line.aggregate_id is not None
        ledger.activate_line(line.aggregate_id)
    return partner_id


def test_as_of_an_instant_prints_one_json_document_of_the_state_and_its_events(
    database: Database, partner: UUID, clock: SimulatedClock
) -> None:
    between = (clock.now() - timedelta(minutes=30)).isoformat()
    then = ledgerline(database, "audit", "partner", str(partner), "--as-of", between, "--json")
    assert then.returncode == 0, then.stderr
    document = json.loads(then.stdout)
    assert document["partner"]["account"]["company_balance"]["amount_minor"] == 3_000
    assert document["partner"]["invoices"] == []
    assert [event["type"] for event in document["events"]] == [
        "PartnerAccount.Opened",
        "PartnerAccount.BalanceToppedUp",
    ]
    assert document["events"][1]["caused_by"] == "API key k_first (admin), request r-1"
    assert document["partner"]["cut"]["kind"] == "as_of"


def test_the_table_lists_one_keys_doing_as_in_effect_on_a_business_date(
    database: Database, partner: UUID, clock: SimulatedClock
) -> None:
    day = clock.now().date().isoformat()
    shown = wide_ledgerline(
        database, "audit", "partner", str(partner), "--business-date", day, "--actor", "k_second"
    )
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "Heron" in text
    assert "as in effect on" in text
    assert "Company balance topped up by 20.00 EUR" in text
    assert "topped up by 30.00 EUR" not in text, "--actor did not narrow the listing"
    assert "Invoice INV-" in text
    assert "API key k_second (admin)" in text
    unknown = ledgerline(database, "audit", "partner", str(uuid4()), "--position", "1")
    assert unknown.returncode == EXIT_NOT_FOUND
    assert "No partner account" in unknown.stderr


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--position", "3", "--as-of", "2026-02-01T00:00+00:00"],
        ["--as-of", "2026-02-01T00:00"],
        ["--business-date", "2026-02-30"],
        ["--position", "0"],
    ],
)
def test_a_moment_named_wrongly_exits_with_the_usage_code_before_touching_the_database(
    options: list[str],
) -> None:
    result = CliRunner().invoke(cli, ["audit", "partner", str(uuid4()), *options])
    assert result.exit_code == EXIT_USAGE, result.output
