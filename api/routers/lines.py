"""`/v1/lines`: subscription lines, from draft to cancelled (R-H1), with their locations (R-O3),
autopay (R-C6), the client's card (R-H5), leads (R-L1, R-L2) and reseller transfers (R-E1 … R-E4).

Who may call: commands, admin keys and the key of the partner the line belongs to; the line,
any key that may see that partner (admin, finance, auditor, the owning partner). Another
partner's line answers exactly the 404 of an id that does not exist. One exception, because
a transfer needs the consent of a reseller who does not own the line yet: the partner a
pending transfer is addressed to may give its own consent (`new_reseller`), and nothing else;
it still cannot read the line until the transfer has taken effect.

Routes only: each command parses its body into one ledger command carrying the caller as its
actor, awaits it (no thread held while the writer writes it) and maps the result. Ownership,
consent and every bound are the commands' and the domain's (ledger/commands/lines.py and its
siblings line_cards.py, line_leads.py, line_transfers.py). The card, leads and transfer routes
are in api/routers/line_cards.py, line_leads.py and line_transfers.py, included here under this
prefix and tag; the schemas in api/schemas/lines.py, line_accepted.py and line_views.py. Reads
are plain functions (the thread pool), scoped with `visible`.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Query, Response, status

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.reads import LedgerRouter
from api.routers.clients import owner_of
from api.schemas.common import CommandAccepted, Page, PageParams, page_of
from api.schemas.line_accepted import (
    LINES_PATH,
    BilledAccepted,
    LocationsAccepted,
    StatusAccepted,
    line_command_accepted,
)
from api.schemas.line_views import LineResponse, line_view
from api.schemas.lines import (
    ActivateRequest,
    CreateLineRequest,
    LineAutopayRequest,
    LineId,
    LocationModel,
    ReasonRequest,
    RenewRequest,
)
from api.security import Caller, Commander, IdempotencyKey, visible
from domain.errors import LineNotFound
from ledger import reads
from ledger.command_bus import derived_id
from ledger.commands import lines as line_commands

router = LedgerRouter(prefix=LINES_PATH, tags=["lines"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Create a line",
)
async def create_line(
    body: CreateLineRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> StatusAccepted:
    """A partner sets up a line for one of its clients, as a draft (R-C1, R-H1)."""
    line_id = derived_id(key)  # a repeat names the same line
    command = line_commands.CreateLine(
        line_id=line_id,
        partner_id=body.partner_id,
        client_id=body.client_id,
        product_code=body.product_code,
        term=body.term,
        payer=body.payer,
        unified_billing=body.unified_billing,
        locations=tuple(location.to_location() for location in body.locations),
        anchor=body.anchor,
        actor=caller.actor,
    )
    return StatusAccepted.of(response, await runtime.ledger.submit(command, key), line_id)


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
    line = runtime.ledger.line(line_id)
    visible(caller, line.partner_id, LineNotFound.of(line_id))
    return line_view(line, runtime.ledger.policy_today(line.partner_id))


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
    lines = reads.client_lines(
        conn,
        runtime.ledger.load,
        client_id,
        partner_id=caller.partner_id,
        after=after[0] if after else None,
        limit=page.limit + 1,
    )
    # One client's lines are one partner's: the policy in force on its business date now.
    policy = runtime.ledger.policy_today(lines[0].partner_id) if lines else runtime.ledger.policy
    items = [line_view(line, policy) for line in lines]
    return page_of(items, page.limit, lambda line: [str(line.id)])


@router.post(
    "/{line_id}/send",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Send a draft to the customer",
)
async def send_line(
    line_id: LineId,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> StatusAccepted:
    """The line is pending until the customer accepts it and it is activated (R-H1)."""
    command = line_commands.SendLine(line_id=line_id, actor=caller.actor)
    return StatusAccepted.of(response, await runtime.ledger.submit(command, key), line_id)


@router.post(
    "/{line_id}/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Record the customer's acceptance",
)
async def accept_line(
    line_id: LineId,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> StatusAccepted:
    """The customer accepted a pending line; it can now be activated (R-H1)."""
    command = line_commands.AcceptLine(line_id=line_id, actor=caller.actor)
    return StatusAccepted.of(response, await runtime.ledger.submit(command, key), line_id)


@router.post(
    "/{line_id}/activate",
    status_code=status.HTTP_201_CREATED,
    response_model=BilledAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Activate a line and bill its first period",
)
async def activate_line(
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
    start_on = body.start_on if body else None
    command = line_commands.ActivateLine(line_id=line_id, start_on=start_on, actor=caller.actor)
    result = await runtime.ledger.submit_billing_command(command, key)
    return BilledAccepted.of(response, result, line_id)


@router.post(
    "/{line_id}/renew",
    status_code=status.HTTP_201_CREATED,
    response_model=BilledAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Renew a line for its next period",
)
async def renew_line(
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
    command = line_commands.RenewLine(
        line_id=line_id, period_start=body.period_start, actor=caller.actor
    )
    result = await runtime.ledger.submit_billing_command(command, key)
    return BilledAccepted.of(response, result, line_id)


@router.post(
    "/{line_id}/cancel",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Cancel a line",
)
async def cancel_line(
    line_id: LineId,
    body: ReasonRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> StatusAccepted:
    """End the line (R-H1); also how a cash, cheque or other payment is given back (R-H6)."""
    command = line_commands.CancelLine(line_id=line_id, reason=body.reason, actor=caller.actor)
    return StatusAccepted.of(response, await runtime.ledger.submit(command, key), line_id)


@router.post(
    "/{line_id}/pause",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Pause an active line",
)
async def pause_line(
    line_id: LineId,
    body: ReasonRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> StatusAccepted:
    """The line stops delivering until resumed; its billing date does not move."""
    command = line_commands.PauseLine(line_id=line_id, reason=body.reason, actor=caller.actor)
    return StatusAccepted.of(response, await runtime.ledger.submit(command, key), line_id)


@router.post(
    "/{line_id}/resume",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Resume a paused line",
)
async def resume_line(
    line_id: LineId,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> StatusAccepted:
    """A paused line delivers again, on the billing date it always had."""
    command = line_commands.ResumeLine(line_id=line_id, actor=caller.actor)
    return StatusAccepted.of(response, await runtime.ledger.submit(command, key), line_id)


@router.post(
    "/{line_id}/locations",
    status_code=status.HTTP_201_CREATED,
    response_model=LocationsAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Add a location to a line",
)
async def add_location(
    line_id: LineId,
    body: LocationModel,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> LocationsAccepted:
    """A per-location line bills it from its next invoice on (R-O3)."""
    command = line_commands.AddLocation(
        line_id=line_id, location=body.to_location(), actor=caller.actor
    )
    return LocationsAccepted.of(response, await runtime.ledger.submit(command, key), line_id)


@router.post(
    "/{line_id}/locations/{location_id}/remove",
    status_code=status.HTTP_201_CREATED,
    response_model=LocationsAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Remove a location from a line",
)
async def remove_location(
    line_id: LineId,
    location_id: Annotated[UUID, Path(description="The location's id.")],
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> LocationsAccepted:
    """The location leaves the line; a per-location line keeps at least one."""
    command = line_commands.RemoveLocation(
        line_id=line_id, location_id=location_id, actor=caller.actor
    )
    return LocationsAccepted.of(response, await runtime.ledger.submit(command, key), line_id)


@router.post(
    "/{line_id}/autopay",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Set or stop a line's autopay",
)
async def set_line_autopay(
    line_id: LineId,
    body: LineAutopayRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Renewals are paid from the company balance, by card or debit, or by invoice issued
    5 days ahead (R-C6); null turns autopay off."""
    command = line_commands.SetLineAutopay(
        line_id=line_id, source=body.to_source(), actor=caller.actor
    )
    return line_command_accepted(response, await runtime.ledger.submit(command, key), line_id)
