"""The activity feed (R-H7): a line's history reads in log order, in words, with its invoices'
payments, and never shows card data (R-X4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from domain.money import Money
from domain.payment_methods import CardDetails, PaymentSource
from domain.values import Location, Payer
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.commands.lines import Outstanding
from ledger.database import Database
from projections.activity import (
    INVOICE_EVENTS,
    LINE_EVENTS,
    ActivityFeed,
    describe,
    feed,
    money_text,
)
from tests.histories import make_history
from tests.projections.support import live_runner

EXPIRED = CardDetails("4000000000000069", 12, 2030, "Dana Whitfield", "987", "90012")
"""The simulator declines it: `expired_card`, "The card has expired."."""
GOOD = CardDetails("5555555555554444", 12, 2030, "Dana Whitfield", "321", "90012")
PLAN = "39.00 USD"
CHARGED = "40.17 USD"
"""39.00 USD and its 3 % card fee (R-O7)."""
CARDS = ["4242424242424242", "5555555555554444", "4000000000000002"]
"""The cards tests/histories.py pays with."""
FIXTURES = Path(__file__).parent.parent / "fixtures" / "events"
SENTENCES = {
    "SubscriptionLine.Created": "Created as a draft: POS seat at 30.00 USD per location a month, "
    "billed monthly, paid by the partner, for 1 location.",
    "SubscriptionLine.Sent": "Sent to the customer to pay and accept.",
    "SubscriptionLine.Accepted": "Accepted by the customer.",
    "SubscriptionLine.StartScheduled": "Set to start on 16 Jan 2026: activated and invoiced then.",
    "SubscriptionLine.Activated": "Activated: the first period is 15 Jan 2026 to 14 Feb 2026.",
    "SubscriptionLine.Renewed": "Renewed for 15 Feb 2026 to 14 Mar 2026.",
    "SubscriptionLine.Paused": "Paused: client asked.",
    "SubscriptionLine.Resumed": "Resumed; the billing date has not moved.",
    "SubscriptionLine.Cancelled": "Cancelled on 1 Mar 2026: client closed.",
    "SubscriptionLine.LocationAdded": "Location Harbour added.",
    "SubscriptionLine.LocationRemoved": "Location Harbour removed.",
    "SubscriptionLine.RemovedFromUnifiedBilling": "Removed from unified billing: the client pays "
    "for it from now on.",
    "SubscriptionLine.AutopaySet": "Autopay turned on: renewals are paid by card.",
    "SubscriptionLine.CardAttached": "Card attached: Visa ending in 4242.",
    "SubscriptionLine.Invoiced": "Invoice INV-000001 issued for 30.00 USD, "
    "for 15 Jan 2026 to 14 Feb 2026.",
    "SubscriptionLine.InvoiceSettled": "Invoice INV-000001 settled: "
    "nothing is owed on it any more.",
    "SubscriptionLine.InvoiceVoided": "Invoice INV-000001 voided.",
    "SubscriptionLine.LeadRecorded": "Lead delivered on 15 Jan 2026, charged 25.00 USD.",
    "SubscriptionLine.LeadsInvoiced": "1 lead on invoice INV-000001 for 25.00 USD.",
    "SubscriptionLine.TransferRequested": "Transfer of Bistro Uno to another reseller requested, "
    "preferred date 1 Feb 2026, billed annually, paid by direct debit.",
    "SubscriptionLine.TransferConsentGiven": "The client consented to the transfer.",
    "SubscriptionLine.TransferScheduled": "Transfer scheduled for 1 Feb 2026.",
    "SubscriptionLine.Transferred": "Transferred to the new reseller on 1 Feb 2026, "
    "billed annually.",
    "Invoice.PaymentReceived": "Payment of 333.72 USD received by card for invoice INV-000001, "
    "with a card fee of 9.72 USD.",
    "Invoice.PaymentFailed": "Payment of 324.00 USD by card for invoice INV-000001 failed: "
    "The card has expired.",
    "Invoice.PaymentPending": "Direct debit of 324.00 USD submitted for invoice INV-000001.",
    "Invoice.PaymentRefunded": "Refund of 10.00 USD (paid by card) on invoice INV-000001: "
    "goodwill.",
    "Invoice.CreditNoteIssued": "Credit note CN-000001 of 25.00 USD on invoice INV-000001: "
    "lead was a duplicate.",
    "Invoice.MarkedOverdue": "Invoice INV-000001 is overdue since 16 Jan 2026.",
}
"""The sentence of every kind of entry, for the stored event of tests/fixtures/events."""


def project(database: Database) -> None:
    runner = live_runner(database, ActivityFeed(), batch_size=7)
    runner.catch_up()
    runner.close()


def open_business(ledger: Ledger) -> tuple[UUID, UUID]:
    partner = ledger.open_partner_account(
        name="Sparkle Plumbing", currency="USD", time_zone="America/Los_Angeles", key="open"
    ).aggregate_id
    assert partner is not None
    client = ledger.register_client(
        partner, name="Dana Whitfield", email="dana@example.com", unified_billing=False, key="c"
    ).aggregate_id
    assert client is not None
    return partner, client


def test_r_h7_a_plans_history_reads_in_order_with_its_invoices_payments(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner, client = open_business(ledger)
    line = ledger.create_line(
        partner, client, "service-plan", payer=Payer.CLIENT, key="plan"
    ).aggregate_id
    assert line is not None
    other = ledger.create_line(partner, client, "service-plan", key="other").aggregate_id
    assert other is not None
    ledger.attach_line_card(line, EXPIRED, key="card/expired")
    ledger.send_line(line, key="send")
    ledger.accept_line(line, key="accept")
    activated = ledger.activate_line(line, key="activate")  # the card charge is declined
    invoice = UUID(activated.data["invoice_id"])
    number = ledger.invoice(invoice).number
    ledger.attach_line_card(line, GOOD, Outstanding.CHARGE_ALL, key="card/good")
    [payment_id] = ledger.invoice(invoice).payments
    ledger.refund(invoice, UUID(payment_id), Money(10_00, "USD"), "goodwill", key="refund")
    ledger.pause_line(line, "client on holiday", key="pause")
    ledger.resume_line(line, key="resume")
    ledger.set_line_autopay(line, PaymentSource.CARD, key="autopay")
    ledger.cancel_line(line, "Dana sold the house", key="cancel")
    project(database)

    with database.connect() as conn:
        entries = feed(conn, line)
        [others] = feed(conn, other)  # its own feed: one entry, none of the first line's
        assert others.text.startswith("Created as a draft: Service plan")
        second_page = feed(conn, line, after_position=entries[2].position, limit=2)

    assert [e.entry for e in entries] == list(range(1, len(entries) + 1))
    assert [e.position for e in entries] == sorted(e.position for e in entries)
    assert second_page == entries[3:5]
    texts = [e.text for e in entries]
    assert texts == [
        "Created as a draft: Service plan at 39.00 USD a month, billed monthly, "
        "paid by the client.",
        "Card attached: Visa ending in 0069.",
        "Sent to the customer to pay and accept.",
        "Accepted by the customer.",
        "Activated: the first period is 31 Jan 2026 to 27 Feb 2026.",
        f"Invoice {number} issued for {PLAN}, for 31 Jan 2026 to 27 Feb 2026.",
        f"Payment of {CHARGED} by card for invoice {number} failed: The card has expired.",
        "Card attached: Mastercard ending in 4444.",
        f"Payment of {CHARGED} received by card for invoice {number}, with a card fee of 1.17 USD.",
        f"Invoice {number} settled: nothing is owed on it any more.",
        f"Refund of 10.00 USD (paid by card) on invoice {number}: goodwill.",
        "Paused: client on holiday.",
        "Resumed; the billing date has not moved.",
        "Autopay turned on: renewals are paid by card.",
        "Cancelled on 31 Jan 2026: Dana sold the house.",
    ]
    assert [e.kind for e in entries][6] == "Invoice.PaymentFailed"
    assert entries[0].recorded_at == datetime(2026, 1, 31, 9, 30, tzinfo=UTC)


def test_r_x4_a_card_shows_as_its_brand_and_last_4_digits_only(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    make_history(ledger, clock, 5, steps=60)
    partner, client = open_business(ledger)
    line = ledger.create_line(partner, client, "service-plan", payer=Payer.CLIENT, key="plan")
    assert line.aggregate_id is not None
    ledger.attach_line_card(line.aggregate_id, GOOD, key="card")
    project(database)
    numbers = [GOOD.number, EXPIRED.number, *CARDS]
    with database.connect() as conn:
        stored = conn.execute("SELECT line_id, kind, facts::text FROM activity").fetchall()
        lines = {row[0] for row in stored}
        rows = [(e.kind, e.text) for line_id in lines for e in feed(conn, line_id, limit=500)]
    for _, _, facts in stored:  # the stored facts hold no card data either
        assert not any(number in facts or number[-10:] in facts for number in numbers), facts
        assert "tok_" not in facts
        assert '"expiry' not in facts
        assert '"holder' not in facts
    cards = [text for kind, text in rows if kind == "SubscriptionLine.CardAttached"]
    assert cards == ["Card attached: Mastercard ending in 4444."]
    for _, text in rows:
        assert not any(number[:6] in text for number in numbers), text
        assert "tok_" not in text
        assert "2030" not in text  # nor the expiry


def test_r_h7_locations_read_with_their_names_when_they_leave(
    ledger: Ledger, database: Database
) -> None:
    partner, client = open_business(ledger)
    main, harbour = (Location(UUID(int=n), name) for n, name in ((1, "Main St"), (2, "Harbour")))
    line = ledger.create_line(
        partner, client, "pos-location", locations=(main,), key="pos"
    ).aggregate_id
    assert line is not None
    ledger.add_location(line, harbour, key="add")
    ledger.remove_location(line, harbour.location_id, key="remove")
    project(database)
    with database.connect() as conn:
        texts = [entry.text for entry in feed(conn, line)]
    assert texts == [
        "Created as a draft: POS integration at 49.00 USD per location a month, billed monthly, "
        "paid by the partner, for 1 location.",
        "Location Harbour added.",
        "Location Harbour removed.",
    ]


@pytest.mark.parametrize(
    ("amount_minor", "currency", "text"),
    [
        (123456, "USD", "1,234.56 USD"),
        (5, "EUR", "0.05 EUR"),
        (-3600, "USD", "-36.00 USD"),
        (150000, "JPY", "150,000 JPY"),
        (1234567, "BHD", "1,234.567 BHD"),
        (9_223_372_036_854_775_807, "USD", "92,233,720,368,547,758.07 USD"),
    ],
)
def test_r_x1_amounts_read_in_major_units_without_rounding(
    amount_minor: int, currency: str, text: str
) -> None:
    money = {"_type_": "money", "_data_": {"amount_minor": amount_minor, "currency": currency}}
    assert money_text(money) == text


def test_an_amount_in_a_currency_without_a_known_exponent_is_refused_not_guessed() -> None:
    money = {"_type_": "money", "_data_": {"amount_minor": 1, "currency": "XTS"}}
    with pytest.raises(ValueError, match="XTS"):
        money_text(money)


def test_r_h7_every_kind_of_entry_has_its_sentence() -> None:
    assert set(SENTENCES) == {*LINE_EVENTS, *INVOICE_EVENTS}
    for kind, sentence in SENTENCES.items():
        stored = json.loads((FIXTURES / f"{kind}.json").read_text())
        assert describe(kind, stored, "INV-000001", "Harbour") == sentence, kind
