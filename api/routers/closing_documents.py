"""`/v1/closing-documents`: an act of completed work for a paid invoice, read and printed
(R-C7); a client's documents are its own (R-C8). One is requested on its invoice
(`POST /v1/invoices/{id}/closing-documents`, api/routers/invoices.py)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Path, Response

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.keys import Principal
from api.pdfs import PDF_RESPONSES, LocaleQuery, act_document, document_language, pdf_response
from api.problems.documented import READ_PROBLEMS
from api.reads import LedgerRouter
from api.routers.invoice_views import closing_document_response
from api.runtime import Runtime
from api.schemas.invoice_commands import DOCUMENTS
from api.schemas.invoices import ClosingDocumentResponse
from api.security import Caller, visible
from domain.errors import ClosingDocumentNotFound
from projections import documents
from projections.documents import ClosingDocuments
from projections.pdf import render_closing_document

router = LedgerRouter(tags=["closing documents"])

DocumentId = Annotated[UUID, Path(description="The closing document's id.")]


def _read_document(
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Principal,
    document_id: UUID,
    runtime: Runtime,
) -> documents.ClosingDocument:
    read_after.wait(conn, ClosingDocuments.name)
    document = documents.document(conn, document_id)
    if document is None:
        raise ClosingDocumentNotFound.of(document_id)
    visible(caller, document.partner_id, ClosingDocumentNotFound.of(document_id))
    return documents.revealed(document, runtime.sealer)


@router.get(
    f"{DOCUMENTS}/{{document_id}}",
    response_model=ClosingDocumentResponse,
    responses=READ_PROBLEMS,
    summary="Read a closing document",
)
def get_closing_document(
    document_id: DocumentId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    runtime: RuntimeDep,
) -> ClosingDocumentResponse:
    """A closing document with the work it covers (R-C7); a client's documents are its own
    (R-C8). Admin, finance, auditor, or its partner."""
    return closing_document_response(_read_document(conn, read_after, caller, document_id, runtime))


@router.get(
    f"{DOCUMENTS}/{{document_id}}/pdf",
    response_class=Response,
    responses=PDF_RESPONSES,
    summary="Print a closing document as PDF",
)
def get_closing_document_pdf(
    document_id: DocumentId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    runtime: RuntimeDep,
    locale: LocaleQuery = None,
) -> Response:
    """The act printed in the partner's language, or in English, Russian, Polish or Spanish
    as asked (R-C7). Admin, finance, auditor, or its partner."""
    document = _read_document(conn, read_after, caller, document_id, runtime)
    account = runtime.ledger.partner_account(document.partner_id)
    language = document_language(account, locale)
    printed = act_document(document, account, runtime, conn, language)
    return pdf_response(render_closing_document(printed, language), document.number)
