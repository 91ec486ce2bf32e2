"""`/v1/invoices`: invoices listed and fetched again, whole or printed (R-O5, R-C8), refunded
(R-H6), voided or credited (R-X6), and a closing document requested for a paid one (R-C7).
Payments are in api/routers/invoice_payments.py, closing documents in closing_documents.py.

A command route parses its body into one ledger command carrying the caller's actor and awaits
it (no thread held while it waits); whose invoice it is, and whether a key was used before, is
the command's to decide (a partner naming another partner's invoice is told it does not exist).
A refund calls the processor first: the ledger's refund workflow runs in a thread, as the
processor call is blocking I/O. Reads are plain functions on the read models.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Query, Response, status

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.keys import Principal
from api.pdfs import PDF_RESPONSES, LocaleQuery, document_language, invoice_document, pdf_response
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.reads import LedgerRouter
from api.routers.invoice_views import invoice_page, invoice_response
from api.schemas.common import Page, PageParams
from api.schemas.invoice_commands import (
    INVOICES,
    ClosingDocumentAccepted,
    CreditNoteAccepted,
    CreditNoteRequest,
    InvoiceCommandAccepted,
    RefundAccepted,
    RefundRequest,
    VoidRequest,
    answered_in_full,
    closing_document_accepted,
    credit_note_accepted,
    invoice_accepted,
    refund_accepted,
)
from api.schemas.invoices import InvoiceId, InvoiceResponse, InvoiceSummaryView
from api.security import Admin, Caller, Commander, IdempotencyKey, visible
from domain.errors import InvalidValue, InvoiceNotFound, PartnerNotFound
from ledger.command_bus import derived_id
from ledger.commands.closing_documents import RequestClosingDocument
from ledger.commands.invoice_corrections import IssueCreditNote, VoidInvoice
from projections import invoices
from projections.invoices import InvoiceDetail, InvoiceHistory, PageCursor
from projections.pdf import render_invoice

router = LedgerRouter(tags=["invoices"])

NUMBER_MAX_LENGTH = 64
"""Document numbers are short (`INV-2026-000001`); a cursor naming a longer one is forged."""


def _read_invoice(
    conn: ReadConnection, read_after: ReadAfterDep, caller: Principal, invoice_id: UUID
) -> InvoiceDetail:
    read_after.wait(conn, InvoiceHistory.name)
    detail = invoices.invoice(conn, invoice_id)
    if detail is None:
        raise InvoiceNotFound.of(invoice_id)
    visible(caller, detail.invoice.partner_id, InvoiceNotFound.of(invoice_id))
    return detail


def _number(value: Any) -> str:
    """An invoice number from a cursor: a short plain string, or the cursor was forged."""
    if not isinstance(value, str) or not 0 < len(value) <= NUMBER_MAX_LENGTH or "\x00" in value:
        raise ValueError("not an invoice number")
    return value


# --- invoices: reads ---------------------------------------------------------------------


@router.get(
    INVOICES,
    response_model=Page[InvoiceSummaryView],
    responses=READ_PROBLEMS,
    summary="List a partner's invoices",
)
def list_invoices(
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
    partner_id: Annotated[
        UUID | None,
        Query(description="Whose invoices; a partner key may leave it out for its own."),
    ] = None,
    client_id: Annotated[
        UUID | None, Query(description="Only this client's invoices (R-C8).")
    ] = None,
) -> Page[InvoiceSummaryView]:
    """Every invoice of a partner's, to it or to its clients, newest first (R-O5). Admin,
    finance and auditor keys name the partner; a partner key sees only its own."""
    partner_id = partner_id or caller.partner_id
    if partner_id is None:
        raise InvalidValue("Name the partner whose invoices to list.", field="partner_id")
    visible(
        caller,
        partner_id,
        PartnerNotFound.of(partner_id),
    )
    read_after.wait(conn, InvoiceHistory.name)
    after = page.after_as(date.fromisoformat, _number)
    cursor = PageCursor(*after) if after else None
    if client_id is None:
        rows = invoices.invoices_of(conn, partner_id, after=cursor, limit=page.limit)
    else:
        rows = invoices.client_invoices(conn, partner_id, client_id, after=cursor, limit=page.limit)
    return invoice_page(rows)


@router.get(
    f"{INVOICES}/{{invoice_id}}",
    response_model=InvoiceResponse,
    responses=READ_PROBLEMS,
    summary="Read an invoice",
)
def get_invoice(
    invoice_id: InvoiceId, conn: ReadConnection, read_after: ReadAfterDep, caller: Caller
) -> InvoiceResponse:
    """An invoice with its lines, totals, payments, failed attempts, announced payments (waiting
    or confirmed), refunds and credit notes, from the invoice history (R-O3, R-O5, R-X6, R-H2).
    Admin, finance, auditor, or its partner."""
    return invoice_response(_read_invoice(conn, read_after, caller, invoice_id))


@router.get(
    f"{INVOICES}/{{invoice_id}}/pdf",
    response_class=Response,
    responses=PDF_RESPONSES,
    summary="Print an invoice as PDF",
)
def get_invoice_pdf(
    invoice_id: InvoiceId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    runtime: RuntimeDep,
    locale: LocaleQuery = None,
) -> Response:
    """The invoice printed in the partner's language, or in English, Russian, Polish or
    Spanish as asked, to fetch again any time (R-O5). Admin, finance, auditor, or its
    partner."""
    detail = _read_invoice(conn, read_after, caller, invoice_id)
    account = runtime.ledger.partner_account(detail.invoice.partner_id)
    language = document_language(account, locale)
    printed = invoice_document(detail, account, runtime, conn, language)
    return pdf_response(render_invoice(printed, language), printed.number)


# --- invoices: commands ------------------------------------------------------------------


@router.post(
    f"{INVOICES}/{{invoice_id}}/refunds",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Refund a payment in full or in part",
)
async def refund(
    invoice_id: InvoiceId,
    body: RefundRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> RefundAccepted:
    """Refund up to what a payment paid and was not yet refunded, through the processor when
    it came through it (R-H6). Cash, cheque and other payments are refused with
    `offline_payment_not_refundable`, bonus payments with `bonus_payment_not_refundable`; more
    than is left with `refund_exceeds_payment`. Admin or the invoice's partner."""
    result = await asyncio.to_thread(
        runtime.ledger.refund,
        invoice_id,
        body.payment_id,
        body.amount.to_money(),
        body.reason,
        key=key,
        actor=caller.actor,
    )
    return refund_accepted(response, await answered_in_full(runtime.ledger, result), invoice_id)


