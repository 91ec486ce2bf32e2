"""`/v1/invoices` and `/v1/closing-documents`: invoices fetched again (R-O5), paid from every
source (R-C2, R-H2), charged and retried (R-H4), marked paid (R-H5), refunded (R-H6), voided or
credited (R-X6), and the closing documents of paid ones (R-C7, R-C8).

Commands load the invoice from the event store first, to learn whose it is: a partner key
naming another partner's invoice gets the same 404 as for an invoice that does not exist.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.keys import Principal
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.routers.invoice_summary import InvoiceSummaryView, invoice_page
from api.routers.invoice_views import InvoiceResponse, invoice_response
from api.runtime import Runtime
from api.schemas.common import (
    CommandAccepted,
    FreeText,
    MoneyModel,
    Page,
    PageParams,
    PositiveMoney,
    accepted,
)
from api.security import (
    Admin,
    Caller,
    Commander,
    IdempotencyKey,
    Receiver,
    refuse_payer_receipt,
    visible,
)
from domain.errors import ClosingDocumentNotFound, InvalidValue, InvoiceNotFound, PartnerNotFound
from domain.invoice import Invoice, InvoiceStatus
from domain.payment_methods import PaymentSource
from domain.values import TEXT_MAX_LENGTH, InvoiceLineKind, Payer
from ledger.commands.invoices import RECORDED_SOURCES
from ledger.errors import IdempotencyKeyReused
from ledger.writer import CommandResult
from projections import documents, invoices
from projections.documents import ClosingDocuments
from projections.invoices import InvoiceDetail, InvoiceHistory, PageCursor
from projections.pdf import (
    InvoiceDocument,
    InvoiceDocumentLine,
    render_closing_document,
    render_invoice,
)

router = APIRouter(tags=["invoices"])
closing_documents_router = APIRouter(tags=["closing documents"])

INVOICES = "/v1/invoices"
DOCUMENTS = "/v1/closing-documents"
NUMBER_MAX_LENGTH = 64
"""Document numbers are short (`INV-2026-000001`); a cursor naming a longer one is forged."""
PDF = "application/pdf"
Locale = Literal["en", "ru", "pl", "es"]
"""The languages documents are printed in (projections/pdf.py `LABELS`)."""


Reason = Annotated[FreeText, Field(min_length=1, max_length=TEXT_MAX_LENGTH)]
Reference = Annotated[FreeText, Field(min_length=1, max_length=TEXT_MAX_LENGTH)]
InvoiceId = Annotated[UUID, Path(description="The invoice's id.")]


# --- requests ----------------------------------------------------------------------------


class PaymentRequest(BaseModel):
    """Pay an invoice: by card or direct debit (charged now), from the company balance or
    bonuses, or record money that arrived by bank transfer, cash, cheque or other (R-C2, R-H2)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "source": "bank_transfer",
                    "amount": {"amount_minor": 3900, "currency": "USD"},
                    "reference": "Wire 2026-02-03 #4471",
                },
                {"source": "card"},
            ]
        },
    )

    source: PaymentSource
    amount: PositiveMoney | None = Field(
        default=None,
        description="Leave out to pay what the invoice owes. Not for card or direct debit: "
        "a charge is for what the invoice owes (a card adds its fee, R-O7).",
    )
    method_id: UUID | None = Field(
        default=None,
        description="Card or direct debit only: the payment method to charge (default: the "
        "partner's default one, or the card on a client-paid line).",
    )
    reference: Reference | None = Field(
        default=None,
        description="Bank transfer, cash, cheque or other only: the payer's reference.",
    )

    @model_validator(mode="after")
    def _fits_the_source(self) -> Self:
        if self.source.is_gateway and self.amount is not None:
            raise ValueError(
                "a card or debit charge is for what the invoice owes: leave out amount"
            )
        if self.method_id is not None and not self.source.is_gateway:
            raise ValueError("method_id is for card and direct_debit payments only")
        if self.reference is not None and self.source not in RECORDED_SOURCES:
            raise ValueError("reference is for bank_transfer, cash, cheque and other payments")
        return self


