"""The ledger's commands on invoices: payments from every source, charges, refunds, voids,
credit notes and closing documents (R-C2, R-C7, R-H2, R-H5, R-H6, R-X6).

A mixin of `Ledger` (ledger/application.py): each method builds one command and runs it;
charges and refunds through the processor are `Charging`'s. Each takes the `actor` asking
(the vendor by default: the command line, the billing clock, tests): a partner acts on its own
invoices only, and another partner's invoice is not found.
"""

from __future__ import annotations

from uuid import UUID

from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.values import VENDOR, Actor
from ledger.charging import Charging
from ledger.command_bus import CommandBus, derived_id, key_or_fresh, result_including
from ledger.command_records import CommandResult
from ledger.commands import invoices as invoice_commands
from ledger.commands.closing_documents import RequestClosingDocument
from ledger.commands.invoice_corrections import IssueCreditNote, VoidInvoice


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
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """Pay an invoice from any source of R-C2; money the vendor received by bank, cash,
        cheque or other is recorded as received (R-H2): the vendor's own word, as a payer
        only announces such money (`announce_payment`)."""
        key = key_or_fresh(key)
        if source.is_gateway:
            return self.charging.charge_invoice(
                invoice_id, source=source, method_id=method_id, key=key, actor=actor
            )
        command = invoice_commands.payment_command(
            invoice_id, source, derived_id(key), amount=amount, reference=reference, actor=actor
        )
        return self.bus.execute(command, key)

    def announce_payment(
        self,
        invoice_id: UUID,
        source: PaymentSource,
        reference: str,
        *,
        amount: Money | None = None,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """The payer says it sent money outside the gateway: noted, paid once confirmed (R-H2)."""
        command = invoice_commands.AnnouncePayment(
            invoice_id=invoice_id,
            payment_id=derived_id(key),
            source=source,
            amount=amount,
            reference=reference,
            actor=actor,
        )
        return self.bus.execute(command, key)

    def confirm_payment(
        self, invoice_id: UUID, payment_id: UUID, *, key: str | None = None, actor: Actor = VENDOR
    ) -> CommandResult:
        """The vendor received an announced payment: it pays the invoice now (R-H2)."""
        command = invoice_commands.ConfirmPayment(
            invoice_id=invoice_id, payment_id=payment_id, actor=actor
        )
        return self.bus.execute(command, key)

    def charge_invoice(
        self,
        invoice_id: UUID,
        *,
        source: PaymentSource | None = None,
        method_id: UUID | None = None,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """Charge what an invoice owes to a card or bank account (see `Charging`)."""
        return self.charging.charge_invoice(
            invoice_id, source=source, method_id=method_id, key=key, actor=actor
        )

    def mark_pending_paid(
        self, invoice_id: UUID, *, key: str | None = None, actor: Actor = VENDOR
    ) -> CommandResult:
        """A failed or overdue invoice was paid outside Ledgerline (R-H5)."""
        command = invoice_commands.MarkPendingPaid(invoice_id=invoice_id, actor=actor)
        return self.bus.execute(command, key)

    def refund(
        self,
        invoice_id: UUID,
        payment_id: UUID,
        amount: Money,
        reason: str,
        *,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """Refund part or all of a payment, through the processor when it came through it."""
        return self.charging.refund(
            invoice_id, payment_id, amount, reason, key_or_fresh(key), actor
        )

    def void_invoice(
        self, invoice_id: UUID, reason: str, *, key: str | None = None, actor: Actor = VENDOR
    ) -> CommandResult:
        """Cancel an invoice nothing was paid on (R-X6)."""
        command = VoidInvoice(invoice_id=invoice_id, reason=reason, actor=actor)
        return self.bus.execute(command, key)

    def issue_credit_note(
        self,
        invoice_id: UUID,
        amount: Money,
        reason: str,
        *,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """Credit part or all of an invoice with a numbered credit note (R-X6)."""
        command = IssueCreditNote(
            invoice_id=invoice_id,
            credit_note_id=derived_id(key),
            amount=amount,
            reason=reason,
            actor=actor,
        )
        return self.bus.execute(command, key)

    def request_closing_document(
        self, invoice_id: UUID, *, key: str | None = None, actor: Actor = VENDOR
    ) -> CommandResult:
        """A closing document for a paid invoice (R-C7)."""
        command = RequestClosingDocument(
            invoice_id=invoice_id, document_id=derived_id(key), actor=actor
        )
        return self.bus.execute(command, key)

    def completed_invoice_answer(self, result: CommandResult) -> CommandResult:
        """An answer on an invoice recorded before answers carried the invoice's currency (and,
        earlier still, its number), completed from the invoice: neither ever changes. A key
        used before the upgrade so replays as it first answered (R-X5)."""
        if "currency" in result.data or result.aggregate_id is None:
            return result
        invoice = self.bus.invoice(result.aggregate_id)
        return result_including(
            result, currency=invoice.currency, number=result.data.get("number", invoice.number)
        )
