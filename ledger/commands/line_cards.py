"""The client's card on a client-paid line (R-H5): the command that puts it on the line.

The card is tokenised by the payment processor before this command is written
(ledger/line_operations.py `attach_line_card`): the token is the processor's answer and is left
out of the command's fingerprint; what the request asked for (`requested`: brand, last 4 and
expiry) is in it, so a key reused for another card is refused before the processor is asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.payment_methods import CardToken, MethodSummary
from ledger import fingerprints
from ledger.commands.base import LedgerCommand, invoice, owned_line, partner, today
from ledger.commands.lines import Answer, Outstanding, settle_outstanding
from ledger.unit_of_work import UnitOfWork


def card_data(card: MethodSummary) -> dict[str, Any]:
    """A card's summary as answer data: brand (its value), last 4, expiry month and year."""
    return {
        "brand": card.brand.value if card.brand is not None else None,
        "last4": card.last4,
        "expiry_month": card.expiry_month,
        "expiry_year": card.expiry_year,
    }


@dataclass(frozen=True, kw_only=True)
class AttachLineCard(LedgerCommand):
    """Put a (new) card on a client-paid line; the billing date never moves (R-H5).

    With payments outstanding, MARK_PAID settles them here; CHARGE_ALL answers which invoices
    to charge to the new card, which the ledger then does, each under its own key.
    """

    line_id: UUID
    requested: MethodSummary
    """The card asked for, as far as it may be kept (R-X4): what a repeat must match."""
    outstanding: Outstanding | None = None
    card: CardToken | None = field(default=None, metadata=fingerprints.NOT_FINGERPRINTED)
    """The processor's token for the card: its answer, set once it has tokenised the card."""

    def handle(self, uow: UnitOfWork) -> Answer:
        if self.card is None:  # pragma: no cover - the ledger tokenises before it writes
            raise ValueError("a card is put on a line once the processor has tokenised it")
        subscription = owned_line(uow, self.line_id, self.actor)
        account = partner(uow, subscription.partner_id)
        day = today(uow, account)
        subscription.attach_card(self.card, day, uow.now)
        pending = [
            owed
            for invoice_id in list(subscription.open_invoices)
            if (owed := invoice(uow, UUID(invoice_id))).is_outstanding
        ]
        to_charge = settle_outstanding(uow, account, pending, self.outstanding, day)
        return subscription.id, {
            "card": card_data(MethodSummary.of(self.card)),
            "outstanding": [str(owed.id) for owed in pending],
            "to_charge": to_charge,
        }
