"""`/v1/lines`: subscription lines, from draft to cancelled (R-H1), with their locations (R-O3),
autopay (R-C6), the client's card (R-H5), leads (R-L1, R-L2) and reseller transfers (R-E1 … R-E4).

Who may call: commands, admin keys and the key of the partner the line belongs to; the line,
any key that may see that partner (admin, finance, auditor, the owning partner). Another
partner's line answers exactly the 404 of an id that does not exist. One exception, because
a transfer needs the consent of a reseller who does not own the line yet: the partner a
pending transfer is addressed to may give its own consent (`new_reseller`), and nothing else;
it still cannot read the line until the transfer has taken effect.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.keys import Principal, Role
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.routers.clients import owner_of
from api.routers.partner_common import refuse_other_body
from api.runtime import Runtime
from api.schemas.common import (
    CommandAccepted,
    FreeText,
    MoneyModel,
    Page,
    PageParams,
    PositiveMoney,
    accepted,
    page_of,
)
from api.security import Caller, Commander, Forbidden, IdempotencyKey, visible
from domain.calendar import Anchor, Term
from domain.errors import InvalidValue, LineNotFound, PartnerNotFound
from domain.payment_methods import (
    CARD_NUMBER_MAX_DIGITS,
    CARD_NUMBER_MIN_DIGITS,
    POSTAL_CODE_MAX_LENGTH,
    CardBrand,
    CardDetails,
    PaymentSource,
)
from domain.pricing import PriceUnit
from domain.subscription_line import (
    ALL_PARTIES,
    LOCATIONS_MAX,
    LineStatus,
    SubscriptionLine,
    TransferParty,
    TransferRequest,
)
from domain.values import TEXT_MAX_LENGTH, Location, Payer
from ledger import reads
from ledger.commands import lines as line_commands
from ledger.commands.lines import Outstanding
from ledger.errors import IdempotencyKeyReused
from ledger.writer import CommandResult

router = APIRouter(prefix="/v1/lines", tags=["lines"])

DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2999, 12, 31)
"""Business dates outside these are typos; bounded so that adding a period or converting a
time zone can never overflow the calendar. A line's start and the period a renewal names are
bounded tighter by the rules themselves (R-X7)."""

CARD_NUMBER_MAX_LENGTH = 2 * CARD_NUMBER_MAX_DIGITS - 1
"""The longest number with a space or dash between any two of its digits."""
CONSENTS_MAX = len(ALL_PARTIES)

Text = Annotated[FreeText, Field(min_length=1, max_length=TEXT_MAX_LENGTH)]
LineId = Annotated[UUID, Path(description="The subscription line's id.")]
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
    price: PositiveMoney | None = Field(default=None, description="By default the product's.")


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


class ConsentRequest(BaseModel):
    """One party consents to the pending transfer; with all three it is scheduled (R-E2, R-E4)."""

    model_config = _example({"party": "new_reseller"})

    party: TransferParty = Field(
        description="`client` or `current_reseller` (admin or the owning partner), "
        "`new_reseller` (admin or the partner the transfer goes to)."
    )


# --- answers -------------------------------------------------------------------------------


class StatusAccepted(CommandAccepted):
    """A command on a line was recorded; the line's status after it."""

    status: LineStatus


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


class LeadAccepted(BilledAccepted):
    """The lead was recorded; at the threshold its invoice and charge (R-L2)."""

    budget_reached: bool = Field(description="The monthly budget is used up (R-L3).")


class LocationsAccepted(CommandAccepted):
    locations: int = Field(ge=0, description="How many locations the line has now.")


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


class TransferAccepted(CommandAccepted):
    missing_consents: list[TransferParty]
    effective_on: date | None = Field(description="Set once all three have consented (R-E4).")


class PeriodView(BaseModel):
    start: date
    end: date = Field(description="Exclusive.")


class LeadsView(BaseModel):
    """Delivered leads not invoiced yet, against the amount invoiced at once (R-L2)."""

    unbilled_count: int
    unbilled_total: MoneyModel
    threshold: MoneyModel | None = Field(description="Null: invoiced on Fridays only.")
    threshold_reached: bool


