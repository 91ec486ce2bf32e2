"""`POST /v1/partners/{id}/wallet/credits`: the vendor's bonus credits to a partner's wallet.

A promotion or a goodwill credit, with a note saying why, the partner's to spend on any line
(R-C5); admin keys only: a partner does not credit itself, finance and auditors only read.
What the wallet holds is read at `GET /v1/partners/{id}/wallet`.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Path, Response, status

from api.deps import RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS
from api.reads import LedgerRouter
from api.routers.partner_common import PREFIX
from api.schemas.common import accepted
from api.schemas.partners import BonusCreditAccepted, BonusCreditRequest
from api.security import Admin, IdempotencyKey
from domain.bonus_wallet import CreditReason
from ledger.command_bus import derived_id
from ledger.commands import partners as partner_commands

router = LedgerRouter(prefix=PREFIX, tags=["partners"])
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]


@router.post(
    "/{partner_id}/wallet/credits",
    status_code=status.HTTP_201_CREATED,
    response_model=BonusCreditAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Credit bonuses to the wallet",
)
async def credit_bonus(
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
    command = partner_commands.GrantBonus(
        partner_id=partner_id,
        credit_id=derived_id(key),
        amount=amount,
        reason=CreditReason(body.reason),
        note=body.note,
    )
    result = await runtime.ledger.submit(command, key)
    answer = accepted(response, result, f"{PREFIX}/{partner_id}/wallet", partner_id)
    return BonusCreditAccepted.of(answer, result, amount.currency)
