"""`/v1/lines/{line_id}/leads`: leads delivered on a pay-per-lead line (R-L1, R-L2, R-L3).
Included in the lines router (api/routers/lines.py), under its prefix and tag."""

from __future__ import annotations

from fastapi import Response, status

from api.deps import RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS
from api.reads import LedgerRouter
from api.schemas.line_accepted import LINES_PATH, LeadAccepted
from api.schemas.lines import LeadRequest, LineId
from api.security import Commander, IdempotencyKey
from ledger.commands import line_leads

router = LedgerRouter(prefix=LINES_PATH, tags=["lines"])


@router.post(
    "/{line_id}/leads",
    status_code=status.HTTP_201_CREATED,
    response_model=LeadAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Record a delivered lead",
)
async def record_lead(
    line_id: LineId,
    body: LeadRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> LeadAccepted:
    """Charged at its price, no subscription fee (R-L1), against the monthly budget (R-L3);
    unbilled leads reaching $200 are invoiced (and with autopay charged) at once (R-L2)."""
    command = line_leads.RecordLead(
        line_id=line_id,
        lead_id=body.lead_id,
        delivered_at=body.delivered_at,
        price=body.price.to_money() if body.price else None,
        actor=caller.actor,
    )
    result = await runtime.ledger.submit_billing_command(command, key)
    return LeadAccepted.of(response, result, line_id)
