"""Otter unified billing (seed 000), end to end on PostgreSQL, driven by the billing clock.

A partner in New York pays Otter for its clients' POS integrations ($49 per location per
month). The clock starts on Saturday 2026-01-31 09:30 UTC, 04:30 in New York.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest

from domain.calendar import Anchor, BillingPeriod
from domain.errors import BillingError, CardInvalid, ClientNotInUnifiedBilling
from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money
from domain.partner_account import AccountStatus
from domain.payment_methods import (
    BankAccountDetails,
    BankAccountToken,
    CardBrand,
    CardDetails,
    CardToken,
    PaymentSource,
)
from domain.values import Address, Location, Payer
from ledger.application import Ledger
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock
from ledger.database import Database
from tests.ledger.scenarios.otter_chatapp_support import (
    assert_double_entry,
    card_fees,
    emails,
    issued,
    logged_events,
    payments,
    products,
    query,
)

NEW_YORK = "America/New_York"
BILLING_EMAIL = "billing@ghostkitchens.example"
ADDRESS = Address.of(["350 Fifth Avenue", "Suite 4100"], "New York", "10118", "US")
VISA = CardDetails("4242424242424242", 12, 2030, "Maria Lopez", "123", "10118")
MASTERCARD = CardDetails("5555555555554444", 8, 2031, "Maria Lopez", "321", "10118")
EXPIRED_AT_BANK = CardDetails("4000000000000069", 12, 2030, "Maria Lopez", "123", "10118")
ACH = BankAccountDetails("110000000", "000123456789", "Ghost Kitchens Inc")
SEAT = 4900  # $49.00 per location per month
SEAT_FEE = 147  # 3 % of $49.00 (R-O7)
CARD = PaymentSource.CARD
FEE = "Card processing fee (3 %)"
JAN_31_TO_FEB_28 = BillingPeriod(date(2026, 1, 31), date(2026, 2, 28))
FEB_28_TO_MAR_31 = BillingPeriod(date(2026, 2, 28), date(2026, 3, 31))
MAR_31_TO_APR_30 = BillingPeriod(date(2026, 3, 31), date(2026, 4, 30))


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def at(year: int, month: int, day: int) -> datetime:
    """15:00 UTC, 10:00 or 11:00 in New York: that day's work is due."""
    return datetime(year, month, day, 15, tzinfo=UTC)


def place(name: str) -> Location:
    return Location(uuid5(NAMESPACE_URL, f"https://otter.example/locations/{name}"), name)


def open_partner(
    ledger: Ledger,
    *,
    anchor: Anchor = Anchor.ANNIVERSARY,
    card: CardDetails | None = VISA,
    autopay: PaymentSource | None = CARD,
) -> UUID:
    """R-O1: billing entity, address, e-mail and a card; new invoices charge it (autopay)."""
    partner = ledger.open_partner_account(
        name="Ghost Kitchens Inc", currency="USD", time_zone=NEW_YORK, anchor=anchor, key="open"
    ).aggregate_id
    assert partner is not None
    ledger.record_billing_profile(partner, "Ghost Kitchens Inc", ADDRESS, BILLING_EMAIL, key="bp")
    if card is not None:
        ledger.add_payment_method(partner, card, make_default=True, key="card")
    if autopay is not None:
        ledger.set_account_autopay(partner, autopay, key="autopay")
    return partner


def unified_client(
    ledger: Ledger, partner: UUID, name: str, *places: str, email: str | None = None
) -> tuple[UUID, UUID]:
    """A client in unified billing with one POS line over its locations, activated today."""
    client = ledger.register_client(partner, name=name, email=email, key=f"c/{name}").aggregate_id
    assert client is not None
    spots = tuple(place(p) for p in places)
    line = ledger.create_line(
        partner, client, "pos-location", unified_billing=True, locations=spots, key=f"line/{name}"
    ).aggregate_id
    assert line is not None
    assert "invoice_id" not in ledger.activate_line(line, key=f"activate/{name}").data
    return client, line


