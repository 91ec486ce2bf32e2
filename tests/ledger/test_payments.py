"""Paying invoices through the ledger on PostgreSQL: from the source asked for (R-C2, R-O7),
never a decline for a payment method that does not exist (R-H4, R-L4), all pending charged at
once to a new card (R-H5, R-L5), and offline money only once the vendor received it (R-H2).

Partners sell e-mail signatures at 25.00 USD a month; a card adds its 3 % fee, 0.75 USD.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.errors import (
    AmountTooLarge,
    NoPaymentMethod,
    PaymentMethodKindMismatch,
    PaymentMethodNotFound,
    PaymentNotFound,
)
from domain.invoice import InvoiceStatus
from domain.money import BALANCE_MAX_MINOR, Money
from domain.payment_methods import PaymentSource
from ledger.application import EVENTS_TABLE, Ledger
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock
from ledger.commands.lines import Outstanding
from ledger.database import Database
from ledger.payments.simulator import SimulatedGateway
from tests.ledger.payments_support import (
    ACH,
    CARD_FEE,
    DECLINING,
    SIGNATURES,
    TUESDAY_EARLY_IN_NEW_YORK,
    VISA,
    billed_on_a_new_york_sunday,
    open_partner,
)


def usd(amount_minor: int) -> Money:
    return Money(amount_minor, "USD")


def event_count(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    return int(row[0])


# --- the source asked for is the one charged (R-C2, R-O7) -------------------------------------


def test_r_c2_r_o7_direct_debit_asked_for_debits_the_bank_account_with_no_card_fee(
    ledger: Ledger,
) -> None:
    _, _, (invoice_id,) = open_partner(ledger, VISA, ACH)

    result = ledger.pay_invoice(invoice_id, PaymentSource.DIRECT_DEBIT)

    assert result.data["charge_status"] == "pending"
    found = ledger.invoice(invoice_id)
    assert found.total == usd(SIGNATURES)  # no card fee line on a debit
    assert found.pending_total == usd(SIGNATURES)
    assert found.payments == {}


def test_r_c2_a_method_of_the_other_kind_is_refused_and_nothing_is_written(
    ledger: Ledger, database: Database
) -> None:
    _, (card, ach), (invoice_id,) = open_partner(ledger, VISA, ACH)
    before = event_count(database)

    with pytest.raises(PaymentMethodKindMismatch) as card_with_ach:
        ledger.pay_invoice(invoice_id, PaymentSource.CARD, method_id=ach)
    with pytest.raises(PaymentMethodKindMismatch):
        ledger.pay_invoice(invoice_id, PaymentSource.DIRECT_DEBIT, method_id=card)

    assert card_with_ach.value.code == "payment_method_kind_mismatch"
    assert card_with_ach.value.fields == {
        "method_id": ach,
        "source": "card",
        "method_kind": "direct_debit",
    }
    assert event_count(database) == before


def test_r_c2_r_o7_card_asked_for_charges_a_card_though_the_default_is_a_bank_account(
    ledger: Ledger,
) -> None:
    _, _, (invoice_id,) = open_partner(ledger, ACH, VISA)

    result = ledger.pay_invoice(invoice_id, PaymentSource.CARD)

    assert result.data["charge_status"] == "succeeded"
    found = ledger.invoice(invoice_id)
    assert (found.status, found.total) == (InvoiceStatus.SETTLED, usd(SIGNATURES + CARD_FEE))


def test_r_c2_a_source_with_no_method_of_its_kind_is_refused_and_nothing_is_written(
    ledger: Ledger, database: Database
) -> None:
    _, _, (invoice_id,) = open_partner(ledger, VISA)
    before = event_count(database)

    with pytest.raises(NoPaymentMethod):
        ledger.pay_invoice(invoice_id, PaymentSource.DIRECT_DEBIT)

    assert event_count(database) == before


# --- no decline for a method that does not exist (R-H4, R-L4) ---------------------------------


def test_r_h4_r_l4_a_manual_charge_with_no_payment_method_is_refused_and_writes_nothing(
    ledger: Ledger, database: Database
) -> None:
    partner, _, (invoice_id,) = open_partner(ledger)
    before = event_count(database)

    with pytest.raises(NoPaymentMethod) as refused:
        ledger.charge_invoice(invoice_id)

    assert refused.value.code == "no_payment_method"
    assert event_count(database) == before
    assert ledger.invoice(invoice_id).failed_attempts == 0
    assert ledger.partner_account(partner).status.value == "active"  # no grace (R-L4)


def test_r_c6_r_h4_autopay_with_no_payment_method_is_a_missed_payment_the_payer_is_told_of(
    ledger: Ledger,
) -> None:
    """The clock's autopay charge was due today and could not be made: the invoice is failed
    (R-H2), the payer is asked to add a card (R-H4), and a partner's grace starts (R-L4)."""
    partner, _, _ = open_partner(ledger, lines=0)
    ledger.set_account_autopay(partner, PaymentSource.CARD)
    client = ledger.register_client(partner, name="Cafe", unified_billing=False).aggregate_id
    assert client is not None
    line = ledger.create_line(partner, client, "email-signatures").aggregate_id
    assert line is not None

    result = ledger.activate_line(line)

    assert result.data["charge"]["decline_code"] == "no_payment_method"
    found = ledger.invoice(UUID(result.data["invoice_id"]))
    assert (found.failed_attempts, found.is_outstanding) == (1, True)
    assert ledger.partner_account(partner).status.value == "in_grace"


