"""The request bodies of the line commands (`/v1/lines`), each converting to what its ledger
command carries (`to_…`); the domain validates the values. What the commands answer is in
api/schemas/line_accepted.py, a line as read in api/schemas/line_views.py."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Path
from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field

from api.schemas.common import FreeText, PositiveMoney
from domain.calendar import Anchor, Term
from domain.payment_methods import (
    CARD_NUMBER_MAX_DIGITS,
    CARD_NUMBER_MIN_DIGITS,
    POSTAL_CODE_MAX_LENGTH,
    CardDetails,
    PaymentSource,
)
from domain.subscription_line import (
    ALL_PARTIES,
    LOCATIONS_MAX,
    TransferParty,
    TransferRequest,
)
from domain.values import TEXT_MAX_LENGTH, Location, Payer
from ledger.commands.lines import Outstanding

CARD_NUMBER_MAX_LENGTH = 2 * CARD_NUMBER_MAX_DIGITS - 1
"""The longest number with a space or dash between any two of its digits."""
CONSENTS_MAX = len(ALL_PARTIES)

LineId = Annotated[UUID, Path(description="The subscription line's id.")]
Text = Annotated[FreeText, Field(min_length=1, max_length=TEXT_MAX_LENGTH)]
AutopaySource = Literal["card", "direct_debit", "company_balance", "bank_transfer"]
"""R-C6: company balance, card (or its ACH sibling, direct debit) or invoice (bank transfer)."""
TransferBilling = Literal["monthly", "annual"]
TransferPayment = Literal["card", "direct_debit", "bank_transfer"]
"""R-E2: card, direct debit or invoice."""

PARTNER_EXAMPLE = "8f14e45f-ceea-4e7a-9b1c-0d2e3f4a5b6c"
CLIENT_EXAMPLE = "c9f0f895-fb98-4b9a-8c2d-1e3f4a5b6c7d"
LOCATION_EXAMPLE = {"location_id": "45c48cce-2e2d-4fbd-9d3c-5a6b7c8d9e0f", "name": "Downtown"}
CARD_EXAMPLE = {
    "number": "4242 4242 4242 4242",
    "expiry_month": 12,
    "expiry_year": 2030,
    "holder": "Dana Whitfield",
    "cvv": "123",
    "postal_code": "90012",
}


def _example(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


# --- request bodies ------------------------------------------------------------------------


class LocationModel(BaseModel):
    """One of the client's places of business; per-location products bill each one (R-O3)."""

    model_config = _example(LOCATION_EXAMPLE)

    location_id: UUID = Field(description="Your id for the location (remove it by this id).")
    name: Text

    def to_location(self) -> Location:
        return Location(self.location_id, self.name)


class CreateLineRequest(BaseModel):
    """Set up a line for one of a partner's clients, as a draft (R-C1, R-H1)."""

    model_config = _example(
        {
            "partner_id": PARTNER_EXAMPLE,
            "client_id": CLIENT_EXAMPLE,
            "product_code": "pos-location",
            "term": "monthly",
            "payer": "partner",
            "locations": [LOCATION_EXAMPLE],
        }
    )

    partner_id: UUID = Field(description="The partner selling the line (a partner key: its own).")
    client_id: UUID = Field(description="The partner's client the line is for.")
    product_code: FreeText = Field(
        min_length=1, max_length=64, description="A catalogue product's code."
    )
    term: Term = Field(
        default=Term.MONTHLY, description="`twelve_months` earns the duration discount (R-C3)."
    )
    payer: Payer = Field(
        default=Payer.PARTNER, description="Who is invoiced: the partner, or the client (R-C4)."
    )
    unified_billing: bool = Field(
        default=False, description="Bill on the partner's unified invoice (R-O3, R-O4)."
    )
    anchor: Anchor | None = Field(
        default=None,
        description="Bill on the 1st (`calendar`) or on the start day (`anniversary`, the "
        "default) (R-O2). Ignored with `unified_billing`: such a line takes its partner's "
        "anchor and billing day, the day the partner's unified invoice goes out.",
    )
    locations: list[LocationModel] = Field(default_factory=list, max_length=LOCATIONS_MAX)


class ActivateRequest(BaseModel):
    """Start the line's first period and bill it today (R-X7)."""

    model_config = _example({"start_on": "2026-02-01"})

    start_on: date | None = Field(
        default=None,
        description="The first day; by default today in the partner's time zone. Up to 31 days "
        "back (billed from that day, on an invoice issued today); a later day, up to 366 days "
        "ahead, waits for the billing clock to activate and invoice the line on that day.",
    )


class RenewRequest(BaseModel):
    """Renew the line for the period it names, its next one (R-C1): paying ahead is renewing
    the next periods one after another; a period already renewed answers 409 with the invoice
    that billed it."""

    model_config = _example({"period_start": "2026-02-28"})

    period_start: date = Field(
        validation_alias=AliasChoices("period_start", "on"),
        description="The first day of the period renewed: the line's next period, which starts "
        "when its current one ends. Its invoice is issued today in the partner's time zone. "
        "`on` is accepted as an older name of this field.",
    )