def test_r_o1_billing_profile_card_and_ach_are_kept_as_tokens_and_ach_pays_without_fee(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger, autopay=PaymentSource.DIRECT_DEBIT)
    ach = ledger.add_payment_method(partner, ACH, make_default=True, key="ach")
    bad = CardDetails("4242424242424241", 12, 2030, "Maria Lopez", "123", "10118")
    with pytest.raises(CardInvalid):
        ledger.add_payment_method(partner, bad, key="bad-card")

    account = ledger.partner_account(partner)
    assert (account.entity, account.address) == ("Ghost Kitchens Inc", ADDRESS)
    assert account.billing_email == BILLING_EMAIL
    methods = {type(method): method for method in account.payment_methods.values()}
    card, bank = methods[CardToken], methods[BankAccountToken]
    assert isinstance(card, CardToken)
    assert isinstance(bank, BankAccountToken)
    assert (card.brand, card.last4) == (CardBrand.VISA, "4242")
    assert (card.expiry_month, card.expiry_year) == (12, 2030)
    assert (bank.last4, bank.routing_number) == ("6789", "110000000")
    assert account.default_method_id == UUID(ach.data["method_id"])
    states = query(database, "SELECT convert_from(state, 'UTF8') FROM ledger_events")
    assert not [s for (s,) in states if "4242424242424242" in s or "000123456789" in s]  # R-X4

    # The ACH debit goes out on Saturday Jan 31 and settles two business days later, Feb 3.
    unified_client(ledger, partner, "Taqueria Sol", "Downtown")
    tick(ledger, clock.now())
    [invoice] = issued(ledger, database, partner)
    assert (invoice.number, invoice.status) == ("INV-2026-000001", InvoiceStatus.OPEN)
    assert invoice.pending_total == usd(SEAT)
    clock.set(at(2026, 2, 3))
    tick(ledger, clock.now())
    invoice = ledger.invoice(invoice.id)
    assert invoice.status is InvoiceStatus.SETTLED
    assert card_fees(invoice) == []  # R-O7: only a card carries the fee
    assert payments(invoice) == [(PaymentSource.DIRECT_DEBIT, SEAT, 0)]
    assert_double_entry(ledger, database, [partner])


