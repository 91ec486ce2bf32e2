"""What `/v1/invoices` and `/v1/closing-documents` answer when read: an invoice in a list
(R-O5, R-C8), an invoice fetched again whole (R-O3, R-O5, R-X6, R-H2), and a closing document
(R-C7, R-C8). The one `ClosingDocumentResponse` every route answering a closing document uses."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Path
from pydantic import BaseModel, Field

from api.schemas.common import MoneyModel
from domain.invoice import InvoiceKind, InvoiceStatus
from domain.payment_methods import PaymentSource
from domain.values import InvoiceLineKind, Payer
from ledger.wording import words_in
from projections.documents import DocumentLine
from projections.invoices import InvoiceLineView

InvoiceId = Annotated[UUID, Path(description="The invoice's id.")]


LINE_DESCRIPTION = (
    "What the line is, in English, worded from what was recorded (product, location, lead, "
    "a discount's term and rate, the card fee's rate); the documents word it in their language."
)


def line_description(line: InvoiceLineView | DocumentLine) -> str:
    """What a line is, in English, worded from what its event recorded by the documents' own
    wording (ledger/wording.py; issue 17): the response keeps its `description` for clients."""
    english = words_in("en")
    return english.line(
        line.kind,
        line.description,
        english.product_name(line.product_names),
        line.location_name,
        line.rate,
        line.term_months,
        line.lead_id,
        line.product_code,
    )


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


class InvoiceLineModel(BaseModel):
    """A line: a product for a location and period, a lead, a discount or the card fee."""

    line_no: int
    kind: InvoiceLineKind
    description: str = Field(description=LINE_DESCRIPTION)
    quantity: int
    amount: MoneyModel
    product_code: str | None
    line_id: UUID | None = Field(description="The subscription line it bills.")
    location_id: UUID | None
    location_name: str | None
    period_start: date | None
    period_end: date | None = Field(description="Exclusive: the day after the last day billed.")
    lead_id: UUID | None
    price_version: str | None = Field(
        default=None,
        description="The catalogue price a product or lead line was priced at "
        "(`pos-location@USD/v2`); `unversioned` on product and lead lines invoiced before "
        "prices had versions; null on a lead whose request set its price "
        "(`price_override` then says so) and on the other kinds.",
    )
    price_override: str | None = Field(
        default=None,
        description="What overrode the catalogue price: the partner's override (`10 % off`), "
        "or `price set on the lead` for a lead its request priced.",
    )
    policy_version: int | None = Field(
        default=None,
        description="The billing policy version whose rate made a discount or card-fee line "
        "(`GET /v1/policy/versions`); null on the other kinds and on discount lines invoiced "
        "before it was recorded.",
    )


class PaymentView(BaseModel):
    """Money received for the invoice."""

    payment_id: UUID
    source: PaymentSource
    amount: MoneyModel
    fee: MoneyModel = Field(description="The part of it that paid the card fee line (R-O7).")
    refunded: MoneyModel
    received_on: date
    reference: str | None
    note: str | None


class PendingDebitView(BaseModel):
    """A direct debit submitted and not yet settled or bounced."""

    payment_id: UUID
    amount: MoneyModel
    submitted_on: date


class FailedAttemptView(BaseModel):
    """A declined card charge or a bounced debit (R-H2, R-H4)."""

    payment_id: UUID
    source: PaymentSource
    amount: MoneyModel
    attempted_on: date
    decline_code: str | None
    reason: str | None


class AnnouncedPaymentView(BaseModel):
    """Money the payer says it sent by bank transfer, cash, cheque or other (R-H2): it pays
    nothing while it waits; the vendor confirms it by its `payment_id`
    (`POST /v1/invoices/{id}/payment-announcements/{payment_id}/confirm`), and it is then the
    payment with the same id."""

    payment_id: UUID = Field(description="The id to confirm it by; its payment's once confirmed.")
    source: PaymentSource
    amount: MoneyModel
    reference: str = Field(description="The transfer's, cheque's or receipt's reference.")
    announced_on: date
    status: Literal["waiting", "confirmed"] = Field(
        description="`waiting` until the vendor confirms it arrived; not paid until then."
    )
    confirmed_on: date | None = Field(description="When the vendor recorded it received.")


class RefundView(BaseModel):
    """Part or all of a payment given back (R-H6)."""

    refund_id: UUID | None
    payment_id: UUID
    source: PaymentSource
    amount: MoneyModel
    refunded_on: date
    reason: str | None


class CreditNoteView(BaseModel):
    """A numbered credit note against the invoice (R-X6)."""

    credit_note_id: UUID
    number: str
    amount: MoneyModel
    reason: str
    issued_on: date


class InvoiceResponse(InvoiceSummaryView):
    """An invoice fetched again, whole (R-O3, R-O5)."""

    lines: list[InvoiceLineModel]
    payments: list[PaymentView]
    pending_debits: list[PendingDebitView]
    failed_attempts: list[FailedAttemptView]
    announced_payments: list[AnnouncedPaymentView] = Field(
        description="Offline payments the payer announced, oldest first: waiting ones are not "
        "in `paid` and still `outstanding` (R-H2)."
    )
    refunds: list[RefundView]
    credit_notes: list[CreditNoteView]


class DocumentLineView(BaseModel):
    """A line of work a closing document covers."""

    kind: InvoiceLineKind
    description: str = Field(description=LINE_DESCRIPTION)
    quantity: int
    amount: MoneyModel
    period_start: date | None
    period_end: date | None = Field(description="Exclusive: the day after the last day.")

    @classmethod
    def of(cls, line: DocumentLine, currency: str) -> DocumentLineView:
        return cls(
            kind=InvoiceLineKind(line.kind),
            description=line_description(line),
            quantity=line.quantity,
            amount=MoneyModel(amount_minor=line.amount_minor, currency=currency),
            period_start=line.period_start,
            period_end=line.period_end,
        )


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