class PaymentAnnouncementRequest(BaseModel):
    """Money the payer sent outside the gateway (R-C2, R-H2): noted with its reference, paid
    once the vendor confirms it arrived."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"source": "bank_transfer", "reference": "Wire 2026-02-03 #4471"}]
        },
    )

    source: Literal["bank_transfer", "cash", "cheque", "other"]
    amount: PositiveMoney | None = Field(
        default=None, description="Leave out when it is what the invoice owes."
    )
    reference: Reference = Field(description="The transfer's, cheque's or receipt's reference.")


class ChargeRequest(BaseModel):
    """Charge what an invoice owes to a card or bank account now; also retries a failed one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"method_id": "3f1c2a9e-8d4b-4f6a-9c1e-2b7d5e8a0c41"}, {}]},
    )

    method_id: UUID | None = Field(
        default=None,
        description="The payment method to charge; by default the partner's default one, or "
        "the card on a client-paid line (R-H5).",
    )


class RefundRequest(BaseModel):
    """Refund part or all of a card, debit, bank or balance payment (R-H6)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "payment_id": "9b2e4c1a-7f3d-4e8b-a6c5-1d0f2e3a4b5c",
                    "amount": {"amount_minor": 1000, "currency": "USD"},
                    "reason": "Two locations closed mid-month",
                }
            ]
        },
    )

    payment_id: UUID = Field(description="The payment to refund, from the invoice's payments.")
    amount: PositiveMoney
    reason: Reason


class VoidRequest(BaseModel):
    """Void an invoice nothing was paid on; it stays in history as void (R-X6)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Issued to the wrong client"}]}
    )

    reason: Reason


class CreditNoteRequest(BaseModel):
    """Credit part or all of an invoice with a numbered credit note (R-X6)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amount": {"amount_minor": 1950, "currency": "USD"},
                    "reason": "Service outage 3-17 February",
                }
            ]
        },
    )

    amount: PositiveMoney
    reason: Reason


# --- command answers ---------------------------------------------------------------------


class InvoiceCommandAccepted(CommandAccepted):
    """A command on an invoice was recorded; the invoice as it left it."""

    invoice_id: UUID
    number: str
    status: InvoiceStatus
    outstanding: MoneyModel = Field(description="What the payer still owes.")


class PaymentAccepted(InvoiceCommandAccepted):
    """A payment was recorded, or a charge made (succeeded, pending or declined)."""

    payment_id: UUID | None
    charge_status: Literal["succeeded", "pending", "declined"] | None = Field(
        default=None, description="For a card or debit charge: the processor's answer."
    )
    decline_code: str | None = Field(
        default=None, description="Why a charge was declined (`expired_card`, …), R-H4."
    )


class RefundAccepted(InvoiceCommandAccepted):
    """A refund was recorded (and sent back through the processor if it came through it)."""

    refund_id: UUID


class CreditNoteAccepted(InvoiceCommandAccepted):
    """A credit note was issued."""

    credit_note_id: UUID
    credit_note_number: str


class ClosingDocumentAccepted(CommandAccepted):
    """A closing document was requested for a paid invoice (R-C7)."""

    invoice_id: UUID
    document_id: UUID
    document_number: str
    amount: MoneyModel = Field(description="What it covers: paid by card, bank or balance.")


# --- read answers ------------------------------------------------------------------------


class DocumentLineView(BaseModel):
    """A line of work a closing document covers."""

    kind: InvoiceLineKind
    description: str
    quantity: int
    amount: MoneyModel
    period_start: date | None
    period_end: date | None = Field(description="Exclusive: the day after the last day.")


class ClosingDocumentResponse(BaseModel):
    """An act of completed work for a client's paid invoice (R-C7, R-C8)."""

    id: UUID
    number: str
    invoice_id: UUID
    invoice_number: str
    partner_id: UUID
    partner_name: str | None
    client_id: UUID | None
    client_name: str | None
    period_start: date | None
    period_end: date | None = Field(description="Exclusive: the day after the last day.")
    lines: list[DocumentLineView]
    amount: MoneyModel = Field(description="Paid by card, bank or balance, less refunds and fees.")
    requested_on: date


# --- helpers -----------------------------------------------------------------------------


def _owned_invoice(runtime: Runtime, caller: Principal, invoice_id: UUID) -> Invoice:
    """The invoice, as its events make it now, if the caller may act on it."""
    found = runtime.ledger.load(Invoice, invoice_id)
    if found is None:
        raise InvoiceNotFound.of(invoice_id)
    visible(caller, found.partner_id, InvoiceNotFound.of(invoice_id))
    return found


def _money(amount_minor: int, currency: str) -> MoneyModel:
    return MoneyModel(amount_minor=amount_minor, currency=currency)


