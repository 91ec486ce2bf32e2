"""An invoice fetched again, whole, as `GET /v1/invoices/{id}` answers it: its lines,
payments, debits on their way, failed attempts, offline payments announced, refunds and credit
notes (R-O3, R-O5, R-X6, R-H2)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.routers.invoice_summary import InvoiceSummaryView, summary_fields
from api.schemas.common import MoneyModel
from domain.payment_methods import PaymentSource
from domain.values import InvoiceLineKind
from projections.invoices import InvoiceDetail

UNVERSIONED = "unversioned"
"""How a product line invoiced before prices had versions names its price (issue 13)."""


def _money(amount_minor: int, currency: str) -> MoneyModel:
    return MoneyModel(amount_minor=amount_minor, currency=currency)


class InvoiceLineModel(BaseModel):
    """A line: a product for a location and period, a lead, a discount or the card fee."""

    line_no: int
    kind: InvoiceLineKind
    description: str
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
        description="The catalogue price a product line was priced at (`pos-location@USD/v2`); "
        "`unversioned` on product lines invoiced before prices had versions.",
    )
    price_override: str | None = Field(
        default=None, description="The partner's override applied to the price (`10 % off`)."
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


def invoice_response(detail: InvoiceDetail) -> InvoiceResponse:
    """The invoice history's rows of one invoice as the API shows them."""
    currency = detail.invoice.currency
    attempts = detail.payments
    refunded: dict[UUID, int] = defaultdict(int)
    for refund in (a for a in attempts if a.what == "refund"):
        refunded[refund.payment_id] += refund.amount_minor
    cleared = {a.payment_id for a in attempts if a.what in ("payment", "failed")}
    return InvoiceResponse(
        **summary_fields(detail.invoice),
        lines=[
            InvoiceLineModel(
                line_no=line.line_no,
                kind=InvoiceLineKind(line.kind),
                description=line.description,
                quantity=line.quantity,
                amount=_money(line.amount_minor, line.currency),
                product_code=line.product_code,
                line_id=line.line_id,
                location_id=line.location_id,
                location_name=line.location_name,
                period_start=line.period_start,
                period_end=line.period_end,
                lead_id=line.lead_id,
                price_version=line.price_version
                or (UNVERSIONED if line.kind == InvoiceLineKind.PRODUCT else None),
                price_override=line.price_override,
            )
            for line in detail.lines
        ],
        payments=[
            PaymentView(
                payment_id=a.payment_id,
                source=PaymentSource(a.source),
                amount=_money(a.amount_minor, currency),
                fee=_money(a.fee_minor, currency),
                refunded=_money(refunded[a.payment_id], currency),
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
            if a.what == "pending" and a.payment_id not in cleared
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