def test_r_o2_r_o3_r_o7_an_anniversary_on_the_31st_bills_one_itemised_invoice_a_month(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    unified_client(ledger, partner, "Taqueria Sol", "Downtown", "Harbor")
    unified_client(ledger, partner, "Pho Lan", "Midtown")
    account = ledger.partner_account(partner)
    assert (account.anchor, account.anchor_day) == (Anchor.ANNIVERSARY, 31)
    assert account.next_billing_date == date(2026, 1, 31)
    assert len(account.deferred_charges) == 3

    clock.set(at(2026, 3, 31))
    report = tick(ledger, clock.now())

    assert (report.done["unified_invoice"], report.done["renew"]) == (3, 4)
    invoices = issued(ledger, database, partner)
    assert [(i.number, i.issued_on) for i in invoices] == [
        ("INV-2026-000001", date(2026, 1, 31)),
        ("INV-2026-000002", date(2026, 2, 28)),  # clamped to February's last day (R-O2)
        ("INV-2026-000003", date(2026, 3, 31)),  # and back on the 31st
    ]
    periods = (JAN_31_TO_FEB_28, FEB_28_TO_MAR_31, MAR_31_TO_APR_30)
    for invoice, period in zip(invoices, periods, strict=True):
        # R-O3: one invoice, one line per active location, naming the location.
        assert products(invoice) == [
            ("POS integration, location: Downtown", SEAT, period),
            ("POS integration, location: Harbor", SEAT, period),
            ("POS integration, location: Midtown", SEAT, period),
        ]
        named = {line.location.name for line in invoice.lines if line.location}
        assert named == {"Downtown", "Harbor", "Midtown"}
        assert (invoice.payer, invoice.client_id) == (Payer.PARTNER, None)
        # R-O7: 3 % of $147.00 is $4.41, its own line, charged with the rest.
        assert card_fees(invoice) == [(FEE, 441)]
        assert (invoice.total, invoice.status) == (usd(15141), InvoiceStatus.SETTLED)
        assert payments(invoice) == [(CARD, 15141, 441)]
    work = "SELECT DISTINCT kind, due_on FROM schedule WHERE partner_id = %s"
    assert query(database, work, partner) == [("renew", date(2026, 4, 30))]
    assert tick(ledger, clock.now()).total == 0
    assert_double_entry(ledger, database, [partner])


def test_r_o2_r_o3_a_line_started_mid_month_is_prorated_onto_the_partners_billing_day(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    _, taqueria = unified_client(ledger, partner, "Taqueria Sol", "Downtown")
    tick(ledger, clock.now())

    clock.set(at(2026, 2, 10))
    unified_client(ledger, partner, "Pho Lan", "Midtown")
    clock.set(at(2026, 2, 15))
    ledger.add_location(taqueria, place("Harbor"), key="harbor")  # billed from the next invoice
    clock.set(at(2026, 2, 28))
    tick(ledger, clock.now())

    first, second = issued(ledger, database, partner)
    assert (first.issued_on, first.total) == (date(2026, 1, 31), usd(SEAT + SEAT_FEE))
    # Feb 10 to Feb 28 is 18 of the 28 days from Jan 31: $49.00 x 18/28 = $31.50.
    assert products(second) == [
        ("POS integration, location: Downtown", SEAT, FEB_28_TO_MAR_31),
        ("POS integration, location: Harbor", SEAT, FEB_28_TO_MAR_31),
        (
            "POS integration, location: Midtown",
            3150,
            BillingPeriod(date(2026, 2, 10), date(2026, 2, 28)),
        ),
        ("POS integration, location: Midtown", SEAT, FEB_28_TO_MAR_31),
    ]
    assert card_fees(second) == [(FEE, 536)]  # 3 % of $178.50 is $5.355: half up, $5.36
    assert (second.number, second.issued_on) == ("INV-2026-000002", date(2026, 2, 28))
    assert (second.total, second.status) == (usd(18386), InvoiceStatus.SETTLED)
    assert_double_entry(ledger, database, [partner])


def leap(start_month: int, start_day: int, end_month: int, end_day: int) -> BillingPeriod:
    return BillingPeriod(date(2028, start_month, start_day), date(2028, end_month, end_day))


def test_r_o2_in_a_leap_year_the_31st_clamps_to_february_29th(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    clock.set(at(2028, 1, 31))
    partner = open_partner(ledger)
    _, line = unified_client(ledger, partner, "Taqueria Sol", "Downtown")

    clock.set(at(2028, 3, 31))
    tick(ledger, clock.now())

    invoices = issued(ledger, database, partner)
    billed = [(i.number, i.issued_on, products(i)[0][2], i.total.amount_minor) for i in invoices]
    assert billed == [
        ("INV-2028-000001", date(2028, 1, 31), leap(1, 31, 2, 29), SEAT + SEAT_FEE),
        ("INV-2028-000002", date(2028, 2, 29), leap(2, 29, 3, 31), SEAT + SEAT_FEE),
        ("INV-2028-000003", date(2028, 3, 31), leap(3, 31, 4, 30), SEAT + SEAT_FEE),
    ]
    assert ledger.line(line).current_period == leap(3, 31, 4, 30)


def test_r_o2_r_o7_a_calendar_partner_is_billed_on_the_1st_and_a_bank_transfer_pays_no_fee(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger, anchor=Anchor.CALENDAR, card=None, autopay=None)
    _, line = unified_client(ledger, partner, "Taqueria Sol", "Downtown", "Harbor")
    jan_31 = BillingPeriod(date(2026, 1, 31), date(2026, 2, 1))
    assert ledger.line(line).current_period == jan_31
    assert tick(ledger, clock.now()).total == 0  # nothing is billed before the 1st

    clock.set(at(2026, 2, 1))
    tick(ledger, clock.now())

    [invoice] = issued(ledger, database, partner)
    # Jan 31 alone is 1/31 of a month: $49.00 / 31 = $1.58 per location; then February whole.
    february = BillingPeriod(date(2026, 2, 1), date(2026, 3, 1))
    assert products(invoice) == [
        ("POS integration, location: Downtown", 158, jan_31),
        ("POS integration, location: Downtown", SEAT, february),
        ("POS integration, location: Harbor", 158, jan_31),
        ("POS integration, location: Harbor", SEAT, february),
    ]
    assert (invoice.number, invoice.issued_on) == ("INV-2026-000001", date(2026, 2, 1))
    assert invoice.due_on == date(2026, 2, 15)  # net 14
    ledger.pay_invoice(invoice.id, PaymentSource.BANK_TRANSFER, reference="WIRE 0001", key="wire")
    invoice = ledger.invoice(invoice.id)
    assert (invoice.status, invoice.total) == (InvoiceStatus.SETTLED, usd(10116))
    assert card_fees(invoice) == []

    clock.set(at(2026, 3, 1))
    tick(ledger, clock.now())
    second = issued(ledger, database, partner)[1]
    assert (second.number, second.issued_on) == ("INV-2026-000002", date(2026, 3, 1))
    assert second.total == usd(2 * SEAT)
    assert_double_entry(ledger, database, [partner])


def test_r_o4_a_client_removed_from_unified_billing_is_billed_itself(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    unified_client(ledger, partner, "Taqueria Sol", "Downtown", "Harbor")
    pho, pho_line = unified_client(ledger, partner, "Pho Lan", "Midtown", email="own@pho.example")
    tick(ledger, clock.now())
    assert issued(ledger, database, partner)[0].total == usd(15141)

    clock.set(at(2026, 2, 10))
    ledger.remove_client_from_unified_billing(partner, pho, key="remove/pho")
    with pytest.raises(ClientNotInUnifiedBilling):
        ledger.remove_client_from_unified_billing(partner, pho, key="remove/pho/again")
    assert ledger.partner_account(partner).client(pho).unified_billing is False
    subscription = ledger.line(pho_line)
    assert (subscription.unified_billing, subscription.payer) == (False, Payer.CLIENT)

    clock.set(at(2026, 2, 28))
    tick(ledger, clock.now())

    _, own, unified = issued(ledger, database, partner)
    # The client's renewal is issued first: renewals come before the unified run.
    assert (own.number, own.payer) == ("INV-2026-000002", Payer.CLIENT)
    assert (own.payer_id, own.client_id) == (pho, pho)
    assert products(own) == [("POS integration, location: Midtown", SEAT, FEB_28_TO_MAR_31)]
    assert (own.status, own.expected_source) == (InvoiceStatus.OPEN, PaymentSource.BANK_TRANSFER)
    assert own.due_on == date(2026, 3, 14)
    assert unified.number == "INV-2026-000003"
    assert products(unified) == [
        ("POS integration, location: Downtown", SEAT, FEB_28_TO_MAR_31),
        ("POS integration, location: Harbor", SEAT, FEB_28_TO_MAR_31),
    ]
    assert (unified.total, unified.status) == (usd(10094), InvoiceStatus.SETTLED)
    recipients = [to for to, _, _ in emails(database, "invoice_issued")]
    assert recipients == [BILLING_EMAIL, "own@pho.example", BILLING_EMAIL]
    owed = query(database, "SELECT payer_id FROM open_invoices WHERE partner_id = %s", partner)
    assert owed == [(pho,)]
    assert_double_entry(ledger, database, [partner])


def test_r_o4_a_removed_client_is_not_put_back_on_the_partners_invoice_by_a_new_line(
    ledger: Ledger,
) -> None:
    partner = open_partner(ledger)
    pho, _ = unified_client(ledger, partner, "Pho Lan", "Midtown", email="own@pho.example")
    ledger.remove_client_from_unified_billing(partner, pho, key="remove/pho")

    uptown = (place("Uptown"),)
    with pytest.raises(BillingError):  # else the partner pays for it again
        ledger.create_line(
            partner, pho, "pos-location", unified_billing=True, locations=uptown, key="line/uptown"
        )


def test_r_o4_a_client_with_a_cancelled_line_can_still_be_removed(ledger: Ledger) -> None:
    partner = open_partner(ledger)
    pho, old_line = unified_client(ledger, partner, "Pho Lan", "Midtown")
    new_line = ledger.create_line(
        partner, pho, "pos-location", unified_billing=True, locations=(place("Uptown"),), key="l2"
    ).aggregate_id
    assert new_line is not None
    ledger.activate_line(new_line, key="activate/l2")
    ledger.cancel_line(old_line, "Midtown closed", key="cancel/midtown")

    ledger.remove_client_from_unified_billing(partner, pho, key="remove/pho")

    assert ledger.partner_account(partner).client(pho).unified_billing is False
    assert ledger.line(new_line).payer is Payer.CLIENT


def test_r_o5_every_past_invoice_is_in_the_event_store_and_was_emailed(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    unified_client(ledger, partner, "Taqueria Sol", "Downtown")
    clock.set(at(2026, 3, 31))
    tick(ledger, clock.now())

    clock.set(at(2026, 9, 1))  # months later, the partner fetches them again
    events = logged_events(ledger, database)
    numbers = [e.number for e in events if isinstance(e, Invoice.Issued)]
    assert numbers == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
    invoices = issued(ledger, database, partner)
    assert [(i.number, i.total.amount_minor, i.status) for i in invoices] == [
        (number, SEAT + SEAT_FEE, InvoiceStatus.SETTLED) for number in numbers
    ]
    sent = emails(database, "invoice_issued")
    assert len(sent) == 3
    for (to, subject, body), invoice in zip(sent, invoices, strict=True):
        assert to == BILLING_EMAIL
        assert subject == f"Invoice {invoice.number} from Ghost Kitchens Inc: 49.00 USD"
        assert "POS integration, location: Downtown: 49.00 USD" in body
        assert f"https://billing.example/invoices/{invoice.id}" in body
    assert tick(ledger, clock.now()).done["unified_invoice"] == 5  # April to August
    assert len(emails(database, "invoice_issued")) == 8


def test_r_o6_the_partner_replaces_its_card_what_failed_is_charged_and_the_day_stays(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger, card=EXPIRED_AT_BANK)
    old_method = ledger.partner_account(partner).default_method_id
    assert old_method is not None
    unified_client(ledger, partner, "Taqueria Sol", "Downtown")
    tick(ledger, clock.now())
    [first] = issued(ledger, database, partner)
    assert (first.status, first.failed_attempts) == (InvoiceStatus.OPEN, 1)
    assert first.last_decline == "expired_card"
    assert ledger.partner_account(partner).status is AccountStatus.IN_GRACE
    [(to, subject, body)] = emails(database, "payment_failed")
    assert (to, subject) == (BILLING_EMAIL, "Payment failed for invoice INV-2026-000001")
    assert f"https://billing.example/partners/{partner}/payment-methods" in body

    clock.set(at(2026, 2, 3))
    result = ledger.replace_payment_method(partner, old_method, MASTERCARD, key="new-card")

    [charge] = result.data["charges"]
    assert (charge["invoice_id"], charge["charge_status"]) == (str(first.id), "succeeded")
    first = ledger.invoice(first.id)
    assert (first.status, payments(first)) == (InvoiceStatus.SETTLED, [(CARD, 5047, 147)])
    account = ledger.partner_account(partner)
    assert account.status is AccountStatus.ACTIVE
    [(method_id, method)] = account.payment_methods.items()
    assert isinstance(method, CardToken)
    assert (method.brand, method.last4) == (CardBrand.MASTERCARD, "4444")
    assert UUID(method_id) == account.default_method_id

    clock.set(at(2026, 2, 28))
    tick(ledger, clock.now())
    _, second = issued(ledger, database, partner)
    # The billing day did not move, and the new card paid.
    assert (second.number, second.issued_on) == ("INV-2026-000002", date(2026, 2, 28))
    assert (second.status, payments(second)) == (InvoiceStatus.SETTLED, [(CARD, 5047, 147)])
    assert_double_entry(ledger, database, [partner])
