"""Commands on invoices: payments from every source, refunds, corrections, closing documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from domain.errors import InvalidValue
from domain.invoice import Invoice, InvoiceStatus, charge_shares
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from domain.subscription_line import SubscriptionLine
from domain.values import InvoiceLine
from ledger.billing import (
    CLOSING_DOCUMENT_SERIES,
    CREDIT_NOTE_SERIES,
    after_failure,
    after_missed,
    after_payment,
    after_refund,
    after_settled,
    number,
    pay_internally,
)
from ledger.commands.base import LedgerCommand, invoice, line, partner, policy_on, today
from ledger.errors import Conflict
from ledger.payments.gateway import ChargeResult, ChargeStatus
from ledger.writer import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]
RECORDED_SOURCES = frozenset(
    {PaymentSource.BANK_TRANSFER, PaymentSource.CASH, PaymentSource.CHEQUE, PaymentSource.OTHER}
)
"""Money that arrived outside the gateway and is recorded as it is reported (R-C2, R-H2)."""


def _status(found: Any) -> dict[str, Any]:
    return {
        "status": found.status.value,
        "outstanding_minor": found.outstanding.amount_minor,
        "number": found.number,
    }


@dataclass(frozen=True, kw_only=True)
class RecordPayment(LedgerCommand):
    """The vendor received a bank transfer, cash, cheque or other payment for an invoice
    (R-C2, R-H2). Only the vendor records one; a payer announces it (`AnnouncePayment`)."""

    invoice_id: UUID
    payment_id: UUID
    source: PaymentSource
    amount: Money | None = None
    """By default what the invoice still owes."""
    reference: str | None = None

    def handle(self, uow: UnitOfWork) -> Answer:
        if self.source not in RECORDED_SOURCES:
            raise InvalidValue(
                f"A {self.source.value} payment is not recorded by hand.", field="source"
            )
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        day = today(uow, account)
        found.record_payment(
            payment_id=self.payment_id,
            source=self.source,
            amount=self.amount or found.outstanding,
            on=day,
            now=uow.now,
            reference=self.reference,
        )
        after_payment(uow, account, found, self.payment_id, day)
        return found.id, {"payment_id": str(self.payment_id), **_status(found)}


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
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        found.announce_payment(
            payment_id=self.payment_id,
            source=self.source,
            amount=self.amount or found.outstanding,
            reference=self.reference,
            on=today(uow, account),
            now=uow.now,
        )
        return found.id, {"payment_id": str(self.payment_id), **_status(found)}


@dataclass(frozen=True, kw_only=True)
class ConfirmPayment(LedgerCommand):
    """The vendor received an announced payment: it pays the invoice now (R-H2)."""

    invoice_id: UUID
    payment_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        day = today(uow, account)
        found.confirm_payment(self.payment_id, day, uow.now)
        after_payment(uow, account, found, self.payment_id, day)
        return found.id, {"payment_id": str(self.payment_id), **_status(found)}


@dataclass(frozen=True, kw_only=True)
class PayInternally(LedgerCommand):
    """Pay an invoice from the company balance or with bonuses (R-C2, R-C5)."""

    invoice_id: UUID
    source: PaymentSource
    amount: Money | None = None

    def handle(self, uow: UnitOfWork) -> Answer:
        if self.source not in (PaymentSource.COMPANY_BALANCE, PaymentSource.BONUS):
            raise InvalidValue("Only the balance or bonuses pay from inside.", field="source")
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        payment_id = pay_internally(
            uow,
            account,
            found,
            self.source,
            self.amount or found.outstanding,
            today(uow, account),
        )
        return found.id, {"payment_id": str(payment_id), **_status(found)}


@dataclass(frozen=True, kw_only=True)
class RecordCharge(LedgerCommand):
    """The gateway's answer to a card charge or a direct debit, recorded on the invoice.

    The charge was decided on an earlier reading of the invoice; if the invoice has moved
    since (paid by other means, credited), nothing is recorded and the charge is refunded.
    """

    invoice_id: UUID
    payment_id: UUID
    source: PaymentSource
    amount: Money
    fee_line: InvoiceLine | None
    charge: ChargeResult
    line_id: UUID | None = None
    """The line whose card paid, for the update-card link of a failure (R-H4)."""

    def handle(self, uow: UnitOfWork) -> Answer:
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        expected = (
            found.card_charge(policy_on(uow, today(uow, account)))[0]
            if self.source is PaymentSource.CARD
            else found.outstanding - found.pending_total
        )
        if found.status is not InvoiceStatus.OPEN or expected != self.amount:
            raise _changed(found)
        record_charge_outcome(
            uow,
            account,
            found,
            ChargeShare(
                invoice_id=found.id,
                payment_id=self.payment_id,
                amount=self.amount,
                fee_line=self.fee_line,
            ),
            self.source,
            self.charge,
            self.line_id,
        )
        return found.id, _charged(found, self.payment_id, self.charge)


@dataclass(frozen=True, slots=True)
class ChargeShare:
    """The part of one charge that pays one invoice, with its part of the card fee (R-O7)."""

    invoice_id: UUID
    payment_id: UUID
    amount: Money
    fee_line: InvoiceLine | None


@dataclass(frozen=True, kw_only=True)
class RecordCombinedCharge(LedgerCommand):
    """One card charge or debit that paid several invoices at once, each by its share: what a
    new card or bank account was charged for everything pending (R-H5, R-L5).

    The shares were decided on an earlier reading of the invoices; if any invoice has moved
    since, nothing is recorded and the whole charge is refunded.
    """

    partner_id: UUID
    shares: tuple[ChargeShare, ...]
    source: PaymentSource
    charge: ChargeResult
    line_id: UUID | None = None
    """The line whose card paid, for the update-card link of a failure (R-H4)."""

    def handle(self, uow: UnitOfWork) -> Answer:
        account = partner(uow, self.partner_id)
        found = [invoice(uow, share.invoice_id) for share in self.shares]
        expected = charge_shares(found, self.source, policy_on(uow, today(uow, account)))
        for owed, share, (amount, fee_line) in zip(found, self.shares, expected, strict=True):
            if (
                owed.partner_id != account.id
                or owed.status is not InvoiceStatus.OPEN
                or (amount, fee_line) != (share.amount, share.fee_line)
            ):
                raise _changed(owed)
        for owed, share in zip(found, self.shares, strict=True):
            record_charge_outcome(uow, account, owed, share, self.source, self.charge, self.line_id)
        return self.partner_id, {
            "charge_id": self.charge.charge_id,
            "charge_status": self.charge.status.value,
            "decline_code": self.charge.decline_code,
            "amount_minor": self.charge.amount.amount_minor,
            "charges": [
                {"invoice_id": str(owed.id), **_charged(owed, share.payment_id, self.charge)}
                for owed, share in zip(found, self.shares, strict=True)
            ],
        }


def record_charge_outcome(
    uow: UnitOfWork,
    account: PartnerAccount,
    found: Invoice,
    share: ChargeShare,
    source: PaymentSource,
    charge: ChargeResult,
    line_id: UUID | None,
) -> None:
    """Record what the gateway answered on one invoice: paid, a debit on its way, or failed
    with everything a failure sets off (R-H4, R-L4)."""
    day = today(uow, account)
    if charge.status is ChargeStatus.SUCCEEDED:
        found.record_payment(
            payment_id=share.payment_id,
            source=source,
            amount=share.amount,
            fee_line=share.fee_line,
            fee_policy_version=policy_on(uow, day).version,
            on=day,
            now=uow.now,
            reference=charge.charge_id,
        )
        after_payment(uow, account, found, share.payment_id, day)
    elif charge.status is ChargeStatus.PENDING:
        found.record_pending_debit(
            payment_id=share.payment_id,
            amount=share.amount,
            reference=charge.charge_id,
            on=day,
            now=uow.now,
        )
    else:
        code = charge.decline_code or "declined"
        reason = charge.reason or "The payment was declined."
        found.record_failed_payment(
            payment_id=share.payment_id,
            source=source,
            amount=share.amount,
            decline_code=code,
            reason=reason,
            on=day,
            now=uow.now,
        )
        paying_line = uow.get(SubscriptionLine, line_id) if line_id else None
        after_failure(uow, account, found, share.amount, code, reason, day, paying_line)


def _changed(found: Invoice) -> Conflict:
    return Conflict(
        f"Invoice {found.number} changed while it was being charged.", number=found.number
    )


def _charged(found: Invoice, payment_id: UUID, charge: ChargeResult) -> dict[str, Any]:
    return {
        "payment_id": str(payment_id),
        "charge_status": charge.status.value,
        "decline_code": charge.decline_code,
        **_status(found),
    }


@dataclass(frozen=True, kw_only=True)
class SettleDebit(LedgerCommand):
    """A pending direct debit settled or bounced (R-C2, R-H2)."""

    invoice_id: UUID
    payment_id: UUID
    succeeded: bool
    decline_code: str | None = None
    reason: str | None = None
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        amount = found.pending.get(str(self.payment_id))
        if amount is None:
            raise Conflict("That debit is no longer pending.", payment_id=self.payment_id)
        if self.succeeded:
            found.record_payment(
                payment_id=self.payment_id,
                source=PaymentSource.DIRECT_DEBIT,
                amount=amount,
                on=self.on,
                now=uow.now,
                reference=found.pending_references.get(str(self.payment_id)),
            )
            after_payment(uow, account, found, self.payment_id, self.on)
        else:
            code = self.decline_code or "debit_returned"
            reason = self.reason or "The bank returned the debit."
            found.record_failed_payment(
                payment_id=self.payment_id,
                source=PaymentSource.DIRECT_DEBIT,
                amount=amount,
                decline_code=code,
                reason=reason,
                on=self.on,
                now=uow.now,
            )
            after_failure(uow, account, found, amount, code, reason, self.on, None)
        return found.id, _status(found)


@dataclass(frozen=True, kw_only=True)
class MarkPendingPaid(LedgerCommand):
    """Mark a failed or overdue invoice as paid outside Ledgerline (R-H5)."""

    invoice_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        day = today(uow, account)
        payment_id = uuid4()
        found.mark_paid(payment_id, day, uow.now)
        after_payment(uow, account, found, payment_id, day)
        return found.id, {"payment_id": str(payment_id), **_status(found)}


@dataclass(frozen=True, kw_only=True)
class RecordRefund(LedgerCommand):
    """Part or all of a payment went back to the payer, with a receipt (R-H6)."""

    invoice_id: UUID
    payment_id: UUID
    refund_id: UUID
    amount: Money
    reason: str
    gateway_refund_id: str | None = None

    def handle(self, uow: UnitOfWork) -> Answer:
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        day = today(uow, account)
        payment = found.refund(
            refund_id=self.refund_id,
            payment_id=self.payment_id,
            amount=self.amount,
            reason=self.reason,
            on=day,
            now=uow.now,
        )
        after_refund(
            uow, account, found, payment, self.payment_id, self.refund_id, self.amount, day
        )
        return found.id, {"refund_id": str(self.refund_id), **_status(found)}


@dataclass(frozen=True, kw_only=True)
class VoidInvoice(LedgerCommand):
    """Cancel an invoice nothing was paid on; it stays in history as void (R-X6)."""

    invoice_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> Answer:
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        found.void(self.reason, today(uow, account), uow.now)
        for line_id in found.line_ids:
            line(uow, line_id).record_invoice_voided(found.id, uow.now)
        account.record_missed_payment_settled(found.id, uow.now)
        return found.id, _status(found)


@dataclass(frozen=True, kw_only=True)
class IssueCreditNote(LedgerCommand):
    """Credit part or all of an invoice with a numbered credit note (R-X6)."""

    invoice_id: UUID
    credit_note_id: UUID
    amount: Money
    reason: str

    def handle(self, uow: UnitOfWork) -> Answer:
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        day = today(uow, account)
        was_open = found.status is InvoiceStatus.OPEN
        credit_number = number(uow, CREDIT_NOTE_SERIES, day)
        found.issue_credit_note(
            credit_note_id=self.credit_note_id,
            number=credit_number,
            amount=self.amount,
            reason=self.reason,
            on=day,
            now=uow.now,
        )
        if was_open and found.status is InvoiceStatus.SETTLED:
            after_settled(uow, account, found)
        return found.id, {
            "credit_note_id": str(self.credit_note_id),
            "credit_note_number": credit_number,
            **_status(found),
        }


@dataclass(frozen=True, kw_only=True)
class RequestClosingDocument(LedgerCommand):
    """A closing document (act of completed work) for a paid invoice (R-C7)."""

    invoice_id: UUID
    document_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        day = today(uow, account)
        document_number = number(uow, CLOSING_DOCUMENT_SERIES, day)
        amount = found.request_closing_document(self.document_id, document_number, day, uow.now)
        return found.id, {
            "document_id": str(self.document_id),
            "document_number": document_number,
            "amount_minor": amount.amount_minor,
            "currency": amount.currency,
        }


@dataclass(frozen=True, kw_only=True)
class MarkOverdue(LedgerCommand):
    """The due date passed unpaid: overdue (R-H2), and a missed payment for a partner (R-L4)."""

    invoice_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        found = invoice(uow, self.invoice_id)
        account = partner(uow, found.partner_id)
        if found.mark_overdue(self.on, uow.now):
            after_missed(uow, account, found, self.on)
        return found.id, _status(found)
