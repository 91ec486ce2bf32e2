"""Charges and debits through the payment processor, recorded on the invoices they pay: what
the processor answered to a card charge or a direct debit (R-H4), one charge shared by several
invoices (R-H5, R-L5), and a debit that settled or bounced (R-C2, R-H2). The processor is
called by the charging workflow (ledger/charging.py) before these are written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from domain.invoice import Invoice, InvoiceStatus, charge_shares
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from domain.subscription_line import SubscriptionLine
from domain.values import InvoiceLine
from ledger import fingerprints
from ledger.billing import after_failure, after_payment
from ledger.commands.base import LedgerCommand, owned_invoice, partner, policy_on, today
from ledger.commands.invoices import invoice_state
from ledger.errors import Conflict
from ledger.payments.gateway import ChargeResult, ChargeStatus
from ledger.unit_of_work import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]
_DECIDED = fingerprints.NOT_FINGERPRINTED
"""A charge's fields decided at the time of the charge: not the request's (see `RecordCharge`)."""


@dataclass(frozen=True, kw_only=True)
class RecordCharge(LedgerCommand):
    """The gateway's answer to a card charge or a direct debit, recorded on the invoice.

    The charge was decided on an earlier reading of the invoice; if the invoice has moved
    since (paid by other means, credited), nothing is recorded and the charge is refunded.

    Its fingerprint is the request's (the invoice, the payment, the method and kind asked
    for): the charge's workflow asks whether its key recorded this very request before the
    processor is called (R-X5). What was decided from the invoice then and what the processor
    answered are left out, as they differ from one try to the next.
    """

    invoice_id: UUID
    payment_id: UUID
    method_id: UUID | None = None
    """The payment method asked for; None for the payer's default (R-C2, R-H5)."""
    requested_source: PaymentSource | None = None
    """The kind of method asked for (card or direct debit); None for any."""
    source: PaymentSource = field(default=PaymentSource.CARD, metadata=_DECIDED)
    """The kind of method charged."""
    amount: Money | None = field(default=None, metadata=_DECIDED)
    fee_line: InvoiceLine | None = field(default=None, metadata=_DECIDED)
    charge: ChargeResult | None = field(default=None, metadata=_DECIDED)
    """The processor's answer; None only in the request asked about before the charge."""
    line_id: UUID | None = field(default=None, metadata=_DECIDED)
    """The line whose card paid, for the update-card link of a failure (R-H4)."""

    def handle(self, uow: UnitOfWork) -> Answer:
        if self.charge is None or self.amount is None:
            raise ValueError("a charge is recorded with what the processor answered")
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        account = partner(uow, invoice.partner_id)
        expected = (
            invoice.card_charge(policy_on(uow, today(uow, account)))[0]
            if self.source is PaymentSource.CARD
            else invoice.outstanding - invoice.pending_total
        )
        if invoice.status is not InvoiceStatus.OPEN or expected != self.amount:
            raise _changed(invoice)
        record_charge_outcome(
            uow,
            account,
            invoice,
            ChargeShare(
                invoice_id=invoice.id,
                payment_id=self.payment_id,
                amount=self.amount,
                fee_line=self.fee_line,
            ),
            self.source,
            self.charge,
            self.line_id,
        )
        return invoice.id, _charged(invoice, self.payment_id, self.charge)


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
        invoices = [owned_invoice(uow, share.invoice_id, self.actor) for share in self.shares]
        expected = charge_shares(invoices, self.source, policy_on(uow, today(uow, account)))
        for owed, share, (amount, fee_line) in zip(invoices, self.shares, expected, strict=True):
            if (
                owed.partner_id != account.id
                or owed.status is not InvoiceStatus.OPEN
                or (amount, fee_line) != (share.amount, share.fee_line)
            ):
                raise _changed(owed)
        for owed, share in zip(invoices, self.shares, strict=True):
            record_charge_outcome(uow, account, owed, share, self.source, self.charge, self.line_id)
        return self.partner_id, {
            "charge_id": self.charge.charge_id,
            "charge_status": self.charge.status.value,
            "decline_code": self.charge.decline_code,
            "amount_minor": self.charge.amount.amount_minor,
            "charges": [
                {"invoice_id": str(owed.id), **_charged(owed, share.payment_id, self.charge)}
                for owed, share in zip(invoices, self.shares, strict=True)
            ],
        }


def record_charge_outcome(
    uow: UnitOfWork,
    account: PartnerAccount,
    invoice: Invoice,
    share: ChargeShare,
    source: PaymentSource,
    charge: ChargeResult,
    line_id: UUID | None,
) -> None:
    """Record what the gateway answered on one invoice: paid, a debit on its way, or failed
    with everything a failure sets off (R-H4, R-L4)."""
    day = today(uow, account)
    if charge.status is ChargeStatus.SUCCEEDED:
        invoice.record_payment(
            payment_id=share.payment_id,
            source=source,
            amount=share.amount,
            fee_line=share.fee_line,
            fee_policy_version=policy_on(uow, day).version,
            on=day,
            now=uow.now,
            reference=charge.charge_id,
        )
        after_payment(uow, account, invoice, share.payment_id, day)
    elif charge.status is ChargeStatus.PENDING:
        invoice.record_pending_debit(
            payment_id=share.payment_id,
            amount=share.amount,
            reference=charge.charge_id,
            on=day,
            now=uow.now,
        )
    else:
        code = charge.decline_code or "declined"
        reason = charge.reason or "The payment was declined."
        invoice.record_failed_payment(
            payment_id=share.payment_id,
            source=source,
            amount=share.amount,
            decline_code=code,
            reason=reason,
            on=day,
            now=uow.now,
        )
        paying_line = uow.get(SubscriptionLine, line_id) if line_id else None
        after_failure(uow, account, invoice, share.amount, code, reason, day, paying_line)


def _changed(invoice: Invoice) -> Conflict:
    return Conflict(
        f"Invoice {invoice.number} changed while it was being charged.", number=invoice.number
    )


def _charged(invoice: Invoice, payment_id: UUID, charge: ChargeResult) -> dict[str, Any]:
    return {
        "payment_id": str(payment_id),
        "charge_status": charge.status.value,
        "decline_code": charge.decline_code,
        **invoice_state(invoice),
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
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        account = partner(uow, invoice.partner_id)
        amount = invoice.pending.get(str(self.payment_id))
        if amount is None:
            raise Conflict("That debit is no longer pending.", payment_id=self.payment_id)
        if self.succeeded:
            invoice.record_payment(
                payment_id=self.payment_id,
                source=PaymentSource.DIRECT_DEBIT,
                amount=amount,
                on=self.on,
                now=uow.now,
                reference=invoice.pending_references.get(str(self.payment_id)),
            )
            after_payment(uow, account, invoice, self.payment_id, self.on)
        else:
            code = self.decline_code or "debit_returned"
            reason = self.reason or "The bank returned the debit."
            invoice.record_failed_payment(
                payment_id=self.payment_id,
                source=PaymentSource.DIRECT_DEBIT,
                amount=amount,
                decline_code=code,
                reason=reason,
                on=self.on,
                now=uow.now,
            )
            after_failure(uow, account, invoice, amount, code, reason, self.on, None)
        return invoice.id, invoice_state(invoice)
