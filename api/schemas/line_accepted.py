"""What a line command answers (201): the id, position and `Location` every command gives, and
what each adds (the line's status, the invoice and charge it set off, the card kept, the
consents still missing), mapped from the ledger's result so a replay answers the same."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from fastapi import Response
from pydantic import BaseModel, Field

from api.schemas.common import CommandAccepted, accepted
from domain.payment_methods import CardBrand
from domain.subscription_line import LineStatus, TransferParty
from ledger.command_records import CommandResult

LINES_PATH = "/v1/lines"


def line_location(line_id: UUID) -> str:
    """The path of a line: every line command's `Location`."""
    return f"{LINES_PATH}/{line_id}"


def line_command_accepted(
    response: Response, result: CommandResult, line_id: UUID
) -> CommandAccepted:
    """The answer every line command shares: `Location`, id and position; a replay says so."""
    return accepted(response, result, line_location(line_id))


class StatusAccepted(CommandAccepted):
    """A command on a line was recorded; the line's status after it."""

    status: LineStatus

    @classmethod
    def of(cls, response: Response, result: CommandResult, line_id: UUID) -> StatusAccepted:
        return cls(
            **line_command_accepted(response, result, line_id).model_dump(),
            status=result.data["status"],
        )


class ChargeOutcome(BaseModel):
    """A card charge or direct debit made right after a command, or why none could be made."""

    invoice_id: UUID | None = None
    payment_id: UUID | None = None
    charge_status: Literal["succeeded", "declined", "pending"] | None = None
    decline_code: str | None = Field(default=None, description="Why the processor declined.")
    invoice_status: Literal["open", "settled", "void"] | None = None
    error: str | None = Field(
        default=None, description="The refusal's `code` when no charge was made."
    )

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> ChargeOutcome | None:
        """The outcome a charge's answer data records (none: no charge was tried)."""
        if not data:
            return None
        return cls(
            invoice_id=data.get("invoice_id"),
            payment_id=data.get("payment_id"),
            charge_status=data.get("charge_status"),
            decline_code=data.get("decline_code"),
            invoice_status=data.get("status") if "charge_status" in data else None,
            error=data.get("error"),
        )


class BilledAccepted(StatusAccepted):
    """The line moved on; the invoice it issued and, with autopay by card or debit, the charge."""

    period_start: date | None = None
    period_end: date | None = Field(default=None, description="Exclusive.")
    starts_on: date | None = Field(
        default=None, description="A start set for a later day: the line waits for it."
    )
    invoice_id: UUID | None = None
    invoice_number: str | None = None
    charge: ChargeOutcome | None = None

    @classmethod
    def of(cls, response: Response, result: CommandResult, line_id: UUID) -> BilledAccepted:
        return cls(**billed_fields(response, result, line_id))


def billed_fields(response: Response, result: CommandResult, line_id: UUID) -> dict[str, Any]:
    """What a command that may bill answers: status, period, invoice, charge."""
    data = result.data
    return {
        **line_command_accepted(response, result, line_id).model_dump(),
        "status": data["status"],
        "period_start": data.get("period_start"),
        "period_end": data.get("period_end"),
        "starts_on": data.get("starts_on"),
        "invoice_id": data.get("invoice_id"),
        "invoice_number": data.get("invoice_number"),
        "charge": ChargeOutcome.of(data.get("charge")),
    }


class LeadAccepted(BilledAccepted):
    """The lead was recorded; at the threshold its invoice and charge (R-L2)."""

    budget_reached: bool = Field(description="The monthly budget is used up (R-L3).")

    @classmethod
    def of(cls, response: Response, result: CommandResult, line_id: UUID) -> LeadAccepted:
        fields = billed_fields(response, result, line_id)
        return cls(**fields, budget_reached=result.data["budget_reached"])


class LocationsAccepted(CommandAccepted):
    """A location joined or left the line; how many it has now (R-O3)."""

    locations: int = Field(ge=0, description="How many locations the line has now.")

    @classmethod
    def of(cls, response: Response, result: CommandResult, line_id: UUID) -> LocationsAccepted:
        answer = line_command_accepted(response, result, line_id)
        return cls(**answer.model_dump(), locations=result.data["locations"])


class CardView(BaseModel):
    """A card as it may be shown: brand, last 4 digits and expiry, nothing more (R-X4)."""

    brand: CardBrand
    last4: str
    expiry_month: int
    expiry_year: int


class CardAccepted(CommandAccepted):
    """The card is on the line; what was outstanding, and the charges made to it (R-H5)."""

    card: CardView
    outstanding: list[UUID] = Field(description="Invoices outstanding when the card was put on.")
    charges: list[ChargeOutcome] = Field(description="With `charge_all`: one per invoice.")

    @classmethod
    def of(cls, response: Response, result: CommandResult, line_id: UUID) -> CardAccepted:
        """The card kept and the charges made, as the ledger answered (a replay the same)."""
        charges = [ChargeOutcome.of(made) for made in result.data.get("charges", [])]
        return cls(
            **line_command_accepted(response, result, line_id).model_dump(),
            card=CardView(**result.data["card"]),
            outstanding=result.data["outstanding"],
            charges=[made for made in charges if made is not None],
        )


class TransferAccepted(CommandAccepted):
    """A transfer was asked for or consented to: whose consent is missing, and when it takes
    effect once none is (R-E2, R-E4)."""

    missing_consents: list[TransferParty]
    effective_on: date | None = Field(description="Set once all three have consented (R-E4).")

    @classmethod
    def of(cls, response: Response, result: CommandResult, line_id: UUID) -> TransferAccepted:
        return cls(
            **line_command_accepted(response, result, line_id).model_dump(),
            missing_consents=result.data["missing_consents"],
            effective_on=result.data["effective_on"],
        )
