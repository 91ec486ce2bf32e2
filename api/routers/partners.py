"""`/v1/partners`: partner accounts, their setup and their money.

Commands (POST) may be issued by the vendor's admin keys and by the partner's own keys
(opening an account is the vendor's alone); reads by admin, finance, auditor and the
partner's own keys. Another partner's id answers exactly as an id that does not exist.
Payment methods are in `partner_payments`, what a partner reads in `partner_reads`.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.keys import Role
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.routers.partner_common import (
    PREFIX,
    PartnerResponse,
    commandable,
    readable_partner,
    refuse_other_body,
    wait_for,
)
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
from api.security import Admin, Caller, Commander, IdempotencyKey, Receiver, refuse_payer_receipt
from domain.calendar import Anchor
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from domain.values import Address
from ledger.writer import CommandResult
from projections.partners import PartnerDirectory

router = APIRouter(prefix=PREFIX, tags=["partners"])
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]


# --- opening and reading accounts -------------------------------------------------------------


class OpenPartnerRequest(BaseModel):
    """Open an account for a partner (a reseller who pays for its clients)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Acme Resellers", "currency": "USD", "time_zone": "America/New_York"}
            ]
        },
    )

    name: FreeText = Field(min_length=1, max_length=200, description="The partner's company name.")
    currency: str = Field(
        pattern=r"^[A-Z]{3}$", description="ISO 4217 code of the account's currency."
    )
    time_zone: FreeText = Field(
        min_length=1,
        max_length=64,
        description="IANA time zone of the partner's business dates.",
    )
    anchor: Literal["calendar", "anniversary"] = Field(
        default="anniversary",
        description="When the partner's unified invoice goes out (R-O2, R-O3): on the 1st of "
        "each month (`calendar`), or on the day of the month the account is opened "
        "(`anniversary`). Lines created in unified billing take this anchor and day; other "
        "lines bill on their own anchor, chosen when each is created (by default the day it "
        "starts). Read back at `/v1/partners/{id}/state`.",
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Open a partner account",
)
def open_partner(
    body: OpenPartnerRequest,
    runtime: RuntimeDep,
    response: Response,
    _: Admin,
    key: IdempotencyKey,
) -> CommandAccepted:
    """The vendor opens an account for a partner, in one currency and time zone (admin only)."""
    result = runtime.ledger.open_partner_account(
        name=body.name,
        currency=body.currency,
        time_zone=body.time_zone,
        anchor=Anchor(body.anchor),
        key=key,
    )
    return accepted(response, result, f"{PREFIX}/{result.aggregate_id}")


@router.get(
    "",
    response_model=Page[PartnerResponse],
    responses=READ_PROBLEMS,
    summary="List partner accounts",
)
def list_partners(
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
    runtime: RuntimeDep,
) -> Page[PartnerResponse]:
    """Every partner account, in id order; a partner key sees only its own."""
    wait_for(conn, read_after, PartnerDirectory.name)
    after = page.after_as(UUID)
    only = caller.partner_id if caller.role is Role.PARTNER else None
    rows = PartnerDirectory.page(
        conn, limit=page.limit + 1, after=after[0] if after else None, only=only
    )
    return page_of(
        [PartnerResponse.of(row, runtime.sealer) for row in rows], page.limit, lambda p: [str(p.id)]
    )


@router.get(
    "/{partner_id}",
    response_model=PartnerResponse,
    responses=READ_PROBLEMS,
    summary="Read a partner account",
)
def get_partner(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    runtime: RuntimeDep,
) -> PartnerResponse:
    """A partner account as the partner directory shows it."""
    view = readable_partner(conn, caller, partner_id, read_after)
    return PartnerResponse.of(view, runtime.sealer)


# --- billing profile (R-O1) -------------------------------------------------------------------


class AddressModel(BaseModel):
    """A postal address for invoices."""

    model_config = ConfigDict(extra="forbid")

    lines: list[Annotated[FreeText, Field(max_length=200)]] = Field(
        min_length=1, max_length=4, description="Street lines, first to last."
    )
    city: FreeText = Field(min_length=1, max_length=200)
    postal_code: FreeText = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 code.")


