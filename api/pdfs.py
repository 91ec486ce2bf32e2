"""Documents printed as PDF for the API: an invoice (R-O5) and a closing document (R-C7), in
the reader's language, and how a route declares and answers one.

A printed document is assembled here from its read model, the invoice as issued (its lines as
their events recorded them), the partner's account (who pays, its billing entity and address),
the catalogue (product names in the document's language) and the vendor's profile in force on
the document's date (issue 17); projections/pdf.py sets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

import psycopg
from fastapi import Query, Response

from api.problems.documented import READ_PROBLEMS
from api.runtime import Runtime
from domain.invoice import Invoice
from domain.partner_account import PartnerAccount
from domain.values import InvoiceLineKind, Payer
from domain.vendor import VendorProfiles
from ledger.vendor import load_vendor_profiles
from ledger.wording import account_language, words_in
from projections.catalogue import CatalogueModel, ProductView
from projections.documents import ClosingDocument
from projections.invoices import InvoiceDetail
from projections.printed import ActDocument, InvoiceDocument, Party, PrintedLine, printed_line

PDF = "application/pdf"
Locale = Literal["en", "ru", "pl", "es"]
"""The languages documents are printed in (ledger/wording.py `LANGUAGES`)."""
LocaleQuery = Annotated[
    Locale | None,
    Query(
        description="The language the document is printed in; by default the partner's: its "
        "billing address's country's (Russian, Polish, Spanish), else its currency's (RUB, "
        "PLN: Russian, Polish), else English."
    ),
]


def document_language(account: PartnerAccount, asked: str | None) -> str:
    """The language asked for, or the partner's (ledger/wording.py `account_language`)."""
    return asked if asked is not None else account_language(account)


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


@lru_cache(maxsize=4)
def vendor_profiles(path: Path | None) -> VendorProfiles:
    """The vendor's profile file, read once per process (it changes with a deployment)."""
    return load_vendor_profiles(path)


def partner_party(account: PartnerAccount, locale: str) -> Party:
    """The partner as documents name it: its billing entity, address and tax id once recorded
    (R-O1, issue 17), else its account name; the tax id's label in the document's language."""
    address = account.address
    lines: tuple[str, ...] = ()
    if address is not None:
        lines = (*address.lines, f"{address.postal_code} {address.city}", address.country)
    tax_ids: tuple[tuple[str, str], ...] = ()
    if account.tax_id is not None:
        tax_ids = ((words_in(locale.split("-")[0]).tax_id_label(), account.tax_id),)
    return Party(account.entity or account.name, lines, tax_ids)


def printed_lines(
    invoice: Invoice,
    runtime: Runtime,
    conn: psycopg.Connection[Any],
    locale: str,
    *,
    with_card_fee: bool = True,
) -> tuple[PrintedLine, ...]:
    """The invoice's lines as their events recorded them, each named in the document's
    language, with its client and location (R-O3, R-C3, R-O7)."""
    products: Mapping[str, ProductView] = {p.code: p for p in CatalogueModel.products(conn)}
    account = runtime.ledger.partner_account(invoice.partner_id)
    language = locale.split("-")[0]
    clients: dict[UUID, str | None] = {}
    printed = []
    for line in invoice.lines:
        if line.kind is InvoiceLineKind.CARD_FEE and not with_card_fee:
            continue
        client_name = None
        if line.line_id is not None:
            if line.line_id not in clients:
                client_id = runtime.ledger.line(line.line_id).client_id
                client = account.clients.get(str(client_id))
                clients[line.line_id] = client.name if client else None
            client_name = clients[line.line_id]
        product = products.get(line.product_code) if line.product_code else None
        printed.append(
            printed_line(
                line,
                language,
                product.names if product else None,
                product.unit if product else None,
                client_name,
            )
        )
    return tuple(printed)


def invoice_document(
    detail: InvoiceDetail,
    account: PartnerAccount,
    runtime: Runtime,
    conn: psycopg.Connection[Any],
    locale: str,
) -> InvoiceDocument:
    """What a printed invoice shows: the client's name as payer when the client pays its own
    line (and the partner's beside it), otherwise the partner's billing entity and address
    (R-O3, R-O5); the vendor as it was on the issue date."""
    row = detail.invoice
    partner = partner_party(account, locale)
    client = account.clients.get(str(row.client_id)) if row.client_id else None
    paid_by_client = row.payer == Payer.CLIENT.value
    invoice = runtime.ledger.invoice(row.invoice_id)
    return InvoiceDocument(
        number=row.number,
        issued_on=row.issued_on,
        due_on=row.due_on,
        vendor=vendor_profiles(runtime.settings.vendor_profile).on(row.issued_on),
        payer=Party(client.name) if paid_by_client and client else partner,
        lines=printed_lines(invoice, runtime, conn, locale),
        currency=row.currency,
        total_minor=row.total_minor,
        paid_minor=row.paid_minor,
        outstanding_minor=row.outstanding_minor,
        partner_name=partner.name if paid_by_client else None,
    )


def act_document(
    document: ClosingDocument,
    account: PartnerAccount,
    runtime: Runtime,
    conn: psycopg.Connection[Any],
    locale: str,
) -> ActDocument:
    """What a printed closing document shows: the vendor as performer as it was on the
    document's date, the partner's billing entity as customer, its invoice as the basis, and
    the invoice's lines but the card fee, which is no work done (R-C7, R-O7)."""
    invoice = runtime.ledger.invoice(document.invoice_id)
    return ActDocument(
        number=document.number,
        on=document.requested_on,
        invoice_number=document.invoice_number,
        invoice_issued_on=invoice.issued_on,
        vendor=vendor_profiles(runtime.settings.vendor_profile).on(document.requested_on),
        customer=partner_party(account, locale),
        client_name=document.client_name,
        lines=printed_lines(invoice, runtime, conn, locale, with_card_fee=False),
        currency=document.currency,
        amount_minor=document.amount_minor,
    )
