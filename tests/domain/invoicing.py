"""Invoices to test with, and the commands the tests give them, with fixed ids and dates."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from domain.invoice import Invoice, InvoiceKind
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.pricing import BillingPolicy
from domain.values import InvoiceLine, InvoiceLineKind, Location, Payer
from tests.domain.gwt import NOW, TODAY

DUE = TODAY + timedelta(days=14)
LATE = DUE + timedelta(days=1)
PARTNER, CLIENT, LINE = UUID(int=1), UUID(int=2), UUID(int=3)
NUMBER = "INV-2026-000042"
POLICY = BillingPolicy()
CARD, DEBIT, BANK = PaymentSource.CARD, PaymentSource.DIRECT_DEBIT, PaymentSource.BANK_TRANSFER
BALANCE, BONUS, CASH = PaymentSource.COMPANY_BALANCE, PaymentSource.BONUS, PaymentSource.CASH
OFFLINE = (CASH, PaymentSource.CHEQUE, PaymentSource.OTHER)
GATEWAY = (CARD, DEBIT)
CARD_NUMBER = "4242 4242 4242 4242"


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def product(minor: int, location: Location | None = None, currency: str = "USD") -> InvoiceLine:
    return InvoiceLine(InvoiceLineKind.PRODUCT, Money(minor, currency), location=location)


def issue(
    *lines: int | InvoiceLine, expected: PaymentSource | None = BANK, payer: Payer = Payer.PARTNER
) -> Invoice:
    return Invoice.issue(
        invoice_id=uuid4(),
        partner_id=PARTNER,
        number=NUMBER,
        kind=InvoiceKind.SUBSCRIPTION,
        payer=payer,
        client_id=CLIENT,
        lines=[product(line) if isinstance(line, int) else line for line in lines],
        issued_on=TODAY,
        due_on=DUE,
        expected_source=expected,
        line_ids=[LINE],
        now=NOW,
    )


def pay(
    invoice: Invoice,
    source: PaymentSource,
    amount: int | Money | None = None,
    fee_line: InvoiceLine | None = None,
    reference: str | None = None,
    payment_id: UUID | None = None,
) -> UUID:
    """Record a payment; without an amount, of all that is owed (by card, with its fee line)."""
    if amount is None:
        amount, fee_line = (
            invoice.card_charge(POLICY) if source is CARD else (invoice.outstanding, None)
        )
    payment_id = payment_id or uuid4()
    invoice.record_payment(
        payment_id=payment_id,
        source=source,
        amount=usd(amount) if isinstance(amount, int) else amount,
        fee_line=fee_line,
        reference=reference,
        on=TODAY,
        now=NOW,
    )
    return payment_id


def fail(invoice: Invoice, source: PaymentSource = CARD, reason: str = "Expired card.") -> None:
    invoice.record_failed_payment(
        payment_id=uuid4(),
        source=source,
        amount=invoice.outstanding,
        decline_code="expired_card",
        reason=reason,
        on=TODAY,
        now=NOW,
    )


def refund(invoice: Invoice, payment_id: UUID, minor: int) -> None:
    invoice.refund(
        refund_id=uuid4(),
        payment_id=payment_id,
        amount=usd(minor),
        reason="goodwill",
        on=TODAY,
        now=NOW,
    )


def credit(invoice: Invoice, minor: int) -> None:
    invoice.issue_credit_note(
        credit_note_id=uuid4(), number="CN-1", amount=usd(minor), reason="error", on=TODAY, now=NOW
    )


def document(invoice: Invoice) -> Money:
    return invoice.request_closing_document(UUID(int=90), "ACT-000001", TODAY, NOW)
