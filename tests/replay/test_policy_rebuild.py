"""Rebuilding after the billing policy changed (issue 13): every read model rebuilt from the
log equals the live one, row for row, and a ledger started with other constants reads the
same invoices. The history decides what was charged, not the policy the process starts with.

One partner, two invoices paid by card either side of a card-fee change (3 % before, 2.5 %
from it); every read model is rebuilt once (about a second on two cores).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from domain.payment_methods import PaymentSource
from domain.pricing import BillingPolicy
from ledger.application import EVENTS_TABLE, Ledger
from ledger.catalogue import load_catalogue
from ledger.clock import SimulatedClock
from ledger.database import Database
from projections import generations
from projections.base import install_functions
from projections.policy_versions import PolicyVersions
from projections.registry import all_projections
from projections.runner import Runner
from replay.rebuild import compare, rebuild_many
from tests.ledger.payments_support import ACH, VISA, open_partner


def test_r_o7_every_read_model_rebuilt_after_a_policy_change_equals_the_live_one(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    _, _, invoice_ids = open_partner(ledger, ACH, VISA, lines=2)
    ledger.schedule_policy_change({"card_fee_rate": "0.025"}, date(2026, 2, 2))
    ledger.pay_invoice(invoice_ids[0], PaymentSource.CARD)
    clock.set(datetime(2026, 2, 2, 12, tzinfo=UTC))
    ledger.pay_invoice(invoice_ids[1], PaymentSource.CARD)
    totals = [ledger.invoice(invoice_id).total for invoice_id in invoice_ids]
    assert [total.amount_minor for total in totals] == [25_75, 25_63]

    projections = all_projections()
    with database.connect() as conn:
        install_functions(conn)
        for projection in projections:
            generations.ensure_live(conn, projection)
    live = Runner.following_live(database.connect, projections, events_table=EVENTS_TABLE)
    live.catch_up()
    live.close()

    rebuilt = rebuild_many(database, projections)
    differences = {
        projection.name: compare(database, projection, built.generation)
        for projection, built in zip(projections, rebuilt, strict=True)
    }
    assert {name: diff.empty for name, diff in differences.items()} == {
        projection.name: True for projection in projections
    }
    with database.connect() as conn:
        [version] = PolicyVersions.all(conn)
    assert (version.change.version, version.change.effective_from) == (1, date(2026, 2, 2))

    # Another process started with other constants (a 5 % card fee as its version 0) reads
    # the same amounts: they are in the events, decided when each payment was made.
    other = Ledger(
        database,
        clock,
        policy=BillingPolicy(card_fee_rate=Decimal("0.05")),
        catalogue=load_catalogue(),
        pool_size=1,
    )
    try:
        assert [other.invoice(invoice_id).total for invoice_id in invoice_ids] == totals
        assert other.policy_on(date(2026, 2, 2)).card_fee_rate == Decimal("0.025")
    finally:
        other.close()
