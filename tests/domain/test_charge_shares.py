"""One charge for several invoices: the card fee is on the total, shared by what each owes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from domain.invoice import Invoice, InvoiceKind, charge_shares
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.pricing import BillingPolicy
from domain.values import InvoiceLine, InvoiceLineKind, Payer

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


def owing(amount_minor: int) -> Invoice:
    line = InvoiceLine(InvoiceLineKind.PRODUCT, Money(amount_minor, "USD"), description="Leads")
    return Invoice.issue(
        invoice_id=uuid4(),
        partner_id=uuid4(),
        number="INV-2026-000001",
        kind=InvoiceKind.LEADS,
        payer=Payer.PARTNER,
        client_id=None,
        lines=[line],
        issued_on=NOW.date(),
        due_on=date(2026, 1, 5),
        expected_source=PaymentSource.CARD,
        now=NOW,
    )


def test_r_h5_r_o7_the_fee_of_one_charge_is_on_the_total_and_shared_by_largest_remainder() -> None:
    # 3 % of 0.10 rounds to nothing; of the 0.30 charged at once, to 0.01, borne by one invoice.
    shares = charge_shares([owing(10), owing(10), owing(10)], PaymentSource.CARD, BillingPolicy())

    assert [amount.amount_minor for amount, _ in shares] == [11, 10, 10]
    fee_lines = [fee for _, fee in shares]
    assert fee_lines[0] is not None
    assert (fee_lines[0].kind, fee_lines[0].amount) == (InvoiceLineKind.CARD_FEE, Money(1, "USD"))
    assert fee_lines[1:] == [None, None]


def test_r_o7_a_debit_shares_no_fee() -> None:
    shares = charge_shares([owing(2500), owing(10)], PaymentSource.DIRECT_DEBIT, BillingPolicy())

    assert shares == [(Money(2500, "USD"), None), (Money(10, "USD"), None)]
