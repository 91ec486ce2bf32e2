"""Prices as history in the ledger (issue 13): a scheduled change reaches renewals from its
date, a grandfathered one only new lines, a partner's override shows on its invoice lines,
a retired product sells no new line, and the catalogue file imports once.

Each test opens one partner and one line on the test's database (which holds the shipped
catalogue, imported by the template's first start): a few commands each, well under a second.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from domain.catalogue import PriceChangeScope
from domain.errors import BillingError
from domain.invoice import Invoice
from domain.money import Money
from domain.values import PRICE_SET_ON_LEAD, InvoiceLine, InvoiceLineKind, Location
from ledger.application import EVENTS_TABLE, Ledger
from ledger.catalogue import import_catalogue
from ledger.clock import SimulatedClock
from ledger.commands.catalogue import AddPrice, RetireProduct, SetPriceOverride
from ledger.commands.line_leads import InvoiceLeads

NEW_YORK = "America/New_York"


def partner_and_client(ledger: Ledger) -> tuple[UUID, UUID]:
    partner = ledger.open_partner_account(name="Acme", currency="USD", time_zone=NEW_YORK)
    assert partner.aggregate_id is not None
    client = ledger.register_client(partner.aggregate_id, name="Whitfield", unified_billing=False)
    assert client.aggregate_id is not None
    return partner.aggregate_id, client.aggregate_id


def active_line(ledger: Ledger, partner: UUID, client: UUID) -> UUID:
    shop = (Location(uuid4(), "Downtown"),)
    created = ledger.create_line(partner, client, "pos-location", locations=shop)
    assert created.aggregate_id is not None
    ledger.activate_line(created.aggregate_id)
    return created.aggregate_id


def product_line(ledger: Ledger, result_data: dict[str, object]) -> InvoiceLine:
    invoice = ledger.invoice(UUID(str(result_data["invoice_id"])))
    assert isinstance(invoice, Invoice)
    [item] = [item for item in invoice.lines if item.kind is InvoiceLineKind.PRODUCT]
    return item


def first_invoice_line(ledger: Ledger, line: UUID) -> InvoiceLine:
    with ledger.database.connect() as conn:
        row = conn.execute(
            f"SELECT originator_id FROM {EVENTS_TABLE} WHERE topic LIKE '%%Invoice.Issued' "
            "ORDER BY notification_id LIMIT 1"
        ).fetchone()
    assert row is not None
    invoice = ledger.invoice(UUID(str(row[0])))
    [item] = [item for item in invoice.lines if item.line_id == line]
    return item


def events_written(ledger: Ledger) -> int:
    with ledger.database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    return int(row[0])


def add_usd_price(ledger: Ledger, minor: int, on: date, scope: PriceChangeScope) -> str:
    added = ledger.execute(
        AddPrice(
            code="pos-location",
            amount=Money(minor, "USD"),
            effective_from=on,
            applies_to_existing=scope,
        )
    )
    return str(added.data["price_version"])


def test_r_x7_a_change_scheduled_for_next_month_reaches_renewals_starting_from_its_date(
    ledger: Ledger,
) -> None:
    """Periods starting before 15 March pay v1 (49.00); the first starting after pays v2."""
    partner, client = partner_and_client(ledger)
    line = active_line(ledger, partner, client)  # 31 January, at v1
    assert add_usd_price(ledger, 55_00, date(2026, 3, 15), PriceChangeScope.NEXT_RENEWAL) == (
        "pos-location@USD/v2"
    )
    first = first_invoice_line(ledger, line)
    february = product_line(ledger, ledger.renew_line(line, date(2026, 2, 28)).data)
    march = product_line(ledger, ledger.renew_line(line, date(2026, 3, 31)).data)
    assert [(i.price_version, i.amount) for i in (first, february, march)] == [
        ("pos-location@USD/v1", Money(49_00, "USD")),
        ("pos-location@USD/v1", Money(49_00, "USD")),  # starts 28 February: no mid-period change
        ("pos-location@USD/v2", Money(55_00, "USD")),
    ]


def test_r_c1_a_grandfathered_change_keeps_old_lines_at_their_price_and_sells_new_ones_at_it(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    partner, client = partner_and_client(ledger)
    old = active_line(ledger, partner, client)
    add_usd_price(ledger, 59_00, date(2026, 3, 15), PriceChangeScope.NEVER)
    clock.set(datetime(2026, 3, 20, 17, tzinfo=UTC))
    new = active_line(ledger, partner, client)
    ledger.renew_line(old, date(2026, 2, 28))
    kept = product_line(ledger, ledger.renew_line(old, date(2026, 3, 31)).data)
    sold = first_invoice_line_of(ledger, new)
    assert (kept.price_version, kept.amount) == ("pos-location@USD/v1", Money(49_00, "USD"))
    assert (sold.price_version, sold.amount) == ("pos-location@USD/v2", Money(59_00, "USD"))


def first_invoice_line_of(ledger: Ledger, line: UUID) -> InvoiceLine:
    with ledger.database.connect() as conn:
        rows = conn.execute(
            f"SELECT originator_id FROM {EVENTS_TABLE} WHERE topic LIKE '%%Invoice.Issued' "
            "ORDER BY notification_id"
        ).fetchall()
    for row in rows:
        invoice = ledger.invoice(UUID(str(row[0])))
        if line in invoice.line_ids:
            return next(item for item in invoice.lines if item.kind is InvoiceLineKind.PRODUCT)
    raise AssertionError(f"no invoice for {line}")


def test_r_o3_a_partner_override_shows_on_its_invoice_lines_from_its_date(ledger: Ledger) -> None:
    partner, client = partner_and_client(ledger)
    line = active_line(ledger, partner, client)
    ledger.execute(
        SetPriceOverride(
            partner_id=partner,
            code="pos-location",
            effective_from=date(2026, 3, 1),
            percent_off=Decimal("0.10"),
        )
    )
    before = product_line(ledger, ledger.renew_line(line, date(2026, 2, 28)).data)
    after = product_line(ledger, ledger.renew_line(line, date(2026, 3, 31)).data)
    assert (before.amount, before.price_override) == (Money(49_00, "USD"), None)
    assert (after.amount, after.price_override, after.price_version) == (
        Money(44_10, "USD"),
        "10 % off",
        "pos-location@USD/v1",
    )


def test_an_override_in_another_currency_or_too_soon_is_refused_and_writes_nothing(
    ledger: Ledger,
) -> None:
    partner, _ = partner_and_client(ledger)
    before = events_written(ledger)
    for command in (
        SetPriceOverride(
            partner_id=partner,
            code="pos-location",
            effective_from=date(2026, 3, 1),
            unit_price=Money(40_00, "EUR"),
        ),
        SetPriceOverride(
            partner_id=partner,
            code="pos-location",
            effective_from=date(2026, 1, 31),
            percent_off=Decimal("0.1"),
        ),
        SetPriceOverride(
            partner_id=partner, code="no-such", effective_from=date(2026, 3, 1), percent_off=None
        ),
    ):
        with pytest.raises(BillingError):
            ledger.execute(command)
    assert events_written(ledger) == before


def test_r_c1_a_retired_product_sells_no_new_line_and_its_lines_keep_renewing(
    ledger: Ledger,
) -> None:
    partner, client = partner_and_client(ledger)
    line = active_line(ledger, partner, client)
    ledger.execute(RetireProduct(code="pos-location"))
    before = events_written(ledger)
    with pytest.raises(BillingError) as refused:
        ledger.create_line(partner, client, "pos-location", locations=(Location(uuid4(), "B"),))
    assert refused.value.code == "product_retired"
    assert events_written(ledger) == before
    renewed = product_line(ledger, ledger.renew_line(line, date(2026, 2, 28)).data)
    assert renewed.amount == Money(49_00, "USD")


def test_r_x5_importing_a_catalogue_file_twice_writes_nothing_the_second_time(
    ledger: Ledger, tmp_path: Path
) -> None:
    """The shipped file is in the store already (the first start imported it); a new file
    with JPY and KWD prices imports once; its changed price, dated, adds one version."""
    before = events_written(ledger)
    assert all(result.replayed for result in import_catalogue(ledger.execute))
    assert events_written(ledger) == before
    path = tmp_path / "catalogue.toml"
    path.write_text(
        '[[product]]\ncode = "seat"\nname = "Seat"\nnames = { ru = "Место" }\n'
        'unit = "per_location"\nprices = { JPY = "1200", KWD = "1.250" }\n',
        encoding="utf-8",
    )
    [first] = import_catalogue(ledger.execute, path)
    assert first.data["prices_added"] == ["seat@JPY/v1", "seat@KWD/v1"]
    written = events_written(ledger)
    [again] = import_catalogue(ledger.execute, path)
    assert again.replayed
    assert events_written(ledger) == written
    path.write_text(
        path.read_text(encoding="utf-8").replace('"1200"', '"1500"')
        + 'effective_from = "2026-04-01"\n',
        encoding="utf-8",
    )
    [changed] = import_catalogue(ledger.execute, path)
    assert changed.data["prices_added"] == ["seat@JPY/v2", "seat@KWD/v2"]


OLD_LINE = Path(__file__).parent.parent / "fixtures" / "events" / "SubscriptionLine.Created.v1.json"
"""A line's creation as stored before price versions (no `price_version`)."""


