"""The one summary of an invoice in a list, whichever list it is in: a partner's
(`/v1/invoices?partner_id=`, `/v1/partners/{id}/invoices`) or a client's (R-O5, R-C8)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import MoneyModel, Page, encode_cursor
from domain.invoice import InvoiceKind, InvoiceStatus
from domain.payment_methods import PaymentSource
from domain.values import Payer
from projections.invoices import InvoicePage, InvoiceSummary


class InvoiceSummaryView(BaseModel):
    """An invoice: who it is to, what it charged, what was paid and what is still owed."""

    id: UUID
    number: str
    kind: InvoiceKind
    status: InvoiceStatus
    partner_id: UUID
    payer: Payer
    payer_id: UUID = Field(description="The partner, or the client when it pays itself.")
    client_id: UUID | None
    currency: str
    total: MoneyModel
    paid: MoneyModel
    credited: MoneyModel
    refunded: MoneyModel
    outstanding: MoneyModel
    pending: MoneyModel = Field(description="Direct debits on their way.")
    issued_on: date
    due_on: date
    expected_source: PaymentSource | None
    overdue: bool = Field(description="Not collected by its due date (R-H2).")
    failed: bool = Field(description="Its last charge was declined (R-H2).")
    last_decline_code: str | None
    last_decline_reason: str | None
    settled_on: date | None
    voided_on: date | None
    void_reason: str | None
    line_ids: list[UUID]
    position: int = Field(description="Log position of the event that last changed it.")


def summary_fields(row: InvoiceSummary) -> dict[str, Any]:
    """The summary's fields of an invoice history row (an invoice's detail adds to them)."""
    currency = row.currency

    def money(amount_minor: int) -> MoneyModel:
        return MoneyModel(amount_minor=amount_minor, currency=currency)

    return {
        "id": row.invoice_id,
        "number": row.number,
        "kind": row.kind,
        "status": row.status,
        "partner_id": row.partner_id,
        "payer": row.payer,
        "payer_id": row.payer_id,
        "client_id": row.client_id,
        "currency": currency,
        "total": money(row.total_minor),
        "paid": money(row.paid_minor),
        "credited": money(row.credited_minor),
        "refunded": money(row.refunded_minor),
        "outstanding": money(row.outstanding_minor),
        "pending": money(row.pending_debits_minor),
        "issued_on": row.issued_on,
        "due_on": row.due_on,
        "expected_source": row.expected_source,
        "overdue": row.overdue,
        "failed": row.failed,
        "last_decline_code": row.last_decline_code,
        "last_decline_reason": row.last_decline_reason,
        "settled_on": row.settled_on,
        "voided_on": row.voided_on,
        "void_reason": row.void_reason,
        "line_ids": row.line_ids,
        "position": row.position,
    }


def invoice_page(found: InvoicePage) -> Page[InvoiceSummaryView]:
    """A page of the invoice history, its cursor the (issue date, number) of its last row."""
    cursor = None
    if found.next is not None:
        cursor = encode_cursor([found.next.issued_on.isoformat(), found.next.number])
    return Page[InvoiceSummaryView](
        items=[InvoiceSummaryView(**summary_fields(row)) for row in found.invoices],
        next_cursor=cursor,
    )
