"""`/v1/lines/{line_id}/card`: the client's card on a client-paid line (R-H5), tokenised by the
payment processor; only its brand, last 4 digits and expiry are kept (R-X4). Included in the
lines router (api/routers/lines.py), under its prefix and tag."""

from __future__ import annotations

import asyncio

from fastapi import Response, status

from api.deps import RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS
from api.reads import LedgerRouter
from api.schemas.line_accepted import LINES_PATH, CardAccepted
from api.schemas.lines import AttachCardRequest, LineId
from api.security import Commander, IdempotencyKey

router = LedgerRouter(prefix=LINES_PATH, tags=["lines"])


@router.post(
    "/{line_id}/card",
    status_code=status.HTTP_201_CREATED,
    response_model=CardAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Put a new card on a client-paid line",
)
async def attach_card(
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
    # A workflow, not one awaited command: the processor tokenises the card first, and its
    # answer is blocking I/O, so a thread is held for it (ownership and the key are decided
    # in the ledger before the processor is asked).
    result = await asyncio.to_thread(
        runtime.ledger.attach_line_card,
        line_id,
        body.card.to_details(),
        body.outstanding,
        actor=caller.actor,
        key=key,
    )
    return CardAccepted.of(response, result, line_id)