class BillingProfileRequest(BaseModel):
    """Who the partner's invoices are addressed to, where, and the e-mail they go to (R-O1)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "entity": "Acme Resellers LLC",
                    "address": {
                        "lines": ["350 Fifth Avenue", "Suite 4100"],
                        "city": "New York",
                        "postal_code": "10118",
                        "country": "US",
                    },
                    "billing_email": "billing@acme.example",
                }
            ]
        },
    )

    entity: FreeText = Field(min_length=1, max_length=200, description="The legal billing entity.")
    address: AddressModel
    billing_email: FreeText = Field(min_length=3, max_length=200)


@router.post(
    "/{partner_id}/billing-profile",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Record the billing profile",
)
def record_billing_profile(
    partner_id: PartnerId,
    body: BillingProfileRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Set the billing entity, address and e-mail of invoices (R-O1); a later one replaces it."""
    commandable(caller, partner_id)
    address = Address(
        lines=tuple(body.address.lines),
        city=body.address.city,
        postal_code=body.address.postal_code,
        country=body.address.country,
    )
    result = runtime.ledger.record_billing_profile(
        partner_id, body.entity, address, body.billing_email, key=key
    )
    return accepted(response, result, f"{PREFIX}/{partner_id}")


# --- company balance, clients, budget, autopay --------------------------------------------------


class TopUpRequest(BaseModel):
    """Money for the company balance (R-C2): charged to a card now, or arrived by bank."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amount": {"amount_minor": 50000, "currency": "USD"},
                    "source": "bank_transfer",
                    "reference": "Wire 2026-0117",
                },
                {"amount": {"amount_minor": 20000, "currency": "USD"}, "source": "card"},
            ]
        },
    )

    amount: PositiveMoney
    source: Literal["card", "bank_transfer"]
    method_id: UUID | None = Field(
        default=None, description="For `card`: which card (default: the default method)."
    )
    reference: FreeText | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="For `bank_transfer`: the bank's reference of the transfer.",
    )


class TopUpAccepted(CommandAccepted):
    """The money is on the company balance."""

    top_up_id: UUID
    balance: MoneyModel = Field(description="The company balance after this top-up.")


@router.post(
    "/{partner_id}/top-ups",
    status_code=status.HTTP_201_CREATED,
    response_model=TopUpAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Top up the company balance",
)
def top_up(
    partner_id: PartnerId,
    body: TopUpRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> TopUpAccepted:
    """Prepay money onto the company balance, spendable on any line (R-C2): a card is charged
    now (declined: `payment_declined`, nothing recorded); a bank transfer is recorded as
    arrived by the vendor only, a partner announces it instead (`…/top-up-announcements`, 403
    `forbidden` here). Top-ups get no closing document (R-C7)."""
    commandable(caller, partner_id)
    amount = body.amount.to_money()
    source = PaymentSource(body.source)
    refuse_payer_receipt(caller, source)
    if source is PaymentSource.CARD:
        refuse_other_body(
            runtime,
            key,
            partner_id,
            lambda e: (
                isinstance(e, PartnerAccount.BalanceToppedUp)
                and (e.amount, e.source) == (amount, source)
            ),
        )
    result = runtime.ledger.top_up(
        partner_id, amount, source, method_id=body.method_id, reference=body.reference, key=key
    )
    answer = accepted(response, result, f"{PREFIX}/{partner_id}/balance", partner_id)
    return TopUpAccepted(
        **answer.model_dump(),
        top_up_id=UUID(result.data["top_up_id"]),
        balance=MoneyModel.of(Money(int(result.data["balance_minor"]), amount.currency)),
    )


class TopUpAnnouncementRequest(BaseModel):
    """A bank transfer the partner sent for its balance, with its reference (R-C2)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"amount": {"amount_minor": 50000, "currency": "USD"}, "reference": "W1"}]
        },
    )

    amount: PositiveMoney
    reference: FreeText = Field(
        min_length=1,
        max_length=200,
        description="The bank's reference of the transfer.",
    )


class TopUpAnnounced(CommandAccepted):
    """The transfer is noted, apart from the balance, until the vendor confirms it arrived."""

    top_up_id: UUID
    balance: MoneyModel = Field(description="The company balance (announced money not in it).")
    announced: MoneyModel = Field(description="Transfers announced and not yet confirmed.")


def _top_up_answer(
    response: Response, result: CommandResult, partner_id: UUID, currency: str
) -> TopUpAnnounced:
    answer = accepted(response, result, f"{PREFIX}/{partner_id}/balance", partner_id)
    return TopUpAnnounced(
        **answer.model_dump(),
        top_up_id=UUID(result.data["top_up_id"]),
        balance=MoneyModel.of(Money(int(result.data["balance_minor"]), currency)),
        announced=MoneyModel.of(Money(int(result.data["announced_minor"]), currency)),
    )


