"""Documents printed as PDF for the API: an invoice (R-O5) and a closing document (R-C7), in
the reader's language, and how a route declares and answers one.

An invoice's printed form is assembled here from its read model and the partner's account
(who pays: the client paying its own line, or the partner); projections/pdf.py sets it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Response

from api.problems.documented import READ_PROBLEMS
from domain.partner_account import PartnerAccount
from domain.values import Payer
from projections.invoices import InvoiceDetail
from projections.pdf import InvoiceDocument, InvoiceDocumentLine

PDF = "application/pdf"
Locale = Literal["en", "ru", "pl", "es"]
"""The languages documents are printed in (projections/pdf.py `LABELS`)."""
LocaleQuery = Annotated[Locale, Query(description="The language the document is printed in.")]

PDF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
        "description": "The document as a PDF.",
    },
    **READ_PROBLEMS,
}
"""What a route answering a PDF declares: the document, or a read's problems."""


def pdf_response(content: bytes, filename: str) -> Response:
    """A PDF shown in the browser, saved under the document's number."""
    return Response(
        content,
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'},
    )


def invoice_document(
    detail: InvoiceDetail, account: PartnerAccount, seller_name: str
) -> InvoiceDocument:
    """What a printed invoice shows: the client's name as payer when the client pays its own
    line (and the partner's beside it), otherwise the partner's billing entity (R-O3, R-O5)."""
    row = detail.invoice
    partner_name = account.entity or account.name
    client = account.clients.get(str(row.client_id)) if row.client_id else None
    paid_by_client = row.payer == Payer.CLIENT.value
    return InvoiceDocument(
        number=row.number,
        issued_on=row.issued_on,
        due_on=row.due_on,
        seller_name=seller_name,
        payer_name=client.name if paid_by_client and client else partner_name,
        lines=tuple(
            InvoiceDocumentLine(line.description, line.amount_minor) for line in detail.lines
        ),
        currency=row.currency,
        total_minor=row.total_minor,
        paid_minor=row.paid_minor,
        outstanding_minor=row.outstanding_minor,
        partner_name=partner_name if paid_by_client else None,
    )