class ReasonRequest(BaseModel):
    """Why: kept in the line's history (R-H7)."""

    model_config = _example({"reason": "The client closed the shop."})

    reason: Text


class LineAutopayRequest(BaseModel):
    """Pay this line's renewals automatically from this source, or stop with null (R-C6)."""

    model_config = _example({"source": "company_balance"}, {"source": None})

    source: AutopaySource | None = Field(description="Null turns autopay off.")

    def to_source(self) -> PaymentSource | None:
        return PaymentSource(self.source) if self.source else None


class CardRequest(BaseModel):
    """Card details as typed: validated, tokenised by the gateway, never stored (R-X4)."""

    model_config = _example(CARD_EXAMPLE)

    number: str = Field(
        min_length=CARD_NUMBER_MIN_DIGITS,
        max_length=CARD_NUMBER_MAX_LENGTH,
        pattern=r"^[0-9][0-9 -]*[0-9]$",
        description="Digits, with spaces or dashes between groups if you like.",
    )
    expiry_month: int = Field(ge=1, le=12, strict=True)
    expiry_year: int = Field(ge=2000, le=2099, strict=True, description="Four digits.")
    holder: Text
    cvv: str = Field(pattern=r"^[0-9]{3,4}$", description="4 digits on Amex, 3 on the others.")
    postal_code: str = Field(
        min_length=1, max_length=POSTAL_CODE_MAX_LENGTH, pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$"
    )

    def to_details(self) -> CardDetails:
        """The card as the processor is to tokenise it (the domain validates it first)."""
        return CardDetails(
            number=self.number,
            expiry_month=self.expiry_month,
            expiry_year=self.expiry_year,
            holder=self.holder,
            cvv=self.cvv,
            postal_code=self.postal_code,
        )


class AttachCardRequest(BaseModel):
    """Put a new card on a client-paid line; the billing date never moves (R-H5)."""

    model_config = _example(
        {
            "card": CARD_EXAMPLE,
            "outstanding": "charge_all",
        }
    )

    card: CardRequest
    outstanding: Outstanding | None = Field(
        default=None,
        description="With payments outstanding (R-H2): `charge_all` charges every one to the "
        "new card now, `mark_paid` marks them all paid. Left out, they stay outstanding.",
    )


class LeadRequest(BaseModel):
    """A delivered lead, charged at its price (R-L1); $200 unbilled is invoiced at once (R-L2)."""

    model_config = _example(
        {
            "lead_id": "d3d94468-02a4-4c5e-8f1a-2b3c4d5e6f70",
            "delivered_at": "2026-02-03T15:04:05Z",
            "price": {"amount_minor": 3500, "currency": "USD"},
        }
    )

    lead_id: UUID = Field(description="The lead's id: a lead delivered twice is charged once.")
    delivered_at: AwareDatetime = Field(description="When the lead was delivered.")
    price: PositiveMoney | None = Field(
        default=None,
        description="By default the catalogue's in force on the delivery day, less the "
        "partner's override; a price set here names no catalogue version on the invoice line.",
    )


class TransferRequestBody(BaseModel):
    """Move the client's subscription to another reseller (R-E1, R-E2)."""

    model_config = _example(
        {
            "end_user_name": "Whitfield Dental",
            "current_reseller_id": PARTNER_EXAMPLE,
            "new_reseller_id": "1679091c-5a88-4faf-8b3e-4c5d6e7f8091",
            "preferred_date": "2026-03-01",
            "owner_email": "owner@whitfield.example",
            "invoice_email": "billing@whitfield.example",
            "billing": "annual",
            "payment_method": "direct_debit",
            "consents": ["client", "current_reseller"],
        }
    )

    end_user_name: Text
    current_reseller_id: UUID = Field(description="The partner the line belongs to now.")
    new_reseller_id: UUID = Field(description="The partner it is to move to.")
    preferred_date: date = Field(description="No sooner than 1-2 business days after (R-E4).")
    owner_email: Text
    invoice_email: Text
    billing: TransferBilling
    payment_method: TransferPayment
    consents: list[TransferParty] = Field(
        default_factory=list,
        max_length=CONSENTS_MAX,
        description="Consents given with the request: the client's and the current "
        "reseller's (the new reseller consents itself, on `…/transfers/consents`).",
    )

    def to_request(self) -> TransferRequest:
        """The request as the line takes it (the domain validates every field, R-E2)."""
        return TransferRequest(
            end_user_name=self.end_user_name,
            current_reseller_id=self.current_reseller_id,
            new_reseller_id=self.new_reseller_id,
            preferred_date=self.preferred_date,
            owner_email=self.owner_email,
            invoice_email=self.invoice_email,
            billing=Term(self.billing),
            payment_method=PaymentSource(self.payment_method),
        )


class ConsentRequest(BaseModel):
    """One party consents to the pending transfer; with all three it is scheduled (R-E2, R-E4)."""

    model_config = _example({"party": "new_reseller"})

    party: TransferParty = Field(
        description="`client` or `current_reseller` (admin or the owning partner), "
        "`new_reseller` (admin or the partner the transfer goes to)."
    )