# --- a new card: everything pending charged at once, or marked paid (R-H5, R-L5) --------------


def test_r_h5_r_l5_charge_all_makes_one_charge_of_the_total_and_each_invoice_takes_its_share(
    ledger: Ledger, gateway: SimulatedGateway
) -> None:
    partner, (declining,), invoices = open_partner(
        ledger, DECLINING, lines=2, autopay=PaymentSource.CARD
    )
    assert all(ledger.invoice(i).is_outstanding for i in invoices)
    made = len(gateway.charges)

    result = ledger.replace_payment_method(partner, declining, VISA, key="card/update")

    [charge] = list(gateway.charges.values())[made:]
    assert charge.amount == usd(2 * (SIGNATURES + CARD_FEE))  # the fee on the total (R-O7)
    for invoice_id in invoices:
        paid = ledger.invoice(invoice_id)
        [payment] = paid.payments.values()
        assert (paid.status, payment.amount, payment.fee) == (
            InvoiceStatus.SETTLED,
            usd(SIGNATURES + CARD_FEE),
            usd(CARD_FEE),
        )
        assert payment.reference == charge.charge_id
    assert [c["charge_status"] for c in result.data["charges"]] == ["succeeded", "succeeded"]
    assert ledger.partner_account(partner).status.value == "active"

    again = ledger.replace_payment_method(
        partner, declining, VISA, Outstanding.CHARGE_ALL, key="card/update"
    )
    assert again.replayed
    assert again.data["charges"] == result.data["charges"]
    assert len(gateway.charges) == made + 1


def test_r_h5_mark_paid_marks_everything_pending_in_the_replacement_itself(
    ledger: Ledger, gateway: SimulatedGateway, database: Database
) -> None:
    partner, (declining,), invoices = open_partner(
        ledger, DECLINING, lines=2, autopay=PaymentSource.CARD
    )
    made = len(gateway.charges)
    before = event_count(database)

    with pytest.raises(PaymentMethodNotFound):  # a refused replacement marks nothing
        ledger.replace_payment_method(partner, uuid4(), VISA, Outstanding.MARK_PAID)
    assert event_count(database) == before

    result = ledger.replace_payment_method(
        partner, declining, VISA, Outstanding.MARK_PAID, key="card/update"
    )

    assert sorted(result.data["outstanding"]) == sorted(str(i) for i in invoices)
    assert [ledger.invoice(i).status for i in invoices] == [InvoiceStatus.SETTLED] * 2
    assert len(gateway.charges) == made
    with database.connect() as conn:
        keys = conn.execute("SELECT key FROM command_log WHERE key LIKE 'card/update%'").fetchall()
    assert keys == [("card/update",)]  # one command, one transaction
    assert ledger.partner_account(partner).status.value == "active"


# --- offline money pays only once the vendor received it (R-C2, R-H2) -------------------------


