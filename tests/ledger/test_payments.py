"""Paying invoices through the ledger on PostgreSQL: from the source asked for (R-C2, R-O7),
never a decline for a payment method that does not exist (R-H4, R-L4), all pending charged at
once to a new card (R-H5, R-L5), and offline money only once the vendor received it (R-H2).

Partners sell e-mail signatures at 25.00 USD a month; a card adds its 3 % fee, 0.75 USD.
"""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.errors import NoPaymentMethod, PaymentMethodKindMismatch
from domain.invoice import InvoiceStatus
from domain.money import Money
from domain.payment_methods import BankAccountDetails, CardDetails, PaymentSource
from ledger.application import EVENTS_TABLE, Ledger
from ledger.database import Database

SIGNATURES = 25_00
CARD_FEE = 75
VISA = CardDetails("4242424242424242", 12, 2030, "Ada Lovelace", "123", "10001")
DECLINING = CardDetails("4000000000000002", 12, 2030, "Ada Lovelace", "123", "10001")
ACH = BankAccountDetails("110000000", "000123456789", "Acme Resellers LLC")


def usd(amount_minor: int) -> Money:
    return Money(amount_minor, "USD")


def event_count(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    return int(row[0])


def open_partner(
    ledger: Ledger, *methods: CardDetails | BankAccountDetails, lines: int = 1
) -> tuple[UUID, list[UUID], list[UUID]]:
    """A partner (its first method the default), and `lines` lines billed today, unpaid."""
    partner = ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC").aggregate_id
    assert partner is not None
    method_ids = [
        UUID(ledger.add_payment_method(partner, method, make_default=n == 0).data["method_id"])
        for n, method in enumerate(methods)
    ]
    client = ledger.register_client(partner, name="Bistro", unified_billing=False).aggregate_id
    assert client is not None
    invoices = []
    for _ in range(lines):
        line = ledger.create_line(partner, client, "email-signatures").aggregate_id
        assert line is not None
        invoices.append(UUID(ledger.activate_line(line).data["invoice_id"]))
    return partner, method_ids, invoices


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
