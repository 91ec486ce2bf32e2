"""Housecall Pro (seed 003): client-paid service plans, failed and overdue payments (R-H1 … R-H7).

Sparkle Plumbing, in Los Angeles, sells Dana Whitfield service plans at 39.00 USD a month that
Dana pays herself. A card payment adds the 3 % fee (1.17 USD, so 40.17 USD is charged); other
invoices are due 14 days after issue. The clock starts on Saturday 31 January 2026.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import pytest

from domain.calendar import BillingPeriod, Term
from domain.errors import InvalidTransition, OfflinePaymentNotRefundable, RefundExceedsPayment
from domain.invoice import MARKED_PAID_NOTE, Invoice, InvoiceStatus
from domain.money import Money
from domain.payment_methods import CardDetails, PaymentSource
from domain.subscription_line import SubscriptionLine
from domain.values import Address, Payer
from ledger.application import EVENTS_TABLE, Ledger
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock
from ledger.commands.lines import Outstanding
from ledger.database import Database
from ledger.payments.simulator import SimulatedGateway
from tests.ledger.scenarios.exclaimer_housecall_support import (
    assert_double_entry,
    banner,
    event_count,
    history,
    is_flagged_outstanding,
    local,
    mails,
    names,
    of_type,
    scheduled,
)

LOS_ANGELES = "America/Los_Angeles"
PLAN = Money(39_00, "USD")
CHARGED = Money(40_17, "USD")
"""39.00 USD and its 3 % card fee of 1.17 USD (R-O7)."""
ANNUAL_PLAN = Money(468_00, "USD")
"""Twelve months at 39.00 USD, billed once a year."""
CLIENT_EMAIL = "dana@whitfield.example"
BUSINESS_EMAIL = "office@sparkle.example"
EXPIRING = CardDetails("4242424242424242", 2, 2026, "Dana Whitfield", "123", "90012")
"""Good through February 2026: the March renewal finds it expired."""
NEW_CARD = CardDetails("5555555555554444", 12, 2030, "Dana Whitfield", "321", "90012")
SPARE_CARD = CardDetails("4242424242424242", 12, 2031, "Dana Whitfield", "456", "90012")


def la(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return local(LOS_ANGELES, year, month, day, hour, minute)


def open_business(ledger: Ledger) -> tuple[UUID, UUID]:
    """Sparkle Plumbing and its customer Dana, who pays for her own plans."""
    partner = ledger.open_partner_account(
        name="Sparkle Plumbing", currency="USD", time_zone=LOS_ANGELES, key="open/sparkle"
    ).aggregate_id
    assert partner is not None
    address = Address.of(["100 Main St"], "Los Angeles", "90012", "US")
    ledger.record_billing_profile(
        partner, "Sparkle Plumbing LLC", address, BUSINESS_EMAIL, key="profile/sparkle"
    )
    client = ledger.register_client(
        partner, name="Dana Whitfield", email=CLIENT_EMAIL, unified_billing=False, key="client/dana"
    ).aggregate_id
    assert client is not None
    return partner, client


def plan(
    ledger: Ledger,
    partner: UUID,
    client: UUID,
    name: str,
    *,
    term: Term = Term.MONTHLY,
    card: CardDetails | None = None,
) -> tuple[UUID, UUID]:
    """A plan Dana accepted and that started today (31 January): the line and its invoice."""
    line = ledger.create_line(
        partner, client, "service-plan", term=term, payer=Payer.CLIENT, key=f"{name}/create"
    ).aggregate_id
    assert line is not None
    if card is not None:
        ledger.attach_line_card(line, card, key=f"{name}/card")
    ledger.send_line(line, key=f"{name}/send")
    ledger.accept_line(line, key=f"{name}/accept")
    activated = ledger.activate_line(line, key=f"{name}/activate")
    if card is not None:  # autopay charged the card at once; the data says why if it did not
        assert activated.data.get("charge", {}).get("charge_status") == "succeeded", activated.data
    return line, UUID(activated.data["invoice_id"])


@dataclass(frozen=True)
class Owing:
    """On 30 April: the card plan's March and April renewals failed; the annual one is overdue."""

    client: UUID
    card_plan: UUID
    annual_plan: UUID
    march: UUID
    april: UUID
    annual: UUID


