"""Corrections of invoices: refunds (R-H6), voids and credit notes (R-X6). Each is a new
record beside the invoice, never an edit of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.invoice import InvoiceStatus
from domain.money import Money
from ledger import fingerprints
from ledger.billing import CREDIT_NOTE_SERIES, after_refund, after_settled, number
from ledger.commands.base import LedgerCommand, line, owned_invoice, partner, today
from ledger.commands.invoices import invoice_state
from ledger.unit_of_work import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class RecordRefund(LedgerCommand):
    """Part or all of a payment went back to the payer, with a receipt (R-H6).

    Its fingerprint is the request's: the processor's refund id is left out, so the refund's
    workflow asks whether its key recorded this very refund before the processor is called.
    """

    invoice_id: UUID
    payment_id: UUID
    refund_id: UUID
    amount: Money
    reason: str
    gateway_refund_id: str | None = field(default=None, metadata=fingerprints.NOT_FINGERPRINTED)
    """What the processor answered, for a payment that came through it."""

    def handle(self, uow: UnitOfWork) -> Answer:
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        account = partner(uow, invoice.partner_id)
        day = today(uow, account)
        payment = invoice.refund(
            refund_id=self.refund_id,
            payment_id=self.payment_id,
            amount=self.amount,
            reason=self.reason,
            on=day,
            now=uow.now,
        )
        after_refund(
            uow, account, invoice, payment, self.payment_id, self.refund_id, self.amount, day
        )
        return invoice.id, {"refund_id": str(self.refund_id), **invoice_state(invoice)}


@dataclass(frozen=True, kw_only=True)
class VoidInvoice(LedgerCommand):
    """Cancel an invoice nothing was paid on; it stays in history as void (R-X6)."""

    invoice_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> Answer:
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        account = partner(uow, invoice.partner_id)
        invoice.void(self.reason, today(uow, account), uow.now)
        for line_id in invoice.line_ids:
            line(uow, line_id).record_invoice_voided(invoice.id, uow.now)
        account.record_missed_payment_settled(invoice.id, uow.now)
        return invoice.id, invoice_state(invoice)


@dataclass(frozen=True, kw_only=True)
class IssueCreditNote(LedgerCommand):
    """Credit part or all of an invoice with a numbered credit note (R-X6)."""

    invoice_id: UUID
    credit_note_id: UUID
    amount: Money
    reason: str

    def handle(self, uow: UnitOfWork) -> Answer:
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        account = partner(uow, invoice.partner_id)
        day = today(uow, account)
        was_open = invoice.status is InvoiceStatus.OPEN
        credit_number = number(uow, CREDIT_NOTE_SERIES, day)
        invoice.issue_credit_note(
            credit_note_id=self.credit_note_id,
            number=credit_number,
            amount=self.amount,
            reason=self.reason,
            on=day,
            now=uow.now,
        )
        if was_open and invoice.status is InvoiceStatus.SETTLED:
            after_settled(uow, account, invoice)
        return invoice.id, {
            "credit_note_id": str(self.credit_note_id),
            "credit_note_number": credit_number,
            **invoice_state(invoice),
        }