class OpenInvoiceView(BaseModel):
    invoice_id: UUID
    number: str


class TransferView(BaseModel):
    """The pending move to another reseller (R-E2) and who has consented."""

    end_user_name: str
    current_reseller_id: UUID
    new_reseller_id: UUID
    preferred_date: date
    owner_email: str
    invoice_email: str
    billing: Term
    payment_method: PaymentSource
    consents: list[TransferParty]
    missing_consents: list[TransferParty]
    effective_on: date | None


class LineResponse(BaseModel):
    """A subscription line as its events make it now."""

    id: UUID
    version: int = Field(description="How many events the line has.")
    status: LineStatus
    accepted: bool = Field(description="The customer accepted it (R-H1).")
    partner_id: UUID
    client_id: UUID
    payer: Payer
    unified_billing: bool
    product_code: str
    product_name: str
    unit: PriceUnit
    unit_price: MoneyModel
    term: Term
    anchor: Anchor = Field(
        description="How the line's periods end (R-O2): `calendar` on the 1st, `anniversary` "
        "on `anchor_day`. A line created in unified billing took its partner's anchor and "
        "day (and keeps them if it leaves); any other line has its own, chosen when created "
        "(by default `anniversary`, the day it starts), whatever its partner's anchor."
    )
    anchor_day: int | None = Field(
        description="The day of the month its periods end on (29th-31st clamp to a shorter "
        "month's last day): 1 for `calendar`; for `anniversary`, its partner's day in unified "
        "billing, otherwise null until the line starts and its start day from then on."
    )
    locations: list[LocationModel]
    current_period: PeriodView | None
    invoiced_through: date | None
    autopay: PaymentSource | None
    card: CardView | None
    leads: LeadsView | None = Field(description="Pay-per-lead lines only.")
    open_invoices: list[OpenInvoiceView] = Field(description="Not yet settled (R-E3).")
    transfer: TransferView | None


# --- helpers -------------------------------------------------------------------------------


def _line(runtime: Runtime, caller: Principal, line_id: UUID) -> SubscriptionLine:
    """The line, if the caller may see it; another partner's is not found."""
    line = runtime.ledger.line(line_id)
    visible(caller, line.partner_id, LineNotFound.of(line_id))
    return line


def _within(day: date, field: str) -> date:
    if not DATE_MIN <= day <= DATE_MAX:
        raise InvalidValue(f"{field} must be between {DATE_MIN} and {DATE_MAX}.", field=field)
    return day


def _location(line_id: UUID) -> str:
    return f"{router.prefix}/{line_id}"


def _base(response: Response, result: CommandResult, line_id: UUID) -> dict[str, Any]:
    return accepted(response, result, _location(line_id)).model_dump()


def _charge(data: dict[str, Any] | None) -> ChargeOutcome | None:
    if not data:
        return None
    return ChargeOutcome(
        invoice_id=data.get("invoice_id"),
        payment_id=data.get("payment_id"),
        charge_status=data.get("charge_status"),
        decline_code=data.get("decline_code"),
        invoice_status=data.get("status") if "charge_status" in data else None,
        error=data.get("error"),
    )


def _billed(response: Response, result: CommandResult, line_id: UUID) -> dict[str, Any]:
    data = result.data
    return {
        **_base(response, result, line_id),
        "status": data["status"],
        "period_start": data.get("period_start"),
        "period_end": data.get("period_end"),
        "starts_on": data.get("starts_on"),
        "invoice_id": data.get("invoice_id"),
        "invoice_number": data.get("invoice_number"),
        "charge": _charge(data.get("charge")),
    }


def _status(response: Response, result: CommandResult, line_id: UUID) -> StatusAccepted:
    return StatusAccepted(**_base(response, result, line_id), status=result.data["status"])


def _transfer(response: Response, result: CommandResult, line_id: UUID) -> TransferAccepted:
    return TransferAccepted(
        **_base(response, result, line_id),
        missing_consents=result.data["missing_consents"],
        effective_on=result.data["effective_on"],
    )


