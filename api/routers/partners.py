"""`/v1/partners`: partner accounts, their setup and their money.

Commands (POST) may be issued by the vendor's admin keys and by the partner's own keys
(opening an account is the vendor's alone); reads by admin, finance, auditor and the
partner's own keys. Another partner's id answers exactly as an id that does not exist: the
command decides it (the actor it carries), as it decides everything else. Payment methods are
in `partner_payments`, what a partner reads in `partner_reads`; the schemas in
`api/schemas/partners.py`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Response, status

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.keys import Role
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.reads import LedgerRouter
from api.routers.partner_common import PREFIX, readable_partner, wait_for
from api.routers.test_clocks import require_test_clocks
from api.schemas.common import CommandAccepted, Page, PageParams, accepted, page_of
from api.schemas.partners import (
    AccountAutopayRequest,
    BillingProfileRequest,
    BudgetAccepted,
    BudgetRequest,
    OpenPartnerRequest,
    PartnerResponse,
    RegisterClientRequest,
    TopUpAccepted,
    TopUpAnnounced,
    TopUpAnnouncementRequest,
    TopUpRequest,
)
from api.security import Admin, Caller, Commander, IdempotencyKey, Receiver
from domain.calendar import Anchor
from domain.payment_methods import PaymentSource
from ledger.charging import recorded_top_up
from ledger.command_bus import derived_id
from ledger.commands import partners as partner_commands
from projections.partners import PartnerDirectory

router = LedgerRouter(prefix=PREFIX, tags=["partners"])
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]


# --- opening and reading accounts -------------------------------------------------------------


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Open a partner account",
)
async def open_partner(
    body: OpenPartnerRequest,
    runtime: RuntimeDep,
    response: Response,
    _: Admin,
    key: IdempotencyKey,
) -> CommandAccepted:
    """The vendor opens an account for a partner, in one currency and time zone (admin only);
    with `test_clock`, on a test clock (`test_clock_not_found`, `test_clock_busy` if deleted)."""
    if body.test_clock is not None:
        await require_test_clocks(runtime)
    command = partner_commands.OpenPartnerAccount(
        partner_id=derived_id(key),
        name=body.name,
        currency=body.currency,
        time_zone=body.time_zone,
        anchor=Anchor(body.anchor),
        test_clock_id=body.test_clock,
    )
    result = await runtime.ledger.submit(command, key)
    return accepted(response, result, f"{PREFIX}/{result.aggregate_id}")


@router.get(
    "",
    response_model=Page[PartnerResponse],
    responses=READ_PROBLEMS,
    summary="List partner accounts",
)
def list_partners(
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
    runtime: RuntimeDep,
) -> Page[PartnerResponse]:
    """Every partner account, in id order; a partner key sees only its own."""
    wait_for(conn, read_after, PartnerDirectory.name)
    after = page.after_as(UUID)
    only = caller.partner_id if caller.role is Role.PARTNER else None
    rows = PartnerDirectory.page(
        conn, limit=page.limit + 1, after=after[0] if after else None, only=only
    )
    return page_of(
        [PartnerResponse.of(row, runtime.sealer) for row in rows], page.limit, lambda p: [str(p.id)]
    )


@router.get(
    "/{partner_id}",
    response_model=PartnerResponse,
    responses=READ_PROBLEMS,
    summary="Read a partner account",
)
def get_partner(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    runtime: RuntimeDep,
) -> PartnerResponse:
    """A partner account as the partner directory shows it."""
    view = readable_partner(conn, caller, partner_id, read_after)
    return PartnerResponse.of(view, runtime.sealer)


# --- billing profile (R-O1) -------------------------------------------------------------------


@router.post(
    "/{partner_id}/billing-profile",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Record the billing profile",
)
async def record_billing_profile(
    partner_id: PartnerId,
    body: BillingProfileRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Set the billing entity, address, tax id and e-mail of invoices (R-O1, issue 17); a later
    one replaces it."""
    command = partner_commands.RecordBillingProfile(
        partner_id=partner_id,
        entity=body.entity,
        address=body.address.address(),
        billing_email=body.billing_email,
        tax_id=body.tax_id,
        actor=caller.actor,
    )
    result = await runtime.ledger.submit(command, key)
    return accepted(response, result, f"{PREFIX}/{partner_id}")


# --- company balance, clients, budget, autopay --------------------------------------------------


