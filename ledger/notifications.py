"""The e-mails Ledgerline sends, written to the outbox with the events that cause them.

Each message has a dedup key naming what it is about, so it is queued once however often the
command is retried, and a receiver can drop a copy delivered twice. Bodies hold amounts,
numbers and links, never card data (R-X4): a card shows as its brand and last 4 at most.
"""

from __future__ import annotations

from uuid import UUID

from domain.invoice import Invoice
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from domain.subscription_line import SubscriptionLine
from ledger.command_records import Message
from ledger.formatting import format_money


def _text(amount: Money) -> str:
    """An amount in an e-mail's running text (`1,234.56 USD`), by the one formatter."""
    return format_money(amount.amount_minor, amount.currency)


CARD_FEE_NOTE = "Paid by card, the card processing fee is added as its own line (R-O7).\n"


def invoice_issued(invoice: Invoice, account: PartnerAccount, to: str, public_url: str) -> Message:
    """The invoice, e-mailed to whoever pays it (R-O5)."""
    lines = "\n".join(f"  {line.description}: {_text(line.amount)}" for line in invoice.lines)
    return Message(
        dedup_key=f"invoice-issued/{invoice.id}/{to}",
        kind="invoice_issued",
        partner_id=account.id,
        details={"invoice_id": str(invoice.id), "invoice_number": invoice.number},
        recipient=to,
        subject=f"Invoice {invoice.number} from {account.name}: {_text(invoice.total)}",
        body=(
            f"Invoice {invoice.number}, issued {invoice.issued_on}, due {invoice.due_on}.\n\n"
            f"{lines}\n\nTotal: {_text(invoice.total)}\n"
            + (CARD_FEE_NOTE if invoice.expected_source is PaymentSource.CARD else "")
            + f"\nSee it and every past invoice: {public_url}/invoices/{invoice.id}\n"
        ),
    )


def payment_failed(
    invoice: Invoice,
    account: PartnerAccount,
    to: str,
    attempted: Money,
    decline_code: str,
    reason: str,
    public_url: str,
    subscription: SubscriptionLine | None,
    *,
    attempt: int,
) -> Message:
    """A declined payment: why, and where to update the card (R-H4)."""
    target = (
        f"{public_url}/lines/{subscription.id}/card"
        if subscription is not None
        else f"{public_url}/partners/{account.id}/payment-methods"
    )
    return Message(
        dedup_key=f"payment-failed/{invoice.id}/{attempt}/{to}",
        kind="payment_failed",
        partner_id=account.id,
        details={
            "invoice_id": str(invoice.id),
            "invoice_number": invoice.number,
            "decline_code": decline_code,
            "reason": reason,
            "update_url": target,
        },
        recipient=to,
        subject=f"Payment failed for invoice {invoice.number}",
        body=(
            f"The payment of {_text(attempted)} for invoice {invoice.number} failed: "
            f"{reason} ({decline_code}).\n\n"
            f"Update the card here, and what is owed will be charged to it: {target}\n"
        ),
    )


def refund_receipt(
    invoice: Invoice,
    account: PartnerAccount,
    to: str,
    refund_id: UUID,
    amount: Money,
    source: PaymentSource,
) -> Message:
    """The receipt of a refund (R-H6)."""
    return Message(
        dedup_key=f"refund-receipt/{refund_id}",
        kind="refund_receipt",
        partner_id=account.id,
        details={"invoice_id": str(invoice.id), "invoice_number": invoice.number},
        recipient=to,
        subject=f"Refund of {_text(amount)} for invoice {invoice.number}",
        body=(
            f"{account.name} refunded {_text(amount)} of your "
            f"{source.value.replace('_', ' ')} payment "
            f"for invoice {invoice.number}. Refund reference: {refund_id}.\n"
        ),
    )
