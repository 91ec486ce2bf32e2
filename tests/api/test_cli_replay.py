"""`ledgerline replay what-if` (issue 14) as an operator runs it: a process of its own.

The history is tests/replay/test_what_if.py's story (its read models caught up). Each process
opens the database alone, not the runtime: about half a second of CPU each, five in all; the
refusals made before the database is opened run in this process.
"""

from __future__ import annotations

import json
from uuid import uuid4

from typer.testing import CliRunner

from api.cli import cli
from api.cli.replay import EXIT_REFUSED, EXIT_UNKNOWN_PARTNER
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.database import Database
from tests.replay.test_rebuild_cli import ledgerline
from tests.replay.test_what_if import billed, fingerprint


def test_r_o7_what_if_prints_each_partners_differences_as_a_table_or_json(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = billed(ledger, clock, database)
    before = fingerprint(database)

    shown = ledgerline(database, "replay", "what-if", "--set", "card_fee_rate=0.025")
    assert shown.returncode == 0, shown.stderr
    assert "card_fee_rate=0.025" in shown.stdout
    assert f"Partner {partner} (RUB)" in shown.stdout
    # Four card payments, each 7.50 RUB less in fees (R-O7).
    [fees] = [line for line in shown.stdout.splitlines() if "card fees" in line]
    assert "-30.00 RUB" in fees

    as_json = ledgerline(
        database, "replay", "what-if", "--set", "card_fee_rate=0.025", "--json",
        "--partner", str(partner), "--from", "2026-03-01",
    )  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert (report["changes"], report["from"], report["partner_id"]) == (
        {"card_fee_rate": "0.025"},
        "2026-03-01",
        str(partner),
    )
    [found] = report["differences"]
    assert found["figures"]["card_fees_minor"] == {
        "live": 4 * 4500,
        "what_if": 3 * 4500 + 3750,
        "difference": -750,
    }
    assert "What-if" not in as_json.stderr  # no progress bar with --json

    unchanged = ledgerline(database, "replay", "what-if")
    assert unchanged.returncode == 0, unchanged.stderr
    assert "No difference from the live read models." in unchanged.stdout
    assert fingerprint(database) == before


def test_bad_input_exits_with_its_code_and_a_message_and_writes_nothing(
    database: Database,
) -> None:
    """What is refused before the database is opened runs in this process (typer's runner):
    a process each would cost half a second for nothing more."""
    before = fingerprint(database)
    for args, message in (
        (["--set", "grace_period_days=3"], "'grace_period_days' is not a value"),
        (["--set", "card_fee_rate"], "--set takes NAME=VALUE"),
        (["--price", "messaging-line@RUB=1.50"], "A proposed price is CODE@CUR=AMOUNT_MINOR"),
        (["--from", "2026-02-30"], "--from takes a date"),
        (["--partner", "acme"], "--partner takes a partner id"),
    ):
        refused = CliRunner().invoke(cli, ["replay", "what-if", *args], env={"COLUMNS": "200"})
        code = EXIT_UNKNOWN_PARTNER if args[0] == "--partner" else EXIT_REFUSED
        assert (refused.exit_code, refused.stdout) == (code, ""), refused.output
        assert message in " ".join(refused.stderr.split()), refused.stderr
    for args, code, message in (
        (["--price", "messaging-line@PLN=100"], EXIT_REFUSED, "No product 'messaging-line' in PLN"),
        (["--partner", str(uuid4())], EXIT_UNKNOWN_PARTNER, "No partner account"),
    ):
        refused = ledgerline(database, "replay", "what-if", *args)
        assert (refused.returncode, refused.stdout) == (code, ""), refused.stderr
        assert message in " ".join(refused.stderr.split()), refused.stderr
    assert fingerprint(database) == before
