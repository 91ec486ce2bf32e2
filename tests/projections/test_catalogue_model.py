"""The catalogue read model (issue 13): products, price versions and overrides as added, a
retirement; applied one event per batch, it equals a rebuild from the whole log.

One partner and a few catalogue commands on the test's database: well under a second.
"""

from __future__ import annotations

from datetime import date

from domain.catalogue import PriceChangeScope
from domain.money import Money
from ledger.application import Ledger
from ledger.commands.catalogue import AddPrice, RetireProduct, SetPriceOverride
from ledger.database import Database
from projections.catalogue import CatalogueModel
from replay.rebuild import compare, rebuild
from tests.projections.support import live_runner


def test_prices_overrides_and_a_retirement_read_back_and_equal_a_rebuild(
    ledger: Ledger, database: Database
) -> None:
    partner = ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC")
    assert partner.aggregate_id is not None
    ledger.execute(
        AddPrice(
            code="lead",
            amount=Money(40_00, "USD"),
            effective_from=date(2026, 3, 1),
            applies_to_existing=PriceChangeScope.NEVER,
        )
    )
    ledger.execute(
        SetPriceOverride(
            partner_id=partner.aggregate_id,
            code="lead",
            effective_from=date(2026, 4, 1),
            unit_price=Money(30_00, "USD"),
        )
    )
    ledger.execute(RetireProduct(code="lead"))
    runner = live_runner(database, CatalogueModel(), batch_size=1)
    runner.catch_up()
    runner.close()
    with database.connect() as conn:
        [lead] = CatalogueModel.products(conn, "lead")
        overrides = CatalogueModel.overrides(conn, partner.aggregate_id)
        every = CatalogueModel.products(conn)
    assert (lead.names["en"], lead.unit, lead.retired_on) == ("Lead", "per_lead", date(2026, 1, 31))
    assert [(p.label, p.amount, p.effective_from, p.applies_to_existing) for p in lead.prices] == [
        ("lead@USD/v1", Money(35_00, "USD"), date(2000, 1, 1), "next_renewal"),
        ("lead@USD/v2", Money(40_00, "USD"), date(2026, 3, 1), "never"),
    ]
    assert [(o.code, o.unit_price, o.percent_off) for o in overrides] == [
        ("lead", Money(30_00, "USD"), None)
    ]
    assert len(every) == 5  # the shipped catalogue's products
    difference = compare(database, CatalogueModel(), rebuild(database, CatalogueModel()).generation)
    assert difference.empty, difference
