"""Request and response schemas of `/v1/policy`: the billing policy's versions and a scheduled
change of its rates and periods (issue 13). Rates travel as decimal strings, never JSON
numbers: a binary float cannot say 0.025 exactly."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.common import CommandAccepted
from domain.billing_policy import (
    CHANGE_VALUES_MAX,
    DISCOUNT_PREFIX,
    LEAD_THRESHOLD_PREFIX,
    POLICY_DAYS_MAX,
    PolicyChange,
    PolicyField,
)
from domain.calendar import Term
from domain.money import AMOUNT_MAX_MINOR
from domain.pricing import BillingPolicy, percent
from ledger.command_records import CommandResult

RATE_PATTERN = r"^[0-9.eE+-]{1,32}$"
"""Only what a decimal is written with; the policy says which decimals it takes."""
RateText = Annotated[
    str,
    Field(
        pattern=RATE_PATTERN,
        description='A rate as a decimal string in [0, 1): `"0.025"` is 2.5 %.',
        examples=["0.025"],
    ),
]


def _rate(description: str) -> Any:
    """An optional rate field (its pattern on the field, where the edge's checks find it)."""
    return Field(default=None, pattern=RATE_PATTERN, description=description, examples=["0.025"])


CurrencyKey = Annotated[str, StringConstraints(min_length=3, max_length=3)]
Days = Annotated[int, Field(strict=True, ge=0, le=POLICY_DAYS_MAX)]
"""Whole days, bounded as the policy bounds them (domain/billing_policy.py)."""
MinorUnits = Annotated[int, Field(strict=True, ge=0, le=AMOUNT_MAX_MINOR)]


class PolicyChangeRequest(BaseModel):
    """Schedule a change of the billing policy: the values named, from a business date on."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"effective_from": "2027-03-01", "card_fee_rate": "0.025"}]
        },
    )

    effective_from: date = Field(
        description="The first business date the new values apply, in every partner's calendar "
        "(R-X7): a day no partner has begun yet (tomorrow at the earliest)."
    )
    card_fee_rate: str | None = _rate("R-O7's card fee, as a decimal string.")
    cashback_rate: str | None = _rate("R-C4's cashback, as a decimal string.")
    duration_discounts: dict[Term, RateText] | None = Field(
        default=None, description="R-C3's discount by term, such as `twelve_months`."
    )
    lead_threshold_minor: dict[CurrencyKey, MinorUnits] | None = Field(
        default=None,
        max_length=CHANGE_VALUES_MAX,
        description="R-L2's unbilled-leads threshold by currency, in minor units.",
    )
    invoice_autopay_lead_days: Days | None = Field(default=None, description="R-C6.")
    grace_period_days: Days | None = Field(default=None, description="R-L4.")
    transfer_business_days: Days | None = Field(default=None, description="R-E4.")
    payment_terms_days: Days | None = Field(
        default=None, description="Days from issue to due date of a bank-transfer invoice."
    )

    def changes(self) -> dict[str, str]:
        """The values named, by the policy's field names, as text (the ledger checks them)."""
        named: dict[str, str] = {}
        for name in PolicyField:
            value = getattr(self, name.value)
            if value is not None:
                named[name.value] = str(value)
        for term, rate in (self.duration_discounts or {}).items():
            named[f"{DISCOUNT_PREFIX}{term.value}"] = rate
        for currency, minor in (self.lead_threshold_minor or {}).items():
            named[f"{LEAD_THRESHOLD_PREFIX}{currency}"] = str(minor)
        return named


class PolicyChangeAccepted(CommandAccepted):
    """The change is scheduled: the policy's next version."""

    version: int
    effective_from: date
    changes: dict[str, str] = Field(description="The values it sets, as stored.")

    @classmethod
    def of(cls, answer: CommandAccepted, result: CommandResult) -> PolicyChangeAccepted:
        return cls(
            **answer.model_dump(),
            version=int(result.data["version"]),
            effective_from=date.fromisoformat(result.data["effective_from"]),
            changes=dict(result.data["changes"]),
        )


class PolicyVersionResponse(BaseModel):
    """One version of the billing policy: every value it holds, and what it changed."""

    version: int = Field(description="0 is the deployment's own policy; each change adds one.")
    effective_from: date | None = Field(
        description="Its first business date; null for version 0 (from the beginning of time)."
    )
    scheduled_at: datetime | None = Field(description="When the change was scheduled.")
    changes: dict[str, str] = Field(description="What this version changed ({} for version 0).")
    card_fee_rate: str
    card_fee_percent: str = Field(description="The card fee as printed on invoices: `2.5`.")
    cashback_rate: str
    duration_discounts: dict[str, str]
    lead_threshold_minor: dict[str, int]
    invoice_autopay_lead_days: int
    grace_period_days: int
    transfer_business_days: int
    payment_terms_days: int

    @classmethod
    def of(
        cls, policy: BillingPolicy, change: PolicyChange | None, scheduled_at: datetime | None
    ) -> PolicyVersionResponse:
        return cls(
            version=policy.version,
            effective_from=change.effective_from if change else None,
            scheduled_at=scheduled_at,
            changes=dict(change.changes) if change else {},
            card_fee_rate=str(policy.card_fee_rate),
            card_fee_percent=percent(policy.card_fee_rate),
            cashback_rate=str(policy.cashback_rate),
            duration_discounts={
                term.value: str(rate) for term, rate in policy.duration_discounts.items()
            },
            lead_threshold_minor=dict(policy.lead_threshold_minor),
            invoice_autopay_lead_days=policy.invoice_autopay_lead_days,
            grace_period_days=policy.grace_period_days,
            transfer_business_days=policy.transfer_business_days,
            payment_terms_days=policy.payment_terms_days,
        )


class PolicyResponse(BaseModel):
    """The billing policy on a business date: the version in force, and those scheduled after."""

    on: date
    in_force: PolicyVersionResponse
    scheduled: list[PolicyVersionResponse]
