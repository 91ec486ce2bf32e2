"""Read models as `/v1/invoices` and `/v1/closing-documents` show them: an invoice in a list
(R-O5, R-C8), an invoice fetched again whole (R-O3, R-O5, R-X6, R-H2), a closing document
(R-C7). The figures come computed from the read models' queries; this only maps them."""

from __future__ import annotations

from typing import Any

from api.schemas.common import MoneyModel, Page, encode_cursor
from api.schemas.invoices import (
    AnnouncedPaymentView,
    ClosingDocumentResponse,
    CreditNoteView,
    DocumentLineView,
    FailedAttemptView,
    InvoiceLineModel,
    InvoiceResponse,
    InvoiceSummaryView,
    PaymentView,
    PendingDebitView,
    RefundView,
    line_description,
)
from domain.payment_methods import PaymentSource
from domain.values import PRICE_SET_ON_LEAD, InvoiceLineKind
from projections.documents import ClosingDocument
from projections.invoices import InvoiceDetail, InvoicePage, InvoiceSummary

UNVERSIONED = "unversioned"
"""How a product or lead line invoiced before prices had versions names its price (issue 13)."""


def line_price_version(
    kind: InvoiceLineKind, version: str | None, override: str | None
) -> str | None:
    """A line's price version as shown: `unversioned` for a product or lead line from before
    versions; none for a lead its request priced (`PRICE_SET_ON_LEAD`), or another kind."""
    if version is not None:
        return version
    if kind is InvoiceLineKind.PRODUCT:
        return UNVERSIONED
    if kind is InvoiceLineKind.LEAD and override != PRICE_SET_ON_LEAD:
        return UNVERSIONED
    return None


def _money(amount_minor: int, currency: str) -> MoneyModel:
    return MoneyModel(amount_minor=amount_minor, currency=currency)


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


def invoice_page(page: InvoicePage) -> Page[InvoiceSummaryView]:
    """A page of the invoice history, its cursor the (issue date, number) of its last row."""
    cursor = None
    if page.next is not None:
        cursor = encode_cursor([page.next.issued_on.isoformat(), page.next.number])
    return Page[InvoiceSummaryView](
        items=[InvoiceSummaryView(**summary_fields(row)) for row in page.invoices],
        next_cursor=cursor,
    )


def invoice_response(detail: InvoiceDetail) -> InvoiceResponse:
    """The invoice history's rows of one invoice as the API shows them."""
    currency = detail.invoice.currency
    attempts = detail.payments
    return InvoiceResponse(
        **summary_fields(detail.invoice),
        lines=[
            InvoiceLineModel(
                line_no=line.line_no,
                kind=InvoiceLineKind(line.kind),
                description=line_description(line),
                quantity=line.quantity,
                amount=_money(line.amount_minor, line.currency),
                product_code=line.product_code,
                line_id=line.line_id,
                location_id=line.location_id,
                location_name=line.location_name,
                period_start=line.period_start,
                period_end=line.period_end,
                lead_id=line.lead_id,
                price_version=line_price_version(
                    InvoiceLineKind(line.kind), line.price_version, line.price_override
                ),
                price_override=line.price_override,
                policy_version=line.policy_version,
            )
            for line in detail.lines
        ],
        payments=[
            PaymentView(
                payment_id=a.payment_id,
                source=PaymentSource(a.source),
                amount=_money(a.amount_minor, currency),
                fee=_money(a.fee_minor, currency),
                refunded=_money(a.refunded_minor, currency),
                received_on=a.occurred_on,
                reference=a.reference,
                note=a.note,
            )
            for a in attempts
            if a.what == "payment"
        ],
        pending_debits=[
            PendingDebitView(
                payment_id=a.payment_id,
                amount=_money(a.amount_minor, currency),
                submitted_on=a.occurred_on,
            )
            for a in attempts
            if a.what == "pending" and a.still_pending
        ],
        failed_attempts=[
            FailedAttemptView(
                payment_id=a.payment_id,
                source=PaymentSource(a.source),
                amount=_money(a.amount_minor, currency),
                attempted_on=a.occurred_on,
                decline_code=a.decline_code,
                reason=a.reason,
            )
            for a in attempts
            if a.what == "failed"
        ],
        announced_payments=[
            AnnouncedPaymentView(
                payment_id=a.payment_id,
                source=PaymentSource(a.source),
                amount=_money(a.amount_minor, a.currency),
                reference=a.reference,
                announced_on=a.announced_on,
                status="waiting" if a.confirmed_on is None else "confirmed",
                confirmed_on=a.confirmed_on,
            )
            for a in detail.announcements
        ],
        refunds=[
            RefundView(
                refund_id=a.refund_id,
                payment_id=a.payment_id,
                source=PaymentSource(a.source),
                amount=_money(a.amount_minor, currency),
                refunded_on=a.occurred_on,
                reason=a.reason,
            )
            for a in attempts
            if a.what == "refund"
        ],
        credit_notes=[
            CreditNoteView(
                credit_note_id=note.credit_note_id,
                number=note.number,
                amount=_money(note.amount_minor, note.currency),
                reason=note.reason,
                issued_on=note.issued_on,
            )
            for note in detail.credit_notes
        ],
    )


def closing_document_response(document: ClosingDocument) -> ClosingDocumentResponse:
    """A closing document as the API shows it (R-C7, R-C8)."""
    return ClosingDocumentResponse(
        id=document.document_id,
        number=document.number,
        invoice_id=document.invoice_id,
        invoice_number=document.invoice_number,
        partner_id=document.partner_id,
        partner_name=document.partner_name,
        client_id=document.client_id,
        client_name=document.client_name,
        period_start=document.period_start,
        period_end=document.period_end,
        lines=[DocumentLineView.of(line, document.currency) for line in document.lines],
        amount=_money(document.amount_minor, document.currency),
        requested_on=document.requested_on,
    )
