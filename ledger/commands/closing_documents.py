"""Closing documents: an act of completed work for a paid invoice (R-C7, R-C8)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.billing import CLOSING_DOCUMENT_SERIES, number
from ledger.commands.base import LedgerCommand, owned_invoice, partner, today
from ledger.unit_of_work import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class RequestClosingDocument(LedgerCommand):
    """A closing document (act of completed work) for a paid invoice (R-C7)."""

    invoice_id: UUID
    document_id: UUID

    def handle(self, uow: UnitOfWork) -> tuple[UUID | None, dict[str, Any]]:
        invoice = owned_invoice(uow, self.invoice_id, self.actor)
        account = partner(uow, invoice.partner_id)
        day = today(uow, account)
        document_number = number(uow, CLOSING_DOCUMENT_SERIES, day)
        amount = invoice.request_closing_document(self.document_id, document_number, day, uow.now)
        return invoice.id, {
            "document_id": str(self.document_id),
            "document_number": document_number,
            "amount_minor": amount.amount_minor,
            "currency": amount.currency,
        }
