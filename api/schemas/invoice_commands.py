"""What the commands of `/v1/invoices` take and answer: payments from every source (R-C2,
R-H2), charges (R-H4), refunds (R-H6), voids and credit notes (R-X6), closing documents (R-C7);
and the mapping of a command's result to its answer, from what the command answered (so a
replay answers from the command log alone, R-X5)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal, Self
from uuid import UUID

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import CommandAccepted, FreeText, MoneyModel, PositiveMoney, accepted
from domain.invoice import InvoiceStatus
from domain.payment_methods import PaymentSource
from domain.values import TEXT_MAX_LENGTH
from ledger.application import Ledger
from ledger.command_records import CommandResult

INVOICES = "/v1/invoices"
DOCUMENTS = "/v1/closing-documents"

Reason = Annotated[FreeText, Field(min_length=1, max_length=TEXT_MAX_LENGTH)]
Reference = Annotated[FreeText, Field(min_length=1, max_length=TEXT_MAX_LENGTH)]


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
        if self.reference is not None and not self.source.is_confirmed_by_vendor:
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


def invoice_location(invoice_id: UUID) -> str:
    return f"{INVOICES}/{invoice_id}"


def _money(amount_minor: int, currency: str) -> MoneyModel:
    return MoneyModel(amount_minor=amount_minor, currency=currency)


def _invoice_fields(
    response: Response, result: CommandResult, invoice_id: UUID, id_: object | None = None
) -> dict[str, object]:
    """The fields of every answer on an invoice, from what its command answered."""
    data = result.data
    return {
        **accepted(response, result, invoice_location(invoice_id), id_).model_dump(),
        "invoice_id": invoice_id,
        "number": data["number"],
        "status": data["status"],
        "outstanding": _money(data["outstanding_minor"], data["currency"]),
    }


def invoice_accepted(
    response: Response, result: CommandResult, invoice_id: UUID
) -> InvoiceCommandAccepted:
    """A void's answer: the invoice as it left it."""
    return InvoiceCommandAccepted.model_validate(_invoice_fields(response, result, invoice_id))


def payment_accepted(
    response: Response, result: CommandResult, invoice_id: UUID
) -> PaymentAccepted:
    """A payment's or a charge's answer (a charge says what the processor answered, R-H4)."""
    payment_id = result.data["payment_id"]
    return PaymentAccepted.model_validate(
        {
            **_invoice_fields(response, result, invoice_id, payment_id),
            "payment_id": payment_id,
            "charge_status": result.data.get("charge_status"),
            "decline_code": result.data.get("decline_code"),
        }
    )


def refund_accepted(response: Response, result: CommandResult, invoice_id: UUID) -> RefundAccepted:
    refund_id = result.data["refund_id"]
    return RefundAccepted.model_validate(
        {**_invoice_fields(response, result, invoice_id, refund_id), "refund_id": refund_id}
    )


def credit_note_accepted(
    response: Response, result: CommandResult, invoice_id: UUID
) -> CreditNoteAccepted:
    credit_note_id = result.data["credit_note_id"]
    return CreditNoteAccepted.model_validate(
        {
            **_invoice_fields(response, result, invoice_id, credit_note_id),
            "credit_note_id": credit_note_id,
            "credit_note_number": result.data["credit_note_number"],
        }
    )


def closing_document_accepted(
    response: Response, result: CommandResult, invoice_id: UUID
) -> ClosingDocumentAccepted:
    data = result.data
    document_id = data["document_id"]
    answer = accepted(response, result, f"{DOCUMENTS}/{document_id}", document_id)
    return ClosingDocumentAccepted(
        **answer.model_dump(),
        invoice_id=invoice_id,
        document_id=document_id,
        document_number=data["document_number"],
        amount=_money(data["amount_minor"], data["currency"]),
    )


async def answered_in_full(ledger: Ledger, result: CommandResult) -> CommandResult:
    """The command's answer; one recorded before answers carried the invoice's currency (a key
    used before the upgrade, replayed) is completed by the ledger, in a thread."""
    if "currency" in result.data:
        return result
    return await asyncio.to_thread(ledger.completed_invoice_answer, result)