def test_r_x6_a_line_stored_before_price_versions_replays_keeps_its_price_then_takes_a_change(
    ledger: Ledger,
) -> None:
    """The old event is stored as it was (version 1); the line loads through the upcaster,
    bills its own price unversioned while the imported version is in force, and the first
    change that applies to existing lines from its next renewal on."""
    partner, client = partner_and_client(ledger)
    state = json.loads(OLD_LINE.read_text(encoding="utf-8"))
    state["partner_id"]["_data_"], state["client_id"]["_data_"] = partner.hex, client.hex
    state["product_code"], state["unified_billing"] = "pos-location", False
    state["unit_price"]["_data_"]["amount_minor"] = 45_00  # sold before the file said 49.00
    line = uuid4()
    ledger.store.recorder.insert_events(
        [
            StoredEvent(
                originator_id=line,
                originator_version=1,
                topic="domain.subscription_line:SubscriptionLine.Created",
                state=json.dumps(state).encode(),
            )
        ]
    )
    assert ledger.line(line).price_version is None
    first = product_line(ledger, ledger.activate_line(line).data)
    add_usd_price(ledger, 52_00, date(2026, 3, 15), PriceChangeScope.NEXT_RENEWAL)
    ledger.renew_line(line, date(2026, 2, 28))
    changed = product_line(ledger, ledger.renew_line(line, date(2026, 3, 31)).data)
    assert (first.price_version, first.amount) == (None, Money(45_00, "USD"))
    assert (changed.price_version, changed.amount) == ("pos-location@USD/v2", Money(52_00, "USD"))