@router.post(
    "/{partner_id}/top-up-announcements",
    status_code=status.HTTP_201_CREATED,
    response_model=TopUpAnnounced,
    responses=COMMAND_PROBLEMS,
    summary="Announce a bank transfer for the company balance",
)
def announce_top_up(
    partner_id: PartnerId,
    body: TopUpAnnouncementRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> TopUpAnnounced:
    """Say a bank transfer was sent for the company balance (R-C2). The balance grows only
    when the vendor confirms it arrived (`…/top-up-announcements/{top_up_id}/confirm`);
    until then the balance shows it apart. Admin or the partner itself."""
    commandable(caller, partner_id)
    amount = body.amount.to_money()
    result = runtime.ledger.announce_top_up(partner_id, amount, body.reference, key=key)
    return _top_up_answer(response, result, partner_id, amount.currency)


@router.post(
    "/{partner_id}/top-up-announcements/{top_up_id}/confirm",
    status_code=status.HTTP_201_CREATED,
    response_model=TopUpAnnounced,
    responses=COMMAND_PROBLEMS,
    summary="Confirm an announced transfer arrived",
)
def confirm_top_up(
    partner_id: PartnerId,
    top_up_id: Annotated[UUID, Path(description="The announced top-up's id.")],
    runtime: RuntimeDep,
    response: Response,
    caller: Receiver,
    key: IdempotencyKey,
) -> TopUpAnnounced:
    """The vendor received an announced transfer: it is on the company balance now (R-C2);
    `payment_not_found` if no such announcement is waiting. Admin or finance."""
    account = runtime.ledger.partner_account(partner_id)
    result = runtime.ledger.confirm_top_up(partner_id, top_up_id, key=key)
    return _top_up_answer(response, result, partner_id, account.currency)


class RegisterClientRequest(BaseModel):
    """A client of the partner: in unified billing (the partner pays) or paying itself."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Blue Bottle Cafe",
                    "email": "owner@bluebottle.example",
                    "unified_billing": True,
                }
            ]
        },
    )

    name: FreeText = Field(min_length=1, max_length=200)
    email: FreeText | None = Field(
        default=None,
        min_length=3,
        max_length=200,
        description="Where the client's own invoices and notices go.",
    )
    unified_billing: bool = Field(
        default=True,
        description="The partner pays for the client's lines (R-O4); otherwise the client "
        "pays itself and the partner earns cashback (R-C4).",
    )


@router.post(
    "/{partner_id}/clients",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Register a client",
)
def register_client(
    partner_id: PartnerId,
    body: RegisterClientRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Register one of the partner's clients (R-O4, R-C8); `id` is the new client's id."""
    commandable(caller, partner_id)
    result = runtime.ledger.register_client(
        partner_id,
        name=body.name,
        email=body.email,
        unified_billing=body.unified_billing,
        key=key,
    )
    return accepted(response, result, f"/v1/clients/{result.aggregate_id}")


class BudgetRequest(BaseModel):
    """A monthly budget for leads (R-L3), or null to remove it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": {"amount_minor": 100000, "currency": "USD"}}]},
    )

    amount: PositiveMoney | None = Field(
        description="Spent on leads per month; resets on the signup day of month. Null: none."
    )


class BudgetAccepted(CommandAccepted):
    """The budget is set; the account pauses itself once a month's leads reach it."""

    status: str = Field(description="The account's status now: active, in_grace, paused.")


@router.post(
    "/{partner_id}/budget",
    status_code=status.HTTP_201_CREATED,
    response_model=BudgetAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Set the monthly budget",
)
def set_budget(
    partner_id: PartnerId,
    body: BudgetRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> BudgetAccepted:
    """Set (or remove) the monthly lead budget (R-L3); lowered to what this month has already
    spent, the account pauses at once; raised above it, it resumes."""
    commandable(caller, partner_id)
    amount = body.amount.to_money() if body.amount is not None else None
    result = runtime.ledger.set_budget(partner_id, amount, key=key)
    answer = accepted(response, result, f"{PREFIX}/{partner_id}")
    return BudgetAccepted(**answer.model_dump(), status=str(result.data["status"]))


class AccountAutopayRequest(BaseModel):
    """Where new invoices are paid from automatically (R-C6), or null for no autopay."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"source": "company_balance"}]}
    )

    source: Literal["card", "direct_debit", "company_balance", "bank_transfer"] | None = Field(
        description="`card`/`direct_debit`: the default method is charged when an invoice is "
        "issued; `company_balance`: paid from it; `bank_transfer`: invoice autopay, issued 5 "
        "days before the paid period ends. Null: no autopay."
    )


@router.post(
    "/{partner_id}/autopay",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Set the account's autopay",
)
def set_account_autopay(
    partner_id: PartnerId,
    body: AccountAutopayRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Autopay for the whole account (R-C6): company balance, card or invoice."""
    commandable(caller, partner_id)
    source = PaymentSource(body.source) if body.source is not None else None
    result = runtime.ledger.set_account_autopay(partner_id, source, key=key)
    return accepted(response, result, f"{PREFIX}/{partner_id}")
