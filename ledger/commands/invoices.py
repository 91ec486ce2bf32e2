"""Commands that pay invoices outside the processor: money the vendor received or a payer
announced (R-C2, R-H2), paid from the balance or bonuses (R-C5), marked paid (R-H5), and an
invoice gone overdue (R-H2). Charges and debits through the processor are in
ledger/commands/charges.py; refunds, voids and credit notes in invoice_corrections.py; closing
documents in closing_documents.py.

Each command acting on an invoice loads it owned by its actor (`owned_invoice`): a partner
naming another partner's invoice is told it does not exist, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from domain.errors import InvalidValue
from domain.invoice import Invoice
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.postings import INTERNAL_SOURCES
from domain.values import VENDOR, Actor
from ledger.billing import (
    after_missed,
    after_payment,
    pay_internally,
)
from ledger.commands.base import LedgerCommand, owned_invoice, partner, today
from ledger.errors import VendorOnly
from ledger.unit_of_work import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]


def invoice_state(invoice: Invoice) -> dict[str, Any]:
    """What every command on an invoice answers: the invoice as the command left it."""
    return {
        "status": invoice.status.value,
        "outstanding_minor": invoice.outstanding.amount_minor,
        "currency": invoice.currency,
        "number": invoice.number,
    }


@dataclass(frozen=True, kw_only=True)
class RecordPayment(LedgerCommand):
    """The vendor received a bank transfer, cash, cheque or other payment for an invoice
    (R-C2, R-H2). Only the vendor records one (`VendorOnly` for a partner, once the invoice is
    known to be its own); a payer announces it (`AnnouncePayment`)."""

    invoice_id: UUID
    payment_id: UUID
    source: PaymentSource
    amount: Money | None = None
    """By default what the invoice still owes."""
    reference: str | None = None

    def handle(self, uow: UnitOfWork) -> Answer:
        if not self.source.is_confirmed_by_vendor:
            raise InvalidValue(
                f"A {self.source.value} payment is not recorded by hand.", field="source"
            )
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        if self.actor.partner_id is not None:
            raise VendorOnly(
                f"A partner announces a {self.source.value} payment "
                "(POST …/payment-announcements); the vendor confirms it arrived."
            )
        account = partner(uow, invoice.partner_id)
        day = today(uow, account)
        invoice.record_payment(
            payment_id=self.payment_id,
            source=self.source,
            amount=self.amount or invoice.outstanding,
            on=day,
            now=uow.now,
            reference=self.reference,
        )
        after_payment(uow, account, invoice, self.payment_id, day)
        return invoice.id, {"payment_id": str(self.payment_id), **invoice_state(invoice)}


@dataclass(frozen=True, kw_only=True)
class AnnouncePayment(LedgerCommand):
    """The payer says it sent a bank transfer, cash, a cheque or other: noted, not yet paid
    (R-C2, R-H2)."""

    invoice_id: UUID
    payment_id: UUID
    source: PaymentSource
    amount: Money | None = None
    """By default what the invoice still owes."""
    reference: str

    def handle(self, uow: UnitOfWork) -> Answer:
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        account = partner(uow, invoice.partner_id)
        invoice.announce_payment(
            payment_id=self.payment_id,
            source=self.source,
            amount=self.amount or invoice.outstanding,
            reference=self.reference,
            on=today(uow, account),
            now=uow.now,
        )
        return invoice.id, {"payment_id": str(self.payment_id), **invoice_state(invoice)}


@dataclass(frozen=True, kw_only=True)
class ConfirmPayment(LedgerCommand):
    """The vendor received an announced payment: it pays the invoice now (R-H2)."""

    invoice_id: UUID
    payment_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        account = partner(uow, invoice.partner_id)
        day = today(uow, account)
        invoice.confirm_payment(self.payment_id, day, uow.now)
        after_payment(uow, account, invoice, self.payment_id, day)
        return invoice.id, {"payment_id": str(self.payment_id), **invoice_state(invoice)}


@dataclass(frozen=True, kw_only=True)
class PayInternally(LedgerCommand):
    """Pay an invoice from the company balance or with bonuses (R-C2, R-C5)."""

    invoice_id: UUID
    source: PaymentSource
    amount: Money | None = None

    def handle(self, uow: UnitOfWork) -> Answer:
        if self.source not in INTERNAL_SOURCES:
            raise InvalidValue("Only the balance or bonuses pay from inside.", field="source")
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        account = partner(uow, invoice.partner_id)
        payment_id = pay_internally(
            uow,
            account,
            invoice,
            self.source,
            self.amount or invoice.outstanding,
            today(uow, account),
        )
        return invoice.id, {"payment_id": str(payment_id), **invoice_state(invoice)}


def payment_command(
    invoice_id: UUID,
    source: PaymentSource,
    payment_id: UUID,
    *,
    amount: Money | None = None,
    reference: str | None = None,
    actor: Actor = VENDOR,
) -> PayInternally | RecordPayment:
    """The one command that pays an invoice from a source outside the gateway: the balance or
    bonuses pay from inside (R-C5); bank, cash, cheque or other money is recorded as the
    vendor received it (R-H2). Card and debit charges are the charging workflow's."""
    if source in INTERNAL_SOURCES:
        return PayInternally(invoice_id=invoice_id, source=source, amount=amount, actor=actor)
    return RecordPayment(
        invoice_id=invoice_id,
        payment_id=payment_id,
        source=source,
        amount=amount,
        reference=reference,
        actor=actor,
    )


@dataclass(frozen=True, kw_only=True)
class MarkPendingPaid(LedgerCommand):
    """Mark a failed or overdue invoice as paid outside Ledgerline (R-H5)."""

    invoice_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        account = partner(uow, invoice.partner_id)
        day = today(uow, account)
        payment_id = uuid4()
        invoice.mark_paid(payment_id, day, uow.now)
        after_payment(uow, account, invoice, payment_id, day)
        return invoice.id, {"payment_id": str(payment_id), **invoice_state(invoice)}


@dataclass(frozen=True, kw_only=True)
class MarkOverdue(LedgerCommand):
    """The due date passed unpaid: overdue (R-H2), and a missed payment for a partner (R-L4)."""

    invoice_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        account = partner(uow, invoice.partner_id)
        if invoice.mark_overdue(self.on, uow.now):
            after_missed(uow, account, invoice, self.on)
        return invoice.id, invoice_state(invoice)