@router.post(
    f"{INVOICES}/{{invoice_id}}/void",
    status_code=status.HTTP_201_CREATED,
    response_model=InvoiceCommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Void an invoice",
)
async def void_invoice(
    invoice_id: InvoiceId,
    body: VoidRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Admin,
    key: IdempotencyKey,
) -> InvoiceCommandAccepted:
    """Cancel an invoice nothing was paid or credited on; it stays in history as void (R-X6).
    Otherwise refused with `void_not_allowed`: issue a credit note. Admin only."""
    command = VoidInvoice(invoice_id=invoice_id, reason=body.reason, actor=caller.actor)
    result = await answered_in_full(runtime.ledger, await runtime.ledger.submit(command, key))
    return invoice_accepted(response, result, invoice_id)


@router.post(
    f"{INVOICES}/{{invoice_id}}/credit-notes",
    status_code=status.HTTP_201_CREATED,
    response_model=CreditNoteAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Issue a credit note",
)
async def issue_credit_note(
    invoice_id: InvoiceId,
    body: CreditNoteRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Admin,
    key: IdempotencyKey,
) -> CreditNoteAccepted:
    """Credit part or all of an invoice with a numbered credit note, never more than is left
    to credit (`credit_exceeds_invoice`); a credit that covers what is owed settles it (R-X6).
    Admin only."""
    command = IssueCreditNote(
        invoice_id=invoice_id,
        credit_note_id=derived_id(key),
        amount=body.amount.to_money(),
        reason=body.reason,
        actor=caller.actor,
    )
    result = await answered_in_full(runtime.ledger, await runtime.ledger.submit(command, key))
    return credit_note_accepted(response, result, invoice_id)


@router.post(
    f"{INVOICES}/{{invoice_id}}/closing-documents",
    status_code=status.HTTP_201_CREATED,
    response_model=ClosingDocumentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Request a closing document for a paid invoice",
)
async def request_closing_document(
    invoice_id: InvoiceId,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> ClosingDocumentAccepted:
    """An act of completed work for a paid invoice, covering what was paid by card, bank or
    company balance (R-C7); refused with `closing_document_not_allowed` (and a `reason`) for
    unpaid invoices, bonus purchases, or a second request. Admin or the invoice's partner."""
    command = RequestClosingDocument(
        invoice_id=invoice_id, document_id=derived_id(key), actor=caller.actor
    )
    result = await runtime.ledger.submit(command, key)
    return closing_document_accepted(response, result, invoice_id)
