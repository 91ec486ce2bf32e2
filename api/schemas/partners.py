"""Request and response schemas of `/v1/partners`: opening and reading accounts, the billing
profile, the company balance, clients, budget, autopay and bonus credits (R-O1, R-O4, R-C2,
R-C5, R-C6, R-L3). Payment methods are in `payment_methods`, what a partner reads in
`partner_reads`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import CommandAccepted, FreeText, MoneyModel, PositiveMoney
from domain.bonus_wallet import VENDOR_CREDIT_MAX_MAJOR
from domain.money import Money
from domain.values import TAX_ID_MAX_LENGTH, TEXT_MAX_LENGTH, Address
from ledger.command_records import CommandResult
from ledger.sealing import Sealer, reveal_text
from projections.partners import PartnerView


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
    test_clock: UUID | None = Field(
        default=None,
        description="A test clock for the partner to live on (`/v1/test-clocks`): its commands "
        "take the clock's instant and only the clock's advances do its billing. Refused in "
        "production unless test clocks are allowed.",
    )


class PartnerResponse(BaseModel):
    """A partner account."""

    id: UUID
    name: str
    currency: str
    time_zone: str
    opened_at: datetime = Field(description="When the account was opened (UTC).")
    position: int = Field(description="Log position of the event that last changed this view.")

    @classmethod
    def of(cls, view: PartnerView, sealer: Sealer | None) -> PartnerResponse:
        return cls(
            id=view.partner_id,
            name=reveal_text(sealer, view.name),
            currency=view.currency,
            time_zone=view.time_zone,
            opened_at=view.opened_at,
            position=view.position,
        )


class AddressModel(BaseModel):
    """A postal address for invoices."""

    model_config = ConfigDict(extra="forbid")

    lines: list[Annotated[FreeText, Field(max_length=200)]] = Field(
        min_length=1, max_length=4, description="Street lines, first to last."
    )
    city: FreeText = Field(min_length=1, max_length=200)
    postal_code: FreeText = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 code.")

    def address(self) -> Address:
        return Address(
            lines=tuple(self.lines),
            city=self.city,
            postal_code=self.postal_code,
            country=self.country,
        )


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
                    "tax_id": "12-3456789",
                }
            ]
        },
    )

    entity: FreeText = Field(min_length=1, max_length=200, description="The legal billing entity.")
    address: AddressModel
    billing_email: FreeText = Field(min_length=3, max_length=200)
    tax_id: FreeText | None = Field(
        default=None,
        description="The entity's tax id, printed as the customer's on invoices and closing "
        f"documents: ASCII letters, digits, spaces, '-', '.' or '/', with a digit, at most "
        f"{TAX_ID_MAX_LENGTH} characters (`tax_id_invalid` otherwise). Left out: none; a "
        "later profile without it removes it.",
    )


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

    @classmethod
    def of(cls, answer: CommandAccepted, result: CommandResult, currency: str) -> TopUpAccepted:
        return cls(
            **answer.model_dump(),
            top_up_id=UUID(result.data["top_up_id"]),
            balance=MoneyModel.of(Money(int(result.data["balance_minor"]), currency)),
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

    @classmethod
    def of(cls, answer: CommandAccepted, result: CommandResult, currency: str) -> TopUpAnnounced:
        return cls(
            **answer.model_dump(),
            top_up_id=UUID(result.data["top_up_id"]),
            balance=MoneyModel.of(Money(int(result.data["balance_minor"]), currency)),
            announced=MoneyModel.of(Money(int(result.data["announced_minor"]), currency)),
        )


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


class BonusCreditRequest(BaseModel):
    """Bonuses the vendor grants a partner: a promotion or goodwill, and why (R-C5)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amount": {"amount_minor": 5000, "currency": "USD"},
                    "reason": "goodwill",
                    "note": "Sorry for the outage of 12 March",
                }
            ]
        },
    )

    amount: MoneyModel = Field(
        description="Above zero, in the partner's currency, at most "
        f"{VENDOR_CREDIT_MAX_MAJOR:,} major units (`bonus_credit_too_large`)."
    )
    reason: Literal["promotion", "goodwill"] = Field(
        description="`promotion`: a campaign or launch; `goodwill`: to make good a failure."
    )
    note: FreeText = Field(
        min_length=1,
        max_length=TEXT_MAX_LENGTH,
        description="Why, in words: the partner sees it with the credit.",
    )


class BonusCreditAccepted(CommandAccepted):
    """The bonuses are in the partner's wallet."""

    credit_id: UUID
    wallet_balance: MoneyModel = Field(description="The wallet after this credit.")

    @classmethod
    def of(
        cls, answer: CommandAccepted, result: CommandResult, currency: str
    ) -> BonusCreditAccepted:
        return cls(
            **answer.model_dump(),
            credit_id=UUID(result.data["credit_id"]),
            wallet_balance=MoneyModel.of(Money(int(result.data["balance_minor"]), currency)),
        )
