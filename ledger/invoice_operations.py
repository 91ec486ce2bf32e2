"""The ledger's commands on invoices: payments from every source, charges, refunds, voids,
credit notes and closing documents (R-C2, R-C7, R-H2, R-H5, R-H6, R-X6).

A mixin of `Ledger` (ledger/application.py): each method builds one command and runs it;
charges and refunds through the processor are `Charging`'s.
"""

from __future__ import annotations

from uuid import UUID

from domain.money import Money
from domain.payment_methods import PaymentSource
from ledger.charging import Charging
from ledger.command_bus import CommandBus, derived_id, key_or_fresh
from ledger.commands import invoices as invoice_commands
from ledger.writer import CommandResult


class InvoiceOperations:
    """Commands on an invoice."""

    bus: CommandBus
    charging: Charging

    def pay_invoice(
        self,
        invoice_id: UUID,
        source: PaymentSource,
        *,
        amount: Money | None = None,
        method_id: UUID | None = None,
        reference: str | None = None,
        key: str | None = None,
    ) -> CommandResult:
        """Pay an invoice from any source of R-C2; money the vendor received by bank, cash,
        cheque or other is recorded as received (R-H2): the vendor's own word, as a payer
        only announces such money (`announce_payment`)."""
        key = key_or_fresh(key)
        if source.is_gateway:
            return self.charging.charge_invoice(
                invoice_id, source=source, method_id=method_id, key=key
            )
        if source in (PaymentSource.COMPANY_BALANCE, PaymentSource.BONUS):
            return self.bus.execute(
                invoice_commands.PayInternally(invoice_id=invoice_id, source=source, amount=amount),
                key,
            )
        return self.bus.execute(
            invoice_commands.RecordPayment(
                invoice_id=invoice_id,
                payment_id=derived_id(key),
                source=source,
                amount=amount,
                reference=reference,
            ),
            key,
        )

    def announce_payment(
        self,
        invoice_id: UUID,
        source: PaymentSource,
        reference: str,
        *,
        amount: Money | None = None,
        key: str | None = None,
    ) -> CommandResult:
        """The payer says it sent money outside the gateway: noted, paid once confirmed (R-H2)."""
        command = invoice_commands.AnnouncePayment(
            invoice_id=invoice_id,
            payment_id=derived_id(key),
            source=source,
            amount=amount,
            reference=reference,
        )
        return self.bus.execute(command, key)

    def confirm_payment(
        self, invoice_id: UUID, payment_id: UUID, *, key: str | None = None
    ) -> CommandResult:
        """The vendor received an announced payment: it pays the invoice now (R-H2)."""
        return self.bus.execute(
            invoice_commands.ConfirmPayment(invoice_id=invoice_id, payment_id=payment_id), key
        )

    def charge_invoice(
        self,
        invoice_id: UUID,
        *,
        source: PaymentSource | None = None,
        method_id: UUID | None = None,
        key: str | None = None,
    ) -> CommandResult:
        """Charge what an invoice owes to a card or bank account (see `Charging`)."""
        return self.charging.charge_invoice(invoice_id, source=source, method_id=method_id, key=key)

    def mark_pending_paid(self, invoice_id: UUID, *, key: str | None = None) -> CommandResult:
        return self.bus.execute(invoice_commands.MarkPendingPaid(invoice_id=invoice_id), key)

    def refund(
        self,
        invoice_id: UUID,
        payment_id: UUID,
        amount: Money,
        reason: str,
        *,
        key: str | None = None,
    ) -> CommandResult:
        """Refund part or all of a payment, through the processor when it came through it."""
        return self.charging.refund(invoice_id, payment_id, amount, reason, key_or_fresh(key))

    def void_invoice(
        self, invoice_id: UUID, reason: str, *, key: str | None = None
    ) -> CommandResult:
        return self.bus.execute(
            invoice_commands.VoidInvoice(invoice_id=invoice_id, reason=reason), key
        )

    def issue_credit_note(
        self, invoice_id: UUID, amount: Money, reason: str, *, key: str | None = None
    ) -> CommandResult:
        return self.bus.execute(
            invoice_commands.IssueCreditNote(
                invoice_id=invoice_id, credit_note_id=derived_id(key), amount=amount, reason=reason
            ),
            key,
        )

    def request_closing_document(
        self, invoice_id: UUID, *, key: str | None = None
    ) -> CommandResult:
        return self.bus.execute(
            invoice_commands.RequestClosingDocument(
                invoice_id=invoice_id, document_id=derived_id(key)
            ),
            key,
        )