def test_r_h2_an_announced_bank_transfer_pays_nothing_until_the_vendor_confirms_it(
    ledger: Ledger,
) -> None:
    _, _, (invoice_id,) = open_partner(ledger)

    announced = ledger.announce_payment(
        invoice_id, PaymentSource.BANK_TRANSFER, "Wire 2026-0117", key="announce"
    )

    found = ledger.invoice(invoice_id)
    assert (found.status, found.outstanding, found.payments) == (
        InvoiceStatus.OPEN,
        usd(SIGNATURES),
        {},
    )
    payment_id = UUID(announced.data["payment_id"])
    ledger.confirm_payment(invoice_id, payment_id, key="confirm")
    paid = ledger.invoice(invoice_id)
    assert paid.status is InvoiceStatus.SETTLED
    assert paid.payments[str(payment_id)].reference == "Wire 2026-0117"
    with pytest.raises(PaymentNotFound):  # confirmed once only
        ledger.confirm_payment(invoice_id, payment_id)


def test_r_c2_an_announced_top_up_is_kept_apart_from_the_balance_until_confirmed(
    ledger: Ledger,
) -> None:
    partner, _, _ = open_partner(ledger, lines=0)

    announced = ledger.announce_top_up(partner, usd(1_000_000_000), "Wire 77", key="announce")

    account = ledger.partner_account(partner)
    assert (account.balance, account.announced_total) == (usd(0), usd(1_000_000_000))
    ledger.confirm_top_up(partner, UUID(announced.data["top_up_id"]), key="confirm")
    account = ledger.partner_account(partner)
    assert (account.balance, account.announced_total) == (usd(1_000_000_000), usd(0))


# --- ACH days are the partner's (R-X7, R-E4) ----------------------------------------------------


def test_r_x7_r_e4_a_debit_made_on_the_partners_sunday_settles_on_its_tuesday(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    _, invoice_id = billed_on_a_new_york_sunday(ledger, clock)
    assert (
        ledger.pay_invoice(invoice_id, PaymentSource.DIRECT_DEBIT).data["charge_status"]
        == "pending"
    )
    with database.connect() as conn:
        due = conn.execute(
            "SELECT due_on FROM schedule WHERE subject_id = %s AND kind = 'settle_debit'",
            (invoice_id,),
        ).fetchall()
    assert due == [(date(2026, 3, 3),)]  # two business days after Sunday, not after Monday

    clock.set(TUESDAY_EARLY_IN_NEW_YORK)
    assert tick(ledger, clock.now()).done["settle_debit"] == 1
    found = ledger.invoice(invoice_id)
    assert (found.status, found.pending_total) == (InvoiceStatus.SETTLED, usd(0))


# --- a card top-up is charged only if it is recorded (R-C2, R-X1) -------------------------


def _nearly_full(ledger: Ledger) -> UUID:
    partner, _, _ = open_partner(ledger, VISA, lines=0)
    ledger.top_up(partner, usd(BALANCE_MAX_MINOR - 100), PaymentSource.BANK_TRANSFER)
    return partner


def test_r_c2_a_card_top_up_the_balance_cannot_take_charges_nothing(
    ledger: Ledger, gateway: SimulatedGateway
) -> None:
    partner = _nearly_full(ledger)
    with pytest.raises(AmountTooLarge):
        ledger.top_up(partner, usd(200), PaymentSource.CARD, key="too-much")
    assert "too-much/charge" not in gateway.charges
    assert ledger.partner_account(partner).balance == usd(BALANCE_MAX_MINOR - 100)


def test_r_c2_a_card_top_up_refused_after_its_charge_gives_the_money_back(
    ledger: Ledger, gateway: SimulatedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the check and the record another top-up fills the balance (a bank transfer the
    vendor records while the card is being charged): the card's charge is refunded."""
    partner = _nearly_full(ledger)
    charge = gateway.charge

    def charge_while_a_transfer_lands(*args: Any, **kwargs: Any) -> Any:
        ledger.top_up(partner, usd(100), PaymentSource.BANK_TRANSFER, key="wire-meanwhile")
        return charge(*args, **kwargs)

    monkeypatch.setattr(gateway, "charge", charge_while_a_transfer_lands)
    with pytest.raises(AmountTooLarge):
        ledger.top_up(partner, usd(50), PaymentSource.CARD, key="raced")
    charged = gateway.charges["raced/charge"]
    refund = gateway.refunds["raced/compensate"]
    assert (refund.charge_id, refund.amount) == (charged.charge_id, usd(50))
    assert ledger.partner_account(partner).balance == usd(BALANCE_MAX_MINOR)