def _consents_allowed(caller: Principal, line: SubscriptionLine) -> frozenset[TransferParty]:
    """Whose consent this key may give: every party (admin); the client's and its own (the
    owning partner); its own only (the partner a pending transfer goes to). No relation to
    the line at all is an unknown line."""
    if caller.role is Role.ADMIN:
        return frozenset(ALL_PARTIES)
    if caller.partner_id == line.partner_id:
        return frozenset({TransferParty.CLIENT, TransferParty.CURRENT_RESELLER})
    if line.transfer is not None and caller.partner_id == line.transfer.new_reseller_id:
        return frozenset({TransferParty.NEW_RESELLER})
    raise LineNotFound.of(line.id)


def _may_consent(allowed: frozenset[TransferParty], parties: list[TransferParty]) -> None:
    refused = [party.value for party in parties if party not in allowed]
    if refused:
        raise Forbidden(
            f"This key may not consent as {', '.join(refused)}: each reseller gives "
            "its own consent, and the client's is recorded by its current reseller."
        )


# --- routes --------------------------------------------------------------------------------


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Create a line",
)
def create_line(
    body: CreateLineRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> StatusAccepted:
    """A partner sets up a line for one of its clients, as a draft (R-C1, R-H1)."""
    visible(
        caller,
        body.partner_id,
        PartnerNotFound.of(body.partner_id),
    )
    result = runtime.ledger.create_line(
        body.partner_id,
        body.client_id,
        body.product_code,
        term=body.term,
        payer=body.payer,
        unified_billing=body.unified_billing,
        locations=tuple(Location(loc.location_id, loc.name) for loc in body.locations),
        anchor=body.anchor,
        key=key,
    )
    line_id = result.aggregate_id
    if line_id is None:  # pragma: no cover - the ledger names every line it creates
        raise RuntimeError("the ledger created a line without an id")
    return _status(response, result, line_id)


@router.get(
    "/{line_id}",
    response_model=LineResponse,
    responses=READ_PROBLEMS,
    summary="Read a line",
)
def get_line(
    line_id: LineId, runtime: RuntimeDep, read_after: ReadAfterDep, caller: Caller
) -> LineResponse:
    """The line as its events make it now, read from the event store.

    The event store holds every command answered so far, so any `min_position` a command
    gave is already reached: the wait parameters are accepted and never wait.
    """
    line = _line(runtime, caller, line_id)
    return _line_view(runtime, line)


@router.get(
    "",
    response_model=Page[LineResponse],
    responses=READ_PROBLEMS,
    summary="List a client's lines",
)
def list_lines(
    client_id: Annotated[UUID, Query(description="Whose lines: one of the partner's clients.")],
    conn: ReadConnection,
    runtime: RuntimeDep,
    read_after: ReadAfterDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
) -> Page[LineResponse]:
    """A client's subscription lines in id order, each as its events make it now (R-C1,
    R-C8). A partner key sees the lines it sells: a line transferred to another reseller is
    that reseller's (R-E1). Another partner's client answers as one that does not exist."""
    owner_of(conn, runtime, caller, client_id)
    after = page.after_as(UUID)
    found = reads.client_lines(
        conn,
        runtime.ledger.load,
        client_id,
        partner_id=caller.partner_id,
        after=after[0] if after else None,
        limit=page.limit + 1,
    )
    items = [_line_view(runtime, line) for line in found]
    return page_of(items, page.limit, lambda line: [str(line.id)])


@router.post(
    "/{line_id}/send",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Send a draft to the customer",
)
async def send_line(
    line_id: LineId, runtime: RuntimeDep, response: Response, caller: Commander, key: IdempotencyKey
) -> StatusAccepted:
    """The line is pending until the customer accepts it and it is activated (R-H1)."""
    command = line_commands.SendLine(line_id=line_id, actor=caller.actor)
    return _status(response, await runtime.ledger.submit(command, key), line_id)


@router.post(
    "/{line_id}/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Record the customer's acceptance",
)
async def accept_line(
    line_id: LineId, runtime: RuntimeDep, response: Response, caller: Commander, key: IdempotencyKey
) -> StatusAccepted:
    """The customer accepted a pending line; it can now be activated (R-H1)."""
    command = line_commands.AcceptLine(line_id=line_id, actor=caller.actor)
    return _status(response, await runtime.ledger.submit(command, key), line_id)


@router.post(
    "/{line_id}/activate",
    status_code=status.HTTP_201_CREATED,
    response_model=BilledAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Activate a line and bill its first period",
)
def activate_line(
    line_id: LineId,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
    body: ActivateRequest | None = None,
) -> BilledAccepted:
    """Start the first period (a draft, or a pending line the customer accepted) and invoice
    it today (R-H1, R-O2, R-X7); with autopay by card or debit the invoice is charged at once.
    A start on a later day is scheduled: the billing clock activates and invoices it then."""
    _line(runtime, caller, line_id)
    start_on = body.start_on if body else None
    result = runtime.ledger.activate_line(line_id, start_on, key=key)
    return BilledAccepted(**_billed(response, result, line_id))


@router.post(
    "/{line_id}/renew",
    status_code=status.HTTP_201_CREATED,
    response_model=BilledAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Renew a line for its next period",
)
def renew_line(
    line_id: LineId,
    body: RenewRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> BilledAccepted:
    """Renew the period named, the line's next, invoiced today unless invoiced ahead already
    (R-C1, R-C6, R-X7); the billing clock does this by itself on the billing day. A period is
    renewed once, whatever the key: a second request answers 409 `period_already_renewed`."""
    _line(runtime, caller, line_id)
    result = runtime.ledger.renew_line(line_id, body.period_start, key=key)
    return BilledAccepted(**_billed(response, result, line_id))


@router.post(
    "/{line_id}/cancel",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Cancel a line",
)
def cancel_line(
    line_id: LineId,
    body: ReasonRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> StatusAccepted:
    """End the line (R-H1); also how a cash, cheque or other payment is given back (R-H6)."""
    _line(runtime, caller, line_id)
    return _status(response, runtime.ledger.cancel_line(line_id, body.reason, key=key), line_id)


@router.post(
    "/{line_id}/pause",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Pause an active line",
)
def pause_line(
    line_id: LineId,
    body: ReasonRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> StatusAccepted:
    """The line stops delivering until resumed; its billing date does not move."""
    _line(runtime, caller, line_id)
    return _status(response, runtime.ledger.pause_line(line_id, body.reason, key=key), line_id)


@router.post(
    "/{line_id}/resume",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Resume a paused line",
)
def resume_line(
    line_id: LineId, runtime: RuntimeDep, response: Response, caller: Commander, key: IdempotencyKey
) -> StatusAccepted:
    """A paused line delivers again, on the billing date it always had."""
    _line(runtime, caller, line_id)
    return _status(response, runtime.ledger.resume_line(line_id, key=key), line_id)


@router.post(
    "/{line_id}/locations",
    status_code=status.HTTP_201_CREATED,
    response_model=LocationsAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Add a location to a line",
)
def add_location(
    line_id: LineId,
    body: LocationModel,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> LocationsAccepted:
    """A per-location line bills it from its next invoice on (R-O3)."""
    _line(runtime, caller, line_id)
    location = Location(body.location_id, body.name)
    result = runtime.ledger.add_location(line_id, location, key=key)
    return LocationsAccepted(**_base(response, result, line_id), locations=result.data["locations"])


@router.post(
    "/{line_id}/locations/{location_id}/remove",
    status_code=status.HTTP_201_CREATED,
    response_model=LocationsAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Remove a location from a line",
)
def remove_location(
    line_id: LineId,
    location_id: Annotated[UUID, Path(description="The location's id.")],
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> LocationsAccepted:
    """The location leaves the line; a per-location line keeps at least one."""
    _line(runtime, caller, line_id)
    result = runtime.ledger.remove_location(line_id, location_id, key=key)
    return LocationsAccepted(**_base(response, result, line_id), locations=result.data["locations"])


@router.post(
    "/{line_id}/autopay",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Set or stop a line's autopay",
)
def set_line_autopay(
    line_id: LineId,
    body: LineAutopayRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Renewals are paid from the company balance, by card or debit, or by invoice issued
    5 days ahead (R-C6); null turns autopay off."""
    _line(runtime, caller, line_id)
    source = PaymentSource(body.source) if body.source else None
    result = runtime.ledger.set_line_autopay(line_id, source, key=key)
    return accepted(response, result, _location(line_id))


def _refuse_another_card(runtime: Runtime, key: str, line_id: UUID, card: CardDetails) -> None:
    """The ledger replays a card update by its key alone: the card that key recorded on this
    line must be this card (compared by what is kept of it), or the key is reused (R-X5)."""
    refuse_other_body(
        runtime,
        key,
        line_id,
        lambda event: (
            isinstance(event, SubscriptionLine.CardAttached)
            and (event.card.last4, event.card.expiry_month, event.card.expiry_year)
            == (card.last4, card.expiry_month, card.expiry_year)
        ),
    )


@router.post(
    "/{line_id}/card",
    status_code=status.HTTP_201_CREATED,
    response_model=CardAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Put a new card on a client-paid line",
)
def attach_card(
    line_id: LineId,
    body: AttachCardRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CardAccepted:
    """The card is checked (Luhn, expiry, CVV) and tokenised by the payment processor; only
    its brand, last 4 digits and expiry are kept and shown (R-X4). The billing date never
    moves; payments outstanding are charged to it or marked paid, as chosen (R-H5, R-L5)."""
    _line(runtime, caller, line_id)
    card = body.card
    details = CardDetails(
        number=card.number,
        expiry_month=card.expiry_month,
        expiry_year=card.expiry_year,
        holder=card.holder,
        cvv=card.cvv,
        postal_code=card.postal_code,
    )
    _refuse_another_card(runtime, key, line_id, details)
    result = runtime.ledger.attach_line_card(line_id, details, body.outstanding, key=key)
    if result.aggregate_id != line_id or "outstanding" not in result.data:
        # The ledger replays a card update by its key alone (the card is never kept to compare
        # with): a key first used for another command must not answer as if it were this one.
        raise IdempotencyKeyReused("This idempotency key was already used for a different command.")
    shown = CardView(
        brand=details.brand,
        last4=details.last4,
        expiry_month=card.expiry_month,
        expiry_year=card.expiry_year,
    )
    charges = [_charge(made) for made in result.data.get("charges", [])]
    return CardAccepted(
        **_base(response, result, line_id),
        card=shown,
        outstanding=result.data["outstanding"],
        charges=[made for made in charges if made is not None],
    )


@router.post(
    "/{line_id}/leads",
    status_code=status.HTTP_201_CREATED,
    response_model=LeadAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Record a delivered lead",
)
def record_lead(
    line_id: LineId,
    body: LeadRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> LeadAccepted:
    """Charged at its price, no subscription fee (R-L1), against the monthly budget (R-L3);
    unbilled leads reaching $200 are invoiced (and with autopay charged) at once (R-L2)."""
    _line(runtime, caller, line_id)
    _within(body.delivered_at.date(), "delivered_at")
    price = body.price.to_money() if body.price else None
    result = runtime.ledger.record_lead(
        line_id, body.lead_id, _utc(body.delivered_at), price, key=key
    )
    return LeadAccepted(
        **_billed(response, result, line_id), budget_reached=result.data["budget_reached"]
    )


@router.post(
    "/{line_id}/transfers",
    status_code=status.HTTP_201_CREATED,
    response_model=TransferAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Request a transfer to another reseller",
)
def request_transfer(
    line_id: LineId,
    body: TransferRequestBody,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> TransferAccepted:
    """The current reseller (or the vendor) asks to move the line (R-E1, R-E2); every invoice
    must be settled first, or the refusal lists the unsettled ones (R-E3)."""
    line = _line(runtime, caller, line_id)
    _may_consent(_consents_allowed(caller, line), body.consents)
    request = TransferRequest(
        end_user_name=body.end_user_name,
        current_reseller_id=body.current_reseller_id,
        new_reseller_id=body.new_reseller_id,
        preferred_date=_within(body.preferred_date, "preferred_date"),
        owner_email=body.owner_email,
        invoice_email=body.invoice_email,
        billing=Term(body.billing),
        payment_method=PaymentSource(body.payment_method),
    )
    result = runtime.ledger.request_transfer(line_id, request, tuple(body.consents), key=key)
    return _transfer(response, result, line_id)


@router.post(
    "/{line_id}/transfers/consents",
    status_code=status.HTTP_201_CREATED,
    response_model=TransferAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Consent to a pending transfer",
)
def give_consent(
    line_id: LineId,
    body: ConsentRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> TransferAccepted:
    """The client, the current reseller or the new reseller consents (R-E2); with all three
    the transfer is scheduled for the preferred date, 1-2 business days at the soonest (R-E4).

    The partner the pending transfer goes to may give its own consent (`new_reseller`) with
    its own key, though the line is not yet its to read; the owning partner records its own
    and the client's; an admin key any. Any other partner key gets the 404 of an unknown line.
    """
    line = runtime.ledger.line(line_id)
    _may_consent(_consents_allowed(caller, line), [body.party])
    return _transfer(response, runtime.ledger.give_consent(line_id, body.party, key=key), line_id)


# --- the line's view ----------------------------------------------------------------------


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def _line_view(runtime: Runtime, line: SubscriptionLine) -> LineResponse:
    period = line.current_period
    card = line.card
    return LineResponse(
        id=line.id,
        version=line.version,
        status=line.status,
        accepted=line.accepted,
        partner_id=line.partner_id,
        client_id=line.client_id,
        payer=line.payer,
        unified_billing=line.unified_billing,
        product_code=line.product_code,
        product_name=line.product_name,
        unit=line.unit,
        unit_price=MoneyModel.of(line.unit_price),
        term=line.term,
        anchor=line.anchor,
        anchor_day=line.anchor_day,
        locations=[
            LocationModel(location_id=loc.location_id, name=loc.name)
            for loc in line.locations.values()
        ],
        current_period=PeriodView(start=period.start, end=period.end) if period else None,
        invoiced_through=line.invoiced_through,
        autopay=line.autopay,
        card=(
            CardView(
                brand=card.brand,
                last4=card.last4,
                expiry_month=card.expiry_month,
                expiry_year=card.expiry_year,
            )
            if card
            else None
        ),
        leads=_leads_view(runtime, line) if line.unit is PriceUnit.PER_LEAD else None,
        open_invoices=[
            OpenInvoiceView(invoice_id=UUID(invoice_id), number=number)
            for invoice_id, number in sorted(line.open_invoices.items(), key=lambda item: item[1])
        ],
        transfer=_transfer_view(line),
    )


def _leads_view(runtime: Runtime, line: SubscriptionLine) -> LeadsView:
    policy = runtime.ledger.policy
    threshold = policy.lead_threshold(line.unit_price.currency)
    return LeadsView(
        unbilled_count=len(line.unbilled_leads),
        unbilled_total=MoneyModel.of(line.unbilled_total),
        threshold=MoneyModel.of(threshold) if threshold else None,
        threshold_reached=line.lead_threshold_reached(policy),
    )


def _transfer_view(line: SubscriptionLine) -> TransferView | None:
    request = line.transfer
    if request is None:
        return None
    return TransferView(
        end_user_name=request.end_user_name,
        current_reseller_id=request.current_reseller_id,
        new_reseller_id=request.new_reseller_id,
        preferred_date=request.preferred_date,
        owner_email=request.owner_email,
        invoice_email=request.invoice_email,
        billing=request.billing,
        payment_method=request.payment_method,
        consents=list(line.consents),
        missing_consents=list(line.missing_consents),
        effective_on=line.transfer_effective_on,
    )