def test_r_l1_a_lead_is_priced_by_the_version_in_force_on_the_day_it_was_delivered(
    ledger: Ledger,
) -> None:
    partner, client = partner_and_client(ledger)
    created = ledger.create_line(partner, client, "lead")
    assert created.aggregate_id is not None
    line = created.aggregate_id
    ledger.activate_line(line)
    ledger.execute(
        AddPrice(code="lead", amount=Money(40_00, "USD"), effective_from=date(2026, 3, 1))
    )
    for lead, day in ((uuid4(), 27), (uuid4(), 28)):
        delivered = datetime(2026, 2, day, 17, tzinfo=UTC)  # noon in New York
        ledger.record_lead(line, lead, delivered_at=delivered)
    ledger.record_lead(line, uuid4(), delivered_at=datetime(2026, 3, 2, 17, tzinfo=UTC))
    prices = sorted(ledger.line(line).unbilled_leads.values(), key=lambda money: money.amount_minor)
    assert prices == [Money(35_00, "USD"), Money(35_00, "USD"), Money(40_00, "USD")]


def test_r_l1_each_lead_invoice_line_names_the_price_version_and_override_that_priced_it(
    ledger: Ledger,
) -> None:
    """Issue 13: the version and override in force on the delivery day are recorded with the
    lead and named on its invoice line; a lead its request priced names no version, and says
    so. One partner, one line, three leads and one Friday run: well under a second."""
    partner, client = partner_and_client(ledger)
    created = ledger.create_line(partner, client, "lead")
    assert created.aggregate_id is not None
    line = created.aggregate_id
    ledger.activate_line(line)
    ledger.execute(
        AddPrice(code="lead", amount=Money(40_00, "USD"), effective_from=date(2026, 3, 1))
    )
    ledger.execute(
        SetPriceOverride(
            partner_id=partner,
            code="lead",
            effective_from=date(2026, 3, 1),
            percent_off=Decimal("0.10"),
        )
    )
    before, after, priced = uuid4(), uuid4(), uuid4()
    ledger.record_lead(line, before, delivered_at=datetime(2026, 2, 27, 17, tzinfo=UTC))
    ledger.record_lead(line, after, delivered_at=datetime(2026, 3, 2, 17, tzinfo=UTC))
    ledger.record_lead(
        line, priced, delivered_at=datetime(2026, 3, 2, 18, tzinfo=UTC), price=Money(12_00, "USD")
    )
    issued = ledger.execute(InvoiceLeads(line_id=line, on=date(2026, 3, 6)))
    invoice = ledger.invoice(UUID(str(issued.data["invoice_id"])))
    named = {
        item.lead_id: (item.amount, item.price_version, item.price_override)
        for item in invoice.lines
    }
    assert named == {
        before: (Money(35_00, "USD"), "lead@USD/v1", None),
        after: (Money(36_00, "USD"), "lead@USD/v2", "10 % off"),
        priced: (Money(12_00, "USD"), None, PRICE_SET_ON_LEAD),
    }
    # Invoiced, the leads' versions leave the line's state with the leads themselves.
    assert (ledger.line(line).unbilled_versions, ledger.line(line).unbilled_overrides) == ({}, {})