def _location(invoice_id: UUID) -> str:
    return f"{INVOICES}/{invoice_id}"


def _answer(result: CommandResult, found: Invoice, *names: str) -> dict[str, Any]:
    """What the command answered. The ledger replays some commands (charges, refunds) by key
    alone: a first answer about another invoice, or of another kind, means the key was reused
    for a different command (R-X5)."""
    if result.aggregate_id != found.id or any(name not in result.data for name in names):
        raise IdempotencyKeyReused("This idempotency key was already used for a different command.")
    return result.data


def _on_invoice(
    response: Response,
    result: CommandResult,
    found: Invoice,
    model: type[InvoiceCommandAccepted],
    id_: object | None = None,
    **extra: Any,
) -> Any:
    """The answer to a command on an invoice, from the command's first answer (R-X5)."""
    data = _answer(result, found, "status", "outstanding_minor")
    base = accepted(response, result, _location(found.id), id_)
    return model(
        **base.model_dump(),
        invoice_id=found.id,
        number=data.get("number", found.number),
        status=data["status"],
        outstanding=_money(data["outstanding_minor"], found.currency),
        **extra,
    )


def _paid(response: Response, result: CommandResult, found: Invoice) -> PaymentAccepted:
    payment_id = _answer(result, found, "payment_id")["payment_id"]
    answer: PaymentAccepted = _on_invoice(
        response,
        result,
        found,
        PaymentAccepted,
        payment_id,
        payment_id=payment_id,
        charge_status=result.data.get("charge_status"),
        decline_code=result.data.get("decline_code"),
    )
    return answer


def _read_invoice(
    conn: ReadConnection, read_after: ReadAfterDep, caller: Principal, invoice_id: UUID
) -> InvoiceDetail:
    read_after.wait(conn, InvoiceHistory.name)
    detail = invoices.invoice(conn, invoice_id)
    if detail is None:
        raise InvoiceNotFound.of(invoice_id)
    visible(caller, detail.invoice.partner_id, InvoiceNotFound.of(invoice_id))
    return detail


def _read_document(
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Principal,
    document_id: UUID,
    runtime: Runtime,
) -> documents.ClosingDocument:
    read_after.wait(conn, ClosingDocuments.name)
    found = documents.document(conn, document_id)
    if found is None:
        raise ClosingDocumentNotFound.of(document_id)
    visible(caller, found.partner_id, ClosingDocumentNotFound.of(document_id))
    return documents.revealed(found, runtime.sealer)


def _number(value: Any) -> str:
    """An invoice number from a cursor: a short plain string, or the cursor was forged."""
    if not isinstance(value, str) or not 0 < len(value) <= NUMBER_MAX_LENGTH or "\x00" in value:
        raise ValueError("not an invoice number")
    return value


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'},
    )


