"""What an API client reads of a partner beyond its money: its state in one read, what the
billing clock will do for it next, and its clients (the e-mails are in `partner_emails`).

Admin, finance, auditor and the partner's own keys may read; another partner's id answers
exactly as an id that does not exist (R-C8). The state and the clients are read from the
account's events, the schedule from the table the ledger writes with them,
so each is current as soon as a command has answered: `min_position` is accepted and never
waits longer than the partner directory takes to know the partner.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.problems.documented import READ_PROBLEMS
from api.routers.partner_common import PREFIX, readable_partner
from api.routers.partner_payments import PaymentMethodView
from api.schemas.common import MoneyModel, Page, PageParams, page_of
from api.security import Caller
from domain.calendar import Anchor
from domain.partner_account import AccountStatus, PauseReason
from domain.payment_methods import PaymentSource
from ledger import reads
from ledger.schedule import Work, partner_schedule

router = APIRouter(prefix=PREFIX, tags=["partners"])
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]

ANCHOR_TEXT = (
    "When the partner's unified invoice goes out (R-O2, R-O3): `calendar` on the 1st, "
    "`anniversary` on the day of the month the account was opened (29th-31st clamp to a "
    "shorter month's last day). Lines in unified billing take this day when they are created, "
    "so their periods end on it. Lines outside unified billing do not follow it: each bills on "
    "its own anchor, chosen when it is created (see the line's `anchor`)."
)


# --- the partner's state -----------------------------------------------------------------------


class AddressView(BaseModel):
    """The postal address invoices are addressed to."""

    lines: list[str]
    city: str
    postal_code: str
    country: str


class BillingProfileView(BaseModel):
    """Who the partner's invoices are addressed to and where they are e-mailed (R-O1)."""

    entity: str
    address: AddressView
    billing_email: str


class BudgetView(BaseModel):
    """The monthly lead budget (R-L3): the account pauses itself once a period spends it."""

    limit: MoneyModel
    spent: MoneyModel = Field(description="Spent on leads in the current budget period.")
    period_start: date
    resets_on: date = Field(
        description="The signup day of month the next budget period starts on (R-L3)."
    )


class PartnerStateResponse(BaseModel):
    """A partner's state in one read: service, billing days, budget, profile and defaults."""

    partner_id: UUID
    name: str
    currency: str
    time_zone: str
    status: AccountStatus = Field(
        description="`active`; `in_grace`: a payment was missed and service continues until "
        "`grace_ends_on` (R-L4); `paused`: see `pause_reasons`; `closed`."
    )
    pause_reasons: list[PauseReason] = Field(
        description="`budget_reached` (R-L3: lifted when the next budget period starts), "
        "`payment_overdue` (R-L4: lifted when the balance is settled)."
    )
    grace_ends_on: date | None = Field(description="When the grace period ends unpaid (R-L4).")
    anchor: Anchor = Field(description=ANCHOR_TEXT)
    anchor_day: int = Field(description="The partner's billing day of the month (R-O2).")
    next_billing_date: date | None = Field(
        description="The day the next unified invoice goes out: the billing day on or after "
        "the oldest unified-billing charge waiting for it; null when none waits. Lines outside "
        "unified billing renew on their own days: see `/schedule`."
    )
    autopay: PaymentSource | None = Field(description="The account's autopay (R-C6).")
    budget: BudgetView | None = Field(description="Null: no budget.")
    billing_profile: BillingProfileView | None = Field(description="Null until recorded (R-O1).")
    default_payment_method: PaymentMethodView | None = Field(
        description="What payments use unless told otherwise (R-O6): safe fields only (R-X4)."
    )
    version: int = Field(description="How many events the account has.")


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
    account = runtime.ledger.partner_account(partner_id)
    budget = None
    if account.budget is not None and account.budget_period is not None:
        budget = BudgetView(
            limit=MoneyModel.of(account.budget),
            spent=MoneyModel.of(account.budget_spent),
            period_start=account.budget_period.start,
            resets_on=account.budget_period.end,
        )
    profile = None
    if account.entity and account.address and account.billing_email:
        address = account.address
        profile = BillingProfileView(
            entity=account.entity,
            address=AddressView(
                lines=list(address.lines),
                city=address.city,
                postal_code=address.postal_code,
                country=address.country,
            ),
            billing_email=account.billing_email,
        )
    default = account.default_method
    return PartnerStateResponse(
        partner_id=partner_id,
        name=account.name,
        currency=account.currency,
        time_zone=account.time_zone,
        status=account.status,
        pause_reasons=list(account.pause_reasons),
        grace_ends_on=account.grace_ends_on,
        anchor=account.anchor,
        anchor_day=account.anchor_day,
        next_billing_date=account.next_billing_date,
        autopay=account.autopay,
        budget=budget,
        billing_profile=profile,
        default_payment_method=(
            PaymentMethodView.of(account.default_method_id, default)
            if default is not None and account.default_method_id is not None
            else None
        ),
        version=account.version,
    )


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


class ScheduledWorkResponse(BaseModel):
    """A piece of work the billing clock will do for the partner."""

    kind: Work = Field(
        description="`renew`: a line's next period (R-C1, R-O2); `invoice_ahead`: invoice "
        "autopay's early invoice (R-C6); `invoice_leads`: Friday's lead invoice (R-L2); "
        "`unified_invoice`: the partner's unified invoice (R-O3); `charge`: an invoice charged "
        "to its card or bank account; `settle_debit`: a direct debit looked at again; "
        "`mark_overdue`: an unpaid invoice past its due date (R-H2); `expire_grace`: the grace "
        "period ends (R-L4); `start_budget_period`: the budget resets (R-L3); "
        "`complete_transfer`: a reseller transfer takes effect (R-E4)."
    )
    subject: Literal["line", "invoice", "partner"]
    subject_id: UUID = Field(description="The line's, the invoice's or the partner's id.")
    due_on: date = Field(description="The business day, in the partner's time zone (R-X7).")
    due_at: datetime = Field(description="The instant that business day begins (UTC).")


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
    found = [
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
        found, page.limit, lambda w: [w.due_on.isoformat(), w.kind.value, str(w.subject_id)]
    )


# --- clients -------------------------------------------------------------------------------------


class ClientSummary(BaseModel):
    """One of the partner's clients (R-C8)."""

    id: UUID
    name: str
    email: str | None
    unified_billing: bool = Field(
        description="The partner pays for its lines (R-O4); otherwise the client pays itself."
    )


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
    found = [
        ClientSummary(id=c.client_id, name=c.name, email=c.email, unified_billing=c.unified_billing)
        for c in rows
    ]
    return page_of(found, page.limit, lambda c: [str(c.id)])
