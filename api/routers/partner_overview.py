"""What an API client reads of a partner beyond its money: its state in one read, what the
billing clock will do for it next, and its clients (the e-mails are in `partner_emails`).

Admin, finance, auditor and the partner's own keys may read; another partner's id answers
exactly as an id that does not exist (R-C8). The state and the clients are read from the
account's events, the schedule from the table the ledger writes with them,
so each is current as soon as a command has answered: `min_position` is accepted and never
waits longer than the partner directory takes to know the partner.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Depends, Path

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.problems.documented import READ_PROBLEMS
from api.reads import LedgerRouter
from api.routers.partner_common import PREFIX, readable_partner
from api.schemas.common import Page, PageParams, page_of
from api.schemas.partner_overview import (
    ClientSummary,
    PartnerStateResponse,
    ScheduledWorkResponse,
)
from api.security import Caller
from ledger import reads
from ledger.schedule import Work, partner_schedule

router = LedgerRouter(prefix=PREFIX, tags=["partners"])
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]

# --- the partner's state -----------------------------------------------------------------------


@router.get(
    "/{partner_id}/state",
    response_model=PartnerStateResponse,
    responses=READ_PROBLEMS,
    summary="Read the partner's state",
)
def get_partner_state(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    runtime: RuntimeDep,
    caller: Caller,
) -> PartnerStateResponse:
    """Whether the account receives service and why not (R-L3, R-L4), when it bills (R-O2),
    its budget (R-L3), billing profile (R-O1) and default payment method (R-O6, R-X4), as
    the account's events make it now."""
    readable_partner(conn, caller, partner_id, read_after)
    return PartnerStateResponse.of(runtime.ledger.partner_account(partner_id))


# --- what the billing clock will do --------------------------------------------------------------

SUBJECTS: dict[Work, Literal["line", "invoice", "partner"]] = {
    Work.SETTLE_DEBIT: "invoice",
    Work.COMPLETE_TRANSFER: "line",
    Work.START_BUDGET_PERIOD: "partner",
    Work.RENEW: "line",
    Work.INVOICE_AHEAD: "line",
    Work.INVOICE_LEADS: "line",
    Work.UNIFIED_INVOICE: "partner",
    Work.CHARGE: "invoice",
    Work.MARK_OVERDUE: "invoice",
    Work.EXPIRE_GRACE: "partner",
}
"""What each kind of work is done to; every kind the clock knows has one."""


def _work(value: object) -> Work:
    if not isinstance(value, str):
        raise ValueError("not a kind of work")
    return Work(value)


@router.get(
    "/{partner_id}/schedule",
    response_model=Page[ScheduledWorkResponse],
    responses=READ_PROBLEMS,
    summary="Read what the billing clock will do next",
)
def get_schedule(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
) -> Page[ScheduledWorkResponse]:
    """The partner's renewals, invoice runs, charges, grace ends and budget resets, soonest
    first, in the order the clock does them on one day. The ledger keeps this list with each
    command, from the state the events leave, so it is current once a command has answered."""
    readable_partner(conn, caller, partner_id, read_after)
    after = page.after_as(date.fromisoformat, _work, UUID)
    rows = partner_schedule(
        conn,
        partner_id,
        after=(after[0], after[1], after[2]) if after else None,
        limit=page.limit + 1,
    )
    work = [
        ScheduledWorkResponse(
            kind=Work(row.kind),
            subject=SUBJECTS[Work(row.kind)],
            subject_id=row.subject_id,
            due_on=row.due_on,
            due_at=row.due_at,
        )
        for row in rows
    ]
    return page_of(
        work, page.limit, lambda w: [w.due_on.isoformat(), w.kind.value, str(w.subject_id)]
    )


# --- clients -------------------------------------------------------------------------------------


@router.get(
    "/{partner_id}/clients",
    response_model=Page[ClientSummary],
    responses=READ_PROBLEMS,
    summary="List the partner's clients",
)
def list_clients(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    runtime: RuntimeDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
) -> Page[ClientSummary]:
    """The partner's clients in id order, as its account holds them now: those it registered
    and those whose lines it took over from another reseller (R-E1)."""
    readable_partner(conn, caller, partner_id, read_after)
    after = page.after_as(UUID)
    account = runtime.ledger.partner_account(partner_id)
    rows = reads.clients_page(account, after=after[0] if after else None, limit=page.limit + 1)
    clients = [
        ClientSummary(id=c.client_id, name=c.name, email=c.email, unified_billing=c.unified_billing)
        for c in rows
    ]
    return page_of(clients, page.limit, lambda c: [str(c.id)])