def owing(ledger: Ledger, clock: SimulatedClock) -> Owing:
    partner, client = open_business(ledger)
    card_plan, first = plan(ledger, partner, client, "monthly", card=EXPIRING)
    assert ledger.invoice(first).paid == CHARGED
    annual_plan, annual = plan(ledger, partner, client, "annual", term=Term.ANNUAL)
    assert ledger.invoice(annual).total == ANNUAL_PLAN
    for instant in (la(2026, 2, 28), la(2026, 3, 31), la(2026, 4, 30)):
        clock.set(instant)
        tick(ledger, clock.now())
    numbers = {number: UUID(i) for i, number in ledger.line(card_plan).open_invoices.items()}
    assert sorted(numbers) == ["INV-2026-000004", "INV-2026-000005"]  # 3: February, paid
    march, april = numbers["INV-2026-000004"], numbers["INV-2026-000005"]
    return Owing(client, card_plan, annual_plan, march, april, annual)


def test_r_h1_r_h7_a_plan_goes_draft_pending_active_then_cancelled_and_its_events_are_its_feed(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner, client = open_business(ledger)
    created = ledger.create_line(partner, client, "service-plan", payer=Payer.CLIENT, key="create")
    line = created.aggregate_id
    assert line is not None
    assert created.data == {"status": "draft"}
    assert ledger.send_line(line, key="send").data == {"status": "pending"}
    with pytest.raises(InvalidTransition):  # sent, but Dana has not accepted yet
        ledger.activate_line(line, key="activate/too-soon")
    assert ledger.accept_line(line, key="accept").data == {"status": "pending"}

    activated = ledger.activate_line(line, key="activate")
    assert (activated.data["status"], activated.data["period_end"]) == ("active", "2026-02-28")
    invoice = ledger.invoice(UUID(activated.data["invoice_id"]))
    assert (invoice.payer_id, invoice.total, invoice.due_on) == (client, PLAN, date(2026, 2, 14))
    assert invoice.expected_source is PaymentSource.BANK_TRANSFER
    assert scheduled(database, line) == {"renew": date(2026, 2, 28)}

    clock.set(la(2026, 2, 3, 9))
    ledger.pay_invoice(invoice.id, PaymentSource.CHEQUE, reference="cheque 1042", key="pay")
    assert ledger.cancel_line(line, "Dana sold the house", key="cancel").data == {
        "status": "cancelled"
    }
    with pytest.raises(InvalidTransition):
        ledger.cancel_line(line, "Twice", key="cancel/again")
    assert scheduled(database, line) == {}
    with database.connect() as conn:
        row = conn.execute("SELECT status FROM line_index WHERE line_id = %s", (line,)).fetchone()
    assert row == ("cancelled",)

    feed = history(ledger, database, line)
    assert names(feed[:4]) == ["Created", "Sent", "Accepted", "Activated"]
    assert names(feed[4:]) == ["Invoiced", "InvoiceSettled", "Cancelled"]
    assert [event.originator_version for event in feed] == list(range(1, 8))
    assert [event.timestamp for event in feed] == sorted(event.timestamp for event in feed)
    cancelled = feed[-1]
    assert isinstance(cancelled, SubscriptionLine.Cancelled)
    assert (cancelled.reason, cancelled.cancelled_on) == ("Dana sold the house", date(2026, 2, 3))
    assert assert_double_entry(ledger, database) == {}


def test_r_h2_r_h3_r_h4_declined_renewals_are_owed_with_the_reason_mailed_to_client_and_business(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    state = owing(ledger, clock)
    march = ledger.invoice(state.march)
    assert (march.status, march.is_outstanding, march.overdue) == (InvoiceStatus.OPEN, True, False)
    assert (march.outstanding, march.failed_attempts) == (PLAN, 1)
    assert is_flagged_outstanding(database, state.march)
    [failed] = of_type(history(ledger, database, state.march), Invoice.PaymentFailed)
    assert (failed.source, failed.amount, failed.decline_code, failed.reason) == (
        PaymentSource.CARD,
        CHARGED,
        "expired_card",
        "The card has expired.",
    )
    assert failed.attempted_on == date(2026, 3, 31)

    notices = [m for m in mails(database, "payment_failed") if "INV-2026-000004" in m[1]]
    assert [to for to, _, _ in notices] == [CLIENT_EMAIL, BUSINESS_EMAIL]
    link = f"https://billing.example/lines/{state.card_plan}/card"
    for _, subject, body in notices:
        assert subject == "Payment failed for invoice INV-2026-000004"
        assert "The card has expired. (expired_card)" in body
        assert link in body
        assert "4242" not in body  # never card data (R-X4)
    assert len(mails(database, "payment_failed")) == 4  # March and April, to both

    # The banner: failed (card) and overdue (cash) both count, across both plans (R-H2, R-H3).
    assert ledger.invoice(state.annual).overdue
    assert all(ledger.invoice(i).is_outstanding for i in (state.april, state.annual))
    total, per_plan = banner(ledger, database, state.client)
    assert total == Money(546_00, "USD")  # 39.00 + 39.00 failed, 468.00 overdue
    assert per_plan == {state.card_plan: Money(78_00, "USD"), state.annual_plan: ANNUAL_PLAN}
    assert assert_double_entry(ledger, database) == {state.client: total.amount_minor}


def test_r_h2_r_h3_an_offline_invoice_unpaid_by_its_due_date_turns_overdue_until_paid(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner, client = open_business(ledger)
    line, invoice = plan(ledger, partner, client, "annual", term=Term.ANNUAL)
    assert ledger.invoice(invoice).due_on == date(2026, 2, 14)
    assert scheduled(database, invoice) == {"mark_overdue": date(2026, 2, 15)}

    clock.set(la(2026, 2, 14, 23, 59))  # the last minute of the due date in Los Angeles
    tick(ledger, clock.now())
    assert not ledger.invoice(invoice).is_outstanding
    assert not is_flagged_outstanding(database, invoice)
    assert banner(ledger, database, client) == (Money.zero("USD"), {})

    clock.set(la(2026, 2, 15))
    assert tick(ledger, clock.now()).done["mark_overdue"] == 1
    late = ledger.invoice(invoice)
    assert (late.overdue, late.is_outstanding, late.last_attempt_failed) == (True, True, False)
    assert names(history(ledger, database, invoice))[-1] == "MarkedOverdue"
    assert is_flagged_outstanding(database, invoice)
    assert banner(ledger, database, client) == (ANNUAL_PLAN, {line: ANNUAL_PLAN})

    clock.set(la(2026, 2, 20, 16))  # Dana pays the technician in cash; the banner goes
    ledger.pay_invoice(invoice, PaymentSource.CASH, reference="receipt 0117", key="pay/cash")
    assert ledger.invoice(invoice).status is InvoiceStatus.SETTLED
    assert banner(ledger, database, client) == (Money.zero("USD"), {})
    assert assert_double_entry(ledger, database) == {}


def test_r_h5_charge_all_charges_every_pending_payment_to_the_new_card_billing_date_unmoved(
    ledger: Ledger, clock: SimulatedClock, database: Database, gateway: SimulatedGateway
) -> None:
    state = owing(ledger, clock)
    plan_before = ledger.line(state.card_plan).current_period
    assert plan_before == BillingPeriod(date(2026, 4, 30), date(2026, 5, 31))
    assert scheduled(database, state.card_plan) == {"renew": date(2026, 5, 31)}
    made = len(gateway.charges)

    clock.set(la(2026, 5, 2, 10))  # Dana updates her card in the customer portal
    result = ledger.attach_line_card(
        state.card_plan, NEW_CARD, Outstanding.CHARGE_ALL, key="card/update"
    )
    pending = [str(state.march), str(state.april)]
    assert (result.data["outstanding"], result.data["to_charge"]) == (pending, pending)
    assert [c["charge_status"] for c in result.data["charges"]] == ["succeeded", "succeeded"]
    new_charges = list(gateway.charges.values())[made:]
    # One charge of the total, the fee on the total; each invoice paid by its share of it.
    [charge] = new_charges
    assert charge.amount == CHARGED + CHARGED
    for invoice_id in (state.march, state.april):
        paid = ledger.invoice(invoice_id)
        [payment] = paid.payments.values()
        assert (paid.status.value, paid.total, payment.amount) == ("settled", CHARGED, CHARGED)
        assert (payment.source, payment.reference) == (PaymentSource.CARD, charge.charge_id)
    card = ledger.line(state.card_plan).card
    assert card is not None
    assert card.last4 == "4444"
    assert ledger.line(state.card_plan).current_period == plan_before
    assert scheduled(database, state.card_plan) == {"renew": date(2026, 5, 31)}
    assert banner(ledger, database, state.client)[1] == {state.annual_plan: ANNUAL_PLAN}

    again = ledger.attach_line_card(
        state.card_plan, NEW_CARD, Outstanding.CHARGE_ALL, key="card/update"
    )
    assert again.replayed
    assert [c["charge_status"] for c in again.data["charges"]] == ["succeeded", "succeeded"]
    assert len(gateway.charges) == made + 1

    clock.set(la(2026, 5, 31))  # the billing day it always had, now on the new card
    assert tick(ledger, clock.now()).done["renew"] == 1
    june = ledger.line(state.card_plan)
    assert june.current_period == BillingPeriod(date(2026, 5, 31), date(2026, 6, 30))
    assert june.open_invoices == {}
    assert assert_double_entry(ledger, database) == {state.client: ANNUAL_PLAN.amount_minor}

    # A card added to the plan whose cash payment is overdue charges it too, with its fee.
    annual = ledger.attach_line_card(
        state.annual_plan, SPARE_CARD, Outstanding.CHARGE_ALL, key="card/annual"
    )
    assert [c["charge_status"] for c in annual.data["charges"]] == ["succeeded"]
    assert ledger.invoice(state.annual).paid == Money(482_04, "USD")  # 468.00 + 3 % (14.04)
    assert ledger.line(state.annual_plan).current_period == BillingPeriod(
        date(2026, 1, 31), date(2027, 1, 31)
    )
    assert banner(ledger, database, state.client) == (Money.zero("USD"), {})
    assert assert_double_entry(ledger, database) == {}


def test_r_h5_mark_paid_settles_every_pending_payment_without_a_charge_billing_date_unmoved(
    ledger: Ledger, clock: SimulatedClock, database: Database, gateway: SimulatedGateway
) -> None:
    state = owing(ledger, clock)
    plan_before = ledger.line(state.card_plan).current_period
    made = len(gateway.charges)

    clock.set(la(2026, 5, 2, 10))  # Sparkle took the money another way and updates the card
    result = ledger.attach_line_card(
        state.card_plan, NEW_CARD, Outstanding.MARK_PAID, key="card/update"
    )
    assert result.data["outstanding"] == [str(state.march), str(state.april)]
    assert (result.data["to_charge"], result.data["charges"]) == ([], [])
    assert len(gateway.charges) == made
    for invoice_id in (state.march, state.april):
        paid = ledger.invoice(invoice_id)
        [payment] = paid.payments.values()
        assert (paid.status, paid.total, payment.source, payment.amount) == (
            InvoiceStatus.SETTLED,
            PLAN,
            PaymentSource.OTHER,
            PLAN,
        )
        [received] = of_type(history(ledger, database, invoice_id), Invoice.PaymentReceived)
        assert (received.note, received.received_on) == (MARKED_PAID_NOTE, date(2026, 5, 2))
    assert ledger.line(state.card_plan).current_period == plan_before
    assert scheduled(database, state.card_plan) == {"renew": date(2026, 5, 31)}

    # With nothing pending, a card update only stores the card.
    later = ledger.attach_line_card(
        state.card_plan, SPARE_CARD, Outstanding.CHARGE_ALL, key="card/update-2"
    )
    assert (later.data["outstanding"], later.data["charges"]) == ([], [])
    assert len(gateway.charges) == made
    assert ledger.line(state.card_plan).current_period == plan_before
    assert banner(ledger, database, state.client)[1] == {state.annual_plan: ANNUAL_PLAN}
    assert assert_double_entry(ledger, database) == {state.client: ANNUAL_PLAN.amount_minor}


def test_r_h6_a_card_payment_is_refunded_in_part_then_in_full_with_receipts_never_above_it(
    ledger: Ledger, clock: SimulatedClock, database: Database, gateway: SimulatedGateway
) -> None:
    partner, client = open_business(ledger)
    _, invoice_id = plan(ledger, partner, client, "monthly", card=NEW_CARD)
    [(payment_key, payment)] = ledger.invoice(invoice_id).payments.items()
    payment_id = UUID(payment_key)
    assert (payment.source, payment.amount) == (PaymentSource.CARD, CHARGED)

    clock.set(la(2026, 2, 10, 11))
    ledger.refund(invoice_id, payment_id, Money(15_00, "USD"), "Visit missed", key="refund/1")
    with pytest.raises(RefundExceedsPayment) as over:
        ledger.refund(invoice_id, payment_id, Money(25_18, "USD"), "Too much", key="refund/x")
    assert over.value.fields == {"refundable": 25_17}
    ledger.refund(invoice_id, payment_id, Money(25_17, "USD"), "Plan refunded", key="refund/2")
    with pytest.raises(RefundExceedsPayment) as nothing_left:
        ledger.refund(invoice_id, payment_id, Money(1, "USD"), "One cent more", key="refund/y")
    assert nothing_left.value.fields == {"refundable": 0}

    refunded = ledger.invoice(invoice_id)
    assert refunded.refunded == CHARGED
    assert refunded.payments[payment_key].refundable.is_zero()
    assert [(r.charge_id, r.amount.amount_minor) for r in gateway.refunds.values()] == [
        (payment.reference, 15_00),
        (payment.reference, 25_17),
    ]
    refunds = of_type(history(ledger, database, invoice_id), Invoice.PaymentRefunded)
    assert [(e.amount.amount_minor, e.source, e.refunded_on) for e in refunds] == [
        (15_00, PaymentSource.CARD, date(2026, 2, 10)),
        (25_17, PaymentSource.CARD, date(2026, 2, 10)),
    ]
    receipts = mails(database, "refund_receipt")
    assert [(to, subject) for to, subject, _ in receipts] == [
        (CLIENT_EMAIL, "Refund of 15.00 USD for invoice INV-2026-000001"),
        (CLIENT_EMAIL, "Refund of 25.17 USD for invoice INV-2026-000001"),
    ]
    assert all("of your payment by card for invoice" in body for _, _, body in receipts)
    assert assert_double_entry(ledger, database) == {}


def test_r_h6_a_cash_payment_is_not_refunded_through_the_plan_which_is_cancelled_instead(
    ledger: Ledger, clock: SimulatedClock, database: Database, gateway: SimulatedGateway
) -> None:
    partner, client = open_business(ledger)
    line, invoice_id = plan(ledger, partner, client, "monthly")
    clock.set(la(2026, 2, 5, 14))
    paid = ledger.pay_invoice(invoice_id, PaymentSource.CASH, reference="receipt 0099", key="cash")
    assert paid.data["status"] == "settled"

    before = event_count(database)
    with pytest.raises(OfflinePaymentNotRefundable) as refused:
        ledger.refund(
            invoice_id, UUID(paid.data["payment_id"]), PLAN, "Cash handed back", key="refund"
        )
    assert refused.value.code == "offline_payment_not_refundable"
    assert refused.value.fields == {"source": "cash"}
    assert event_count(database) == before
    assert (gateway.refunds, mails(database, "refund_receipt")) == ({}, [])

    ledger.cancel_line(line, "Cash given back", key="cancel")
    cancelled = history(ledger, database, line)[-1]
    assert isinstance(cancelled, SubscriptionLine.Cancelled)
    assert (cancelled.reason, cancelled.cancelled_on) == ("Cash given back", date(2026, 2, 5))
    assert scheduled(database, line) == {}
    assert assert_double_entry(ledger, database) == {}


def test_r_x5_an_activation_answers_at_its_charge_and_a_replay_repeats_both(
    ledger: Ledger, database: Database
) -> None:
    partner, client = open_business(ledger)
    line, first = plan(ledger, partner, client, "monthly", card=NEW_CARD)
    with database.connect() as conn:
        row = conn.execute(f"SELECT max(notification_id) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    # The autopay charge is written after the activation: reading at the answered position
    # must show the invoice paid, so the answer's position is the charge's.
    again = ledger.activate_line(line, key="monthly/activate")
    assert again.replayed
    assert again.position == row[0]
    assert again.data["invoice_id"] == str(first)
    assert again.data["charge"]["charge_status"] == "succeeded"
    assert ledger.invoice(first).paid == CHARGED
