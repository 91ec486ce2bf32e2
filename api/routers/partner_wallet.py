"""`POST /v1/partners/{id}/wallet/credits`: the vendor's bonus credits to a partner's wallet.

A promotion or a goodwill credit, with a note saying why, the partner's to spend on any line
(R-C5); admin keys only: a partner does not credit itself, finance and auditors only read.
What the wallet holds is read at `GET /v1/partners/{id}/wallet`.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS
from api.routers.partner_common import PREFIX
from api.schemas.common import CommandAccepted, FreeText, MoneyModel, accepted
from api.security import Admin, IdempotencyKey
from domain.bonus_wallet import VENDOR_CREDIT_MAX_MAJOR, CreditReason
from domain.money import Money
from domain.values import TEXT_MAX_LENGTH

router = APIRouter(prefix=PREFIX, tags=["partners"])
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]


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


@router.post(
    "/{partner_id}/wallet/credits",
    status_code=status.HTTP_201_CREATED,
    response_model=BonusCreditAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Credit bonuses to the wallet",
)
def credit_bonus(
    partner_id: PartnerId,
    body: BonusCreditRequest,
    runtime: RuntimeDep,
    response: Response,
    _: Admin,
    key: IdempotencyKey,
) -> BonusCreditAccepted:
    """The vendor credits the partner's bonus wallet (admin only); the partner spends the
    bonuses on any line (R-C5). Refused, writing nothing: an amount not above zero
    (`amount_not_positive`), in another currency (`currency_mismatch`) or above the bound
    (`bonus_credit_too_large`)."""
    amount = body.amount.to_money()
    result = runtime.ledger.grant_bonus(
        partner_id, amount, CreditReason(body.reason), body.note, key=key
    )
    answer = accepted(response, result, f"{PREFIX}/{partner_id}/wallet", partner_id)
    return BonusCreditAccepted(
        **answer.model_dump(),
        credit_id=UUID(result.data["credit_id"]),
        wallet_balance=MoneyModel.of(Money(int(result.data["balance_minor"]), amount.currency)),
    )
