"""`/v1/lines/{line_id}/transfers`: moving a line to another reseller (R-E1 … R-E4), and each
party's consent. The partner a pending transfer goes to may give its own consent, though the
line is not yet its own to read; who may consent as which party is the line's rule
(`SubscriptionLine.consents_permitted`). Included in the lines router (api/routers/lines.py),
under its prefix and tag."""

from __future__ import annotations

from fastapi import Response, status

from api.deps import RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS
from api.reads import LedgerRouter
from api.schemas.line_accepted import LINES_PATH, TransferAccepted
from api.schemas.lines import ConsentRequest, LineId, TransferRequestBody
from api.security import Commander, IdempotencyKey
from ledger.commands import line_transfers

router = LedgerRouter(prefix=LINES_PATH, tags=["lines"])


@router.post(
    "/{line_id}/transfers",
    status_code=status.HTTP_201_CREATED,
    response_model=TransferAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Request a transfer to another reseller",
)
async def request_transfer(
    line_id: LineId,
    body: TransferRequestBody,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> TransferAccepted:
    """The current reseller (or the vendor) asks to move the line (R-E1, R-E2); every invoice
    must be settled first, or the refusal lists the unsettled ones (R-E3)."""
    command = line_transfers.RequestTransfer(
        line_id=line_id,
        request=body.to_request(),
        consents=tuple(body.consents),
        actor=caller.actor,
    )
    return TransferAccepted.of(response, await runtime.ledger.submit(command, key), line_id)


@router.post(
    "/{line_id}/transfers/consents",
    status_code=status.HTTP_201_CREATED,
    response_model=TransferAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Consent to a pending transfer",
)
async def give_consent(
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
    command = line_transfers.GiveConsent(line_id=line_id, party=body.party, actor=caller.actor)
    return TransferAccepted.of(response, await runtime.ledger.submit(command, key), line_id)