PDF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
        "description": "The document as a PDF.",
    },
    **READ_PROBLEMS,
}
LocaleQuery = Annotated[Locale, Query(description="The language the document is printed in.")]


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
        found = invoices.invoices_of(conn, partner_id, after=cursor, limit=page.limit)
    else:
        found = invoices.client_invoices(
            conn, partner_id, client_id, after=cursor, limit=page.limit
        )
    return invoice_page(found)


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
    locale: LocaleQuery = "en",
) -> Response:
    """The invoice printed in English, Russian, Polish or Spanish, to fetch again any time
    (R-O5). Admin, finance, auditor, or its partner."""
    detail = _read_invoice(conn, read_after, caller, invoice_id)
    row = detail.invoice
    account = runtime.ledger.partner_account(row.partner_id)
    partner_name = account.entity or account.name
    client = account.clients.get(str(row.client_id)) if row.client_id else None
    paid_by_client = row.payer == Payer.CLIENT.value
    data = InvoiceDocument(
        number=row.number,
        issued_on=row.issued_on,
        due_on=row.due_on,
        seller_name=runtime.settings.vendor_name,
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
    return _pdf(render_invoice(data, locale), row.number)


# --- invoices: commands ------------------------------------------------------------------


@router.post(
    f"{INVOICES}/{{invoice_id}}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Pay an invoice",
)
def pay_invoice(
    invoice_id: InvoiceId,
    body: PaymentRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> PaymentAccepted:
    """Pay from any source of R-C2: card or direct debit (charged now; a declined charge is
    recorded and answered with its decline code), company balance, bonuses, or record a bank
    transfer, cash, cheque or other payment (R-H2). The amount defaults to what is owed. Admin
    or the invoice's partner; money outside the gateway (bank transfer, cash, cheque, other) is
    recorded as received by the vendor only: a partner announces it instead
    (`…/payment-announcements`, 403 `forbidden` here)."""
    found = _owned_invoice(runtime, caller, invoice_id)
    refuse_payer_receipt(caller, body.source)
    result = runtime.ledger.pay_invoice(
        invoice_id,
        body.source,
        amount=body.amount.to_money() if body.amount else None,
        method_id=body.method_id,
        reference=body.reference,
        key=key,
    )
    return _paid(response, result, found)


@router.post(
    f"{INVOICES}/{{invoice_id}}/payment-announcements",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Announce a bank transfer, cash, cheque or other payment",
)
def announce_payment(
    invoice_id: InvoiceId,
    body: PaymentAnnouncementRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> PaymentAccepted:
    """Say that money was sent outside the gateway, with its reference (R-C2, R-H2). It pays
    nothing yet: the invoice still owes it, and lists it under `announced_payments` as waiting,
    until the vendor confirms it arrived (`…/payment-announcements/{payment_id}/confirm`).
    Admin or the invoice's partner."""
    found = _owned_invoice(runtime, caller, invoice_id)
    result = runtime.ledger.announce_payment(
        invoice_id,
        PaymentSource(body.source),
        body.reference,
        amount=body.amount.to_money() if body.amount else None,
        key=key,
    )
    return _paid(response, result, found)


@router.post(
    f"{INVOICES}/{{invoice_id}}/payment-announcements/{{payment_id}}/confirm",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Confirm an announced payment arrived",
)
def confirm_payment(
    invoice_id: InvoiceId,
    payment_id: Annotated[UUID, Path(description="The announced payment's id.")],
    runtime: RuntimeDep,
    response: Response,
    caller: Receiver,
    key: IdempotencyKey,
) -> PaymentAccepted:
    """The vendor received the money a payer announced: it pays the invoice now (R-H2);
    `payment_not_found` if no such announcement is waiting. Admin or finance."""
    found = _owned_invoice(runtime, caller, invoice_id)
    result = runtime.ledger.confirm_payment(invoice_id, payment_id, key=key)
    return _paid(response, result, found)


@router.post(
    f"{INVOICES}/{{invoice_id}}/charge",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Charge an invoice to a card or bank account (or retry a failed charge)",
)
def charge_invoice(
    invoice_id: InvoiceId,
    body: ChargeRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> PaymentAccepted:
    """Charge what the invoice owes now (a card adds its 3 % fee, R-O7). A decline is recorded
    as a failed attempt and answered 201 with `charge_status: declined` and the decline code
    (R-H4); charging again, to another method, retries it. Admin or the invoice's partner."""
    found = _owned_invoice(runtime, caller, invoice_id)
    result = runtime.ledger.charge_invoice(invoice_id, method_id=body.method_id, key=key)
    return _paid(response, result, found)


@router.post(
    f"{INVOICES}/{{invoice_id}}/mark-pending-paid",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Mark a failed or overdue invoice as paid",
)
def mark_pending_paid(
    invoice_id: InvoiceId,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> PaymentAccepted:
    """Record that what a failed or overdue invoice owes was paid outside Ledgerline (R-H5);
    refused with `nothing_outstanding` otherwise. Admin or the invoice's partner."""
    found = _owned_invoice(runtime, caller, invoice_id)
    result = runtime.ledger.mark_pending_paid(invoice_id, key=key)
    return _paid(response, result, found)


@router.post(
    f"{INVOICES}/{{invoice_id}}/refunds",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Refund a payment in full or in part",
)
def refund(
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
    found = _owned_invoice(runtime, caller, invoice_id)
    result = runtime.ledger.refund(
        invoice_id, body.payment_id, body.amount.to_money(), body.reason, key=key
    )
    refund_id = _answer(result, found, "refund_id")["refund_id"]
    answer: RefundAccepted = _on_invoice(
        response, result, found, RefundAccepted, refund_id, refund_id=refund_id
    )
    return answer


@router.post(
    f"{INVOICES}/{{invoice_id}}/void",
    status_code=status.HTTP_201_CREATED,
    response_model=InvoiceCommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Void an invoice",
)
def void_invoice(
    invoice_id: InvoiceId,
    body: VoidRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Admin,
    key: IdempotencyKey,
) -> InvoiceCommandAccepted:
    """Cancel an invoice nothing was paid or credited on; it stays in history as void (R-X6).
    Otherwise refused with `void_not_allowed`: issue a credit note. Admin only."""
    found = _owned_invoice(runtime, caller, invoice_id)
    result = runtime.ledger.void_invoice(invoice_id, body.reason, key=key)
    answer: InvoiceCommandAccepted = _on_invoice(response, result, found, InvoiceCommandAccepted)
    return answer


@router.post(
    f"{INVOICES}/{{invoice_id}}/credit-notes",
    status_code=status.HTTP_201_CREATED,
    response_model=CreditNoteAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Issue a credit note",
)
def issue_credit_note(
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
    found = _owned_invoice(runtime, caller, invoice_id)
    result = runtime.ledger.issue_credit_note(
        invoice_id, body.amount.to_money(), body.reason, key=key
    )
    credit_note_id = _answer(result, found, "credit_note_id")["credit_note_id"]
    answer: CreditNoteAccepted = _on_invoice(
        response,
        result,
        found,
        CreditNoteAccepted,
        credit_note_id,
        credit_note_id=credit_note_id,
        credit_note_number=result.data["credit_note_number"],
    )
    return answer


@router.post(
    f"{INVOICES}/{{invoice_id}}/closing-documents",
    status_code=status.HTTP_201_CREATED,
    response_model=ClosingDocumentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Request a closing document for a paid invoice",
)
def request_closing_document(
    invoice_id: InvoiceId,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> ClosingDocumentAccepted:
    """An act of completed work for a paid invoice, covering what was paid by card, bank or
    company balance (R-C7); refused with `closing_document_not_allowed` (and a `reason`) for
    unpaid invoices, bonus purchases, or a second request. Admin or the invoice's partner."""
    found = _owned_invoice(runtime, caller, invoice_id)
    result = runtime.ledger.request_closing_document(invoice_id, key=key)
    data = _answer(result, found, "document_id", "document_number", "amount_minor", "currency")
    base = accepted(response, result, f"{DOCUMENTS}/{data['document_id']}", data["document_id"])
    return ClosingDocumentAccepted(
        **base.model_dump(),
        invoice_id=found.id,
        document_id=data["document_id"],
        document_number=data["document_number"],
        amount=_money(data["amount_minor"], data["currency"]),
    )


# --- closing documents -------------------------------------------------------------------


@closing_documents_router.get(
    f"{DOCUMENTS}/{{document_id}}",
    response_model=ClosingDocumentResponse,
    responses=READ_PROBLEMS,
    summary="Read a closing document",
)
def get_closing_document(
    document_id: Annotated[UUID, Path(description="The closing document's id.")],
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    runtime: RuntimeDep,
) -> ClosingDocumentResponse:
    """A closing document with the work it covers (R-C7); a client's documents are its own
    (R-C8). Admin, finance, auditor, or its partner."""
    found = _read_document(conn, read_after, caller, document_id, runtime)
    return ClosingDocumentResponse(
        id=found.document_id,
        number=found.number,
        invoice_id=found.invoice_id,
        invoice_number=found.invoice_number,
        partner_id=found.partner_id,
        partner_name=found.partner_name,
        client_id=found.client_id,
        client_name=found.client_name,
        period_start=found.period_start,
        period_end=found.period_end,
        lines=[
            DocumentLineView(
                kind=InvoiceLineKind(line.kind),
                description=line.description,
                quantity=line.quantity,
                amount=_money(line.amount_minor, found.currency),
                period_start=line.period_start,
                period_end=line.period_end,
            )
            for line in found.lines
        ],
        amount=_money(found.amount_minor, found.currency),
        requested_on=found.requested_on,
    )


@closing_documents_router.get(
    f"{DOCUMENTS}/{{document_id}}/pdf",
    response_class=Response,
    responses=PDF_RESPONSES,
    summary="Print a closing document as PDF",
)
def get_closing_document_pdf(
    document_id: Annotated[UUID, Path(description="The closing document's id.")],
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    runtime: RuntimeDep,
    locale: LocaleQuery = "en",
) -> Response:
    """The act printed in English, Russian, Polish or Spanish (R-C7). Admin, finance, auditor,
    or its partner."""
    found = _read_document(conn, read_after, caller, document_id, runtime)
    return _pdf(render_closing_document(found, locale), found.number)