@router.post(
    "/{partner_id}/top-ups",
    status_code=status.HTTP_201_CREATED,
    response_model=TopUpAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Top up the company balance",
)
async def top_up(
    partner_id: PartnerId,
    body: TopUpRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> TopUpAccepted:
    """Prepay money onto the company balance, spendable on any line (R-C2): a card is charged
    now (declined: `payment_declined`, nothing recorded); a bank transfer is recorded as
    arrived by the vendor only, a partner announces it instead (`…/top-up-announcements`, 403
    `forbidden` here). Top-ups get no closing document (R-C7)."""
    amount = body.amount.to_money()
    source = PaymentSource(body.source)
    if source is PaymentSource.CARD:
        # The card is charged first: a thread is held while the processor answers.
        result = await asyncio.to_thread(
            runtime.ledger.top_up,
            partner_id,
            amount,
            source,
            method_id=body.method_id,
            key=key,
            actor=caller.actor,
        )
    else:
        command = recorded_top_up(
            partner_id, amount, source, key, reference=body.reference, actor=caller.actor
        )
        result = await runtime.ledger.submit(command, key)
    answer = accepted(response, result, f"{PREFIX}/{partner_id}/balance", partner_id)
    return TopUpAccepted.of(answer, result, amount.currency)


@router.post(
    "/{partner_id}/top-up-announcements",
    status_code=status.HTTP_201_CREATED,
    response_model=TopUpAnnounced,
    responses=COMMAND_PROBLEMS,
    summary="Announce a bank transfer for the company balance",
)
async def announce_top_up(
    partner_id: PartnerId,
    body: TopUpAnnouncementRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> TopUpAnnounced:
    """Say a bank transfer was sent for the company balance (R-C2). The balance grows only
    when the vendor confirms it arrived (`…/top-up-announcements/{top_up_id}/confirm`);
    until then the balance shows it apart. Admin or the partner itself."""
    amount = body.amount.to_money()
    command = partner_commands.AnnounceTopUp(
        partner_id=partner_id,
        top_up_id=derived_id(key),
        amount=amount,
        reference=body.reference,
        actor=caller.actor,
    )
    result = await runtime.ledger.submit(command, key)
    answer = accepted(response, result, f"{PREFIX}/{partner_id}/balance", partner_id)
    return TopUpAnnounced.of(answer, result, amount.currency)


@router.post(
    "/{partner_id}/top-up-announcements/{top_up_id}/confirm",
    status_code=status.HTTP_201_CREATED,
    response_model=TopUpAnnounced,
    responses=COMMAND_PROBLEMS,
    summary="Confirm an announced transfer arrived",
)
async def confirm_top_up(
    partner_id: PartnerId,
    top_up_id: Annotated[UUID, Path(description="The announced top-up's id.")],
    runtime: RuntimeDep,
    response: Response,
    caller: Receiver,
    key: IdempotencyKey,
) -> TopUpAnnounced:
    """The vendor received an announced transfer: it is on the company balance now (R-C2);
    `payment_not_found` if no such announcement is waiting. Admin or finance."""
    command = partner_commands.ConfirmTopUp(
        partner_id=partner_id, top_up_id=top_up_id, actor=caller.actor
    )
    result = await runtime.ledger.submit(command, key)
    currency = result.data.get("currency")
    if currency is None:  # an answer recorded before answers named the account's currency
        currency = (await asyncio.to_thread(runtime.ledger.partner_account, partner_id)).currency
    answer = accepted(response, result, f"{PREFIX}/{partner_id}/balance", partner_id)
    return TopUpAnnounced.of(answer, result, str(currency))


@router.post(
    "/{partner_id}/clients",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Register a client",
)
async def register_client(
    partner_id: PartnerId,
    body: RegisterClientRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Register one of the partner's clients (R-O4, R-C8); `id` is the new client's id."""
    command = partner_commands.RegisterClient(
        partner_id=partner_id,
        client_id=derived_id(key),
        name=body.name,
        email=body.email,
        unified_billing=body.unified_billing,
        actor=caller.actor,
    )
    result = await runtime.ledger.submit(command, key)
    return accepted(response, result, f"/v1/clients/{result.aggregate_id}")


@router.post(
    "/{partner_id}/budget",
    status_code=status.HTTP_201_CREATED,
    response_model=BudgetAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Set the monthly budget",
)
async def set_budget(
    partner_id: PartnerId,
    body: BudgetRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> BudgetAccepted:
    """Set (or remove) the monthly lead budget (R-L3); lowered to what this month has already
    spent, the account pauses at once; raised above it, it resumes."""
    amount = body.amount.to_money() if body.amount is not None else None
    command = partner_commands.SetBudget(partner_id=partner_id, amount=amount, actor=caller.actor)
    result = await runtime.ledger.submit(command, key)
    answer = accepted(response, result, f"{PREFIX}/{partner_id}")
    return BudgetAccepted(**answer.model_dump(), status=str(result.data["status"]))


@router.post(
    "/{partner_id}/autopay",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Set the account's autopay",
)
async def set_account_autopay(
    partner_id: PartnerId,
    body: AccountAutopayRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Autopay for the whole account (R-C6): company balance, card or invoice."""
    source = PaymentSource(body.source) if body.source is not None else None
    command = partner_commands.SetAccountAutopay(
        partner_id=partner_id, source=source, actor=caller.actor
    )
    result = await runtime.ledger.submit(command, key)
    return accepted(response, result, f"{PREFIX}/{partner_id}")
