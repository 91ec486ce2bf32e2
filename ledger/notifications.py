"""The e-mails Ledgerline sends, written to the outbox with the events that cause them.

Each message has a dedup key naming what it is about, so it is queued once however often the
command is retried, and a receiver can drop a copy delivered twice. Bodies hold amounts,
numbers and links, never card data (R-X4): a card shows as its brand and last 4 at most. Each
is written in the partner's language, as its documents are (ledger/wording.py, issue 17); a
payment processor's own reason for a decline is quoted as the processor gave it.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from domain.invoice import Invoice
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from domain.subscription_line import SubscriptionLine
from ledger.command_records import Message
from ledger.formatting import format_money
from ledger.wording import account_language, words_in


def _text(amount: Money, language: str) -> str:
    """An amount in an e-mail's running text, by the one formatter: `1,234.56 USD` in English,
    as the language writes it otherwise (`1 234,56 zł`)."""
    return format_money(
        amount.amount_minor, amount.currency, None if language == "en" else language
    )


def invoice_issued(
    invoice: Invoice,
    account: PartnerAccount,
    to: str,
    public_url: str,
    product_names: Mapping[str, Mapping[str, str]] | None = None,
) -> Message:
    """The invoice, e-mailed to whoever pays it (R-O5), in the partner's language as its
    documents are (ledger/wording.py): each line worded from what it is, its product named
    from `product_names` (the catalogue's names by product code)."""
    language = account_language(account)
    words = words_in(language)
    _ = words.gettext
    names = product_names or {}
    lines = "\n".join(
        f"  {words.invoice_line(line, names.get(line.product_code or ''))}: "
        f"{_text(line.amount, language)}"
        for line in invoice.lines
    )
    card_fee_note = ""  # R-O7: a card payer is told the fee it will see as its own line
    if invoice.expected_source is PaymentSource.CARD:
        card_fee_note = _("Paid by card, the card processing fee is added as its own line.") + "\n"
    return Message(
        dedup_key=f"invoice-issued/{invoice.id}/{to}",
        kind="invoice_issued",
        partner_id=account.id,
        details={"invoice_id": str(invoice.id), "invoice_number": invoice.number},
        recipient=to,
        subject=_("Invoice {number} from {partner}: {total}").format(
            number=invoice.number, partner=account.name, total=_text(invoice.total, language)
        ),
        body=(
            _("Invoice {number}, issued {issued_on}, due {due_on}.").format(
                number=invoice.number, issued_on=invoice.issued_on, due_on=invoice.due_on
            )
            + f"\n\n{lines}\n\n"
            + _("Total: {total}").format(total=_text(invoice.total, language))
            + "\n"
            + card_fee_note
            + "\n"
            + _("See it and every past invoice: {url}").format(
                url=f"{public_url}/invoices/{invoice.id}"
            )
            + "\n"
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
    language = account_language(account)
    _ = words_in(language).gettext
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
        subject=_("Payment failed for invoice {number}").format(number=invoice.number),
        body=(
            _("The payment of {amount} for invoice {number} failed: {reason} ({code}).").format(
                amount=_text(attempted, language),
                number=invoice.number,
                reason=reason,
                code=decline_code,
            )
            + "\n\n"
            + _("Update the card here, and what is owed will be charged to it: {url}").format(
                url=target
            )
            + "\n"
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
    language = account_language(account)
    words = words_in(language)
    _ = words.gettext
    return Message(
        dedup_key=f"refund-receipt/{refund_id}",
        kind="refund_receipt",
        partner_id=account.id,
        details={"invoice_id": str(invoice.id), "invoice_number": invoice.number},
        recipient=to,
        subject=_("Refund of {amount} for invoice {number}").format(
            amount=_text(amount, language), number=invoice.number
        ),
        body=_(
            "{partner} refunded {amount} of your payment by {source} for invoice {number}. "
            "Refund reference: {reference}."
        ).format(
            partner=account.name,
            amount=_text(amount, language),
            source=words.payment_source(source),
            number=invoice.number,
            reference=refund_id,
        )
        + "\n",
    )
