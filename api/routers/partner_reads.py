"""What a partner reads: balances, wallet, invoices, cashback, documents, banner, activity.

Read models answer (with `min_position`, after they have applied it); admin, finance, auditor
and the partner's own keys may read; another partner's id answers as one that does not exist.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.problems import READ_PROBLEMS
from api.routers.invoice_views import invoice_page
from api.routers.partner_common import (
    PREFIX,
    BannerModel,
    cursor_text,
    invoice_cursor,
    readable_partner,
    wait_for,
)
from api.schemas.common import MoneyModel, MoneySum, Page, PageParams, page_of
from api.schemas.invoices import InvoiceSummaryView
from api.security import Caller, visible
from domain.errors import PartnerNotFound
from domain.postings import AccountKind
from ledger.sealing import reveal
from projections import activity, balances, banners, cashback, documents, invoices
from projections.activity import ActivityFeed
from projections.balances import Balances
from projections.banners import Banners
from projections.cashback import Cashback
from projections.documents import ClosingDocuments
from projections.generations import live_position
from projections.invoices import InvoiceHistory

router = APIRouter(prefix=PREFIX, tags=["partners"])
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]
WALLET_RECENT_MAX = 20
"""The bonus wallet shows its newest credits and spends, no more (its history is the journal)."""


class BalanceResponse(BaseModel):
    """A partner's money as the ledger's accounts hold it (R-X2)."""

    partner_id: UUID
    company_balance: MoneyModel = Field(description="Prepaid, spendable on any line (R-C2).")
    receivable: MoneySum = Field(description="What the partner owes on its invoices.")
    bonus_wallet: MoneyModel = Field(description="Bonuses it can spend on any line (R-C5).")
    announced_top_ups: MoneyModel = Field(
        description="Bank transfers the partner announced for its balance and the vendor has "
        "not yet confirmed: not in `company_balance`, not spendable (R-C2)."
    )
    as_of_position: int = Field(description="The log position these balances include.")


@router.get(
    "/{partner_id}/balance",
    response_model=BalanceResponse,
    responses=READ_PROBLEMS,
    summary="Read the balances",
)
def get_balance(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    runtime: RuntimeDep,
) -> BalanceResponse:
    """The company balance, what the partner owes and its bonus wallet, from the journal's
    running totals (R-C2, R-C5, R-X2); and apart, the transfers announced for the balance and
    not yet confirmed, read from the account itself (they move no money, so post nothing)."""
    view = readable_partner(conn, caller, partner_id, read_after, Balances.name)
    kinds = (
        AccountKind.PREPAID_BALANCE.value,
        AccountKind.RECEIVABLE.value,
        AccountKind.BONUS_LIABILITY.value,
    )
    held = {
        row.account_kind: row.balance_minor
        for row in balances.owner_balances(conn, partner_id, kinds)
        if row.currency == view.currency
    }

    def money(minor: int) -> MoneyModel:
        return MoneyModel(amount_minor=minor, currency=view.currency)

    # Liabilities (the balance, the bonuses) are credit balances: owed to the partner.
    return BalanceResponse(
        partner_id=partner_id,
        company_balance=money(-held.get(AccountKind.PREPAID_BALANCE.value, 0)),
        receivable=MoneySum(
            amount_minor=held.get(AccountKind.RECEIVABLE.value, 0), currency=view.currency
        ),
        bonus_wallet=money(-held.get(AccountKind.BONUS_LIABILITY.value, 0)),
        announced_top_ups=MoneyModel.of(runtime.ledger.partner_account(partner_id).announced_total),
        as_of_position=live_position(conn, Balances.name),
    )


class WalletEntry(BaseModel):
    """A credit to or a spend from the bonus wallet."""

    position: int
    kind: Literal["credited", "spent", "clawed_back"]
    amount: MoneyModel = Field(description="Positive: what was credited, spent or taken back.")
    business_date: date


class WalletResponse(BaseModel):
    """The partner's bonus wallet (R-C5): its balance and its newest movements."""

    partner_id: UUID
    balance: MoneyModel
    recent: list[WalletEntry] = Field(description="Newest first, at most 20.")
    as_of_position: int


WALLET_EVENTS: dict[str, Literal["credited", "spent", "clawed_back"]] = {
    "BonusWallet.Credited": "credited",
    "BonusWallet.Spent": "spent",
    "BonusWallet.ClawedBack": "clawed_back",
}


@router.get(
    "/{partner_id}/wallet",
    response_model=WalletResponse,
    responses=READ_PROBLEMS,
    summary="Read the bonus wallet",
)
def get_wallet(
    partner_id: PartnerId, conn: ReadConnection, read_after: ReadAfterDep, caller: Caller
) -> WalletResponse:
    """The bonus wallet: cashback and promotions, the partner's to spend on any line (R-C4,
    R-C5), with its newest credits and spends."""
    view = readable_partner(conn, caller, partner_id, read_after, Balances.name)
    kind = AccountKind.BONUS_LIABILITY.value
    held = balances.owner_balances(conn, partner_id, (kind,))
    balance = sum(-row.balance_minor for row in held if row.currency == view.currency)
    entries = balances.account_entries(conn, kind, partner_id, limit=WALLET_RECENT_MAX)
    return WalletResponse(
        partner_id=partner_id,
        balance=MoneyModel(amount_minor=balance, currency=view.currency),
        recent=[
            WalletEntry(
                position=entry.position,
                kind=WALLET_EVENTS[entry.event],
                amount=MoneyModel(amount_minor=entry.amount_minor, currency=entry.currency),
                business_date=entry.business_date,
            )
            for entry in entries
            if entry.event in WALLET_EVENTS
        ],
        as_of_position=live_position(conn, Balances.name),
    )


@router.get(
    "/{partner_id}/invoices",
    response_model=Page[InvoiceSummaryView],
    responses=READ_PROBLEMS,
    summary="List the partner's invoices",
)
def list_partner_invoices(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
) -> Page[InvoiceSummaryView]:
    """Every invoice of the partner's, to it or to its clients, newest first (R-O5)."""
    readable_partner(conn, caller, partner_id, read_after, InvoiceHistory.name)
    found = invoices.invoices_of(conn, partner_id, after=invoice_cursor(page), limit=page.limit)
    return invoice_page(found)


class ClientMonthModel(BaseModel):
    """Bonuses credited in one business month for one client's own payments (R-C4)."""

    client_id: UUID | None = Field(description="Null for a promotion no client earned.")
    month: date = Field(description="The month's first day.")
    reason: str = Field(description="`cashback`, or the vendor's `promotion` or `goodwill`.")
    earned: MoneySum


class CashbackResponse(BaseModel):
    """What the partner's wallet earned, spent and gave back (R-C4, R-C5), and one page of
    what it earned per client and month (oldest month first)."""

    partner_id: UUID
    earned: MoneySum
    spent: MoneySum
    clawed_back: MoneySum = Field(description="Taken back after refunds.")
    shortfall: MoneySum = Field(description="Owed back after refunds, already spent.")
    available: MoneyModel
    items: list[ClientMonthModel]
    next_cursor: str | None = None


@router.get(
    "/{partner_id}/cashback",
    response_model=CashbackResponse,
    responses=READ_PROBLEMS,
    summary="Read the cashback",
)
def get_cashback(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
) -> CashbackResponse:
    """Cashback earned from clients paying their own lines, by client and month (R-C4); the
    bonuses are the partner's, not a client's (R-C5)."""
    view = readable_partner(conn, caller, partner_id, read_after, Cashback.name)
    figures = cashback.cashback_of(conn, partner_id) or cashback.PartnerCashback(
        partner_id, view.currency, 0, 0, 0, 0
    )
    after = page.after_as(date.fromisoformat, UUID, cursor_text)
    rows = cashback.cashback_page(
        conn,
        partner_id,
        limit=page.limit + 1,
        after=(after[0], after[1], after[2]) if after else None,
    )
    items = page_of(
        [
            ClientMonthModel(
                client_id=r.client_id,
                month=r.month,
                reason=r.reason,
                earned=MoneySum(amount_minor=r.earned_minor, currency=r.currency),
            )
            for r in rows
        ],
        page.limit,
        lambda r: [r.month.isoformat(), str(r.client_id or cashback.NO_CLIENT), r.reason],
    )

    def money(minor: int) -> MoneySum:
        return MoneySum(amount_minor=minor, currency=figures.currency)

    return CashbackResponse(
        partner_id=partner_id,
        earned=money(figures.earned_minor),
        spent=money(figures.spent_minor),
        clawed_back=money(figures.clawed_back_minor),
        shortfall=money(figures.shortfall_minor),
        available=MoneyModel(amount_minor=figures.available_minor, currency=figures.currency),
        items=items.items,
        next_cursor=items.next_cursor,
    )


class DocumentLineModel(BaseModel):
    """A line of work a closing document covers."""

    kind: str
    description: str
    quantity: int
    amount: MoneyModel
    period_start: date | None
    period_end: date | None = Field(description="Exclusive: the day after the last day paid.")


class ClosingDocumentSummary(BaseModel):
    """An act of completed work for a client's paid invoice (R-C7, R-C8)."""

    id: UUID
    number: str
    invoice_id: UUID
    invoice_number: str
    client_id: UUID | None
    client_name: str | None
    period_start: date | None
    period_end: date | None
    amount: MoneyModel = Field(description="Paid by card, bank or balance, less refunds, fees.")
    requested_on: date
    lines: list[DocumentLineModel]


@router.get(
    "/{partner_id}/closing-documents",
    response_model=Page[ClosingDocumentSummary],
    responses=READ_PROBLEMS,
    summary="List the closing documents",
)
def list_closing_documents(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
    runtime: RuntimeDep,
    client_id: Annotated[
        UUID | None, Query(description="Only this client's documents (R-C8).")
    ] = None,
) -> Page[ClosingDocumentSummary]:
    """The closing documents requested for the partner's clients, oldest first (R-C7)."""
    readable_partner(conn, caller, partner_id, read_after, ClosingDocuments.name)
    after = page.after_as(date.fromisoformat, cursor_text)
    rows = documents.documents_page(
        conn,
        partner_id,
        client_id,
        limit=page.limit + 1,
        after=(after[0], after[1]) if after else None,
    )
    found = [
        ClosingDocumentSummary(
            id=d.document_id,
            number=d.number,
            invoice_id=d.invoice_id,
            invoice_number=d.invoice_number,
            client_id=d.client_id,
            client_name=reveal(runtime.sealer, d.client_name),
            period_start=d.period_start,
            period_end=d.period_end,
            amount=MoneyModel.of(d.amount),
            requested_on=d.requested_on,
            lines=[
                DocumentLineModel(
                    kind=line.kind,
                    description=line.description,
                    quantity=line.quantity,
                    amount=MoneyModel(amount_minor=line.amount_minor, currency=d.currency),
                    period_start=line.period_start,
                    period_end=line.period_end,
                )
                for line in d.lines
            ],
        )
        for d in rows
    ]
    return page_of(found, page.limit, lambda d: [d.requested_on.isoformat(), d.number])


class PartnerBannerResponse(BaseModel):
    """The banner on the partner's profile: what it owes and whether service continues."""

    partner_id: UUID
    status: str = Field(description="active, in_grace (a payment missed: R-L4), paused, closed.")
    grace_ends_on: date | None = Field(description="When the grace period ends unpaid (R-L4).")
    pause_reasons: list[str]
    banner: BannerModel | None = Field(description="Null when nothing is failed or overdue.")


@router.get(
    "/{partner_id}/banner",
    response_model=PartnerBannerResponse,
    responses=READ_PROBLEMS,
    summary="Read the overdue banner",
)
def get_partner_banner(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    runtime: RuntimeDep,
    caller: Caller,
) -> PartnerBannerResponse:
    """What the partner itself owes, failed or overdue, across all its lines (R-H2, R-H3), and
    its grace period or pause (R-L4)."""
    visible(caller, partner_id, PartnerNotFound.of(partner_id))
    account = runtime.ledger.partner_account(partner_id)
    wait_for(conn, read_after, Banners.name)
    return PartnerBannerResponse(
        partner_id=partner_id,
        status=account.status.value,
        grace_ends_on=account.grace_ends_on,
        pause_reasons=[reason.value for reason in account.pause_reasons],
        banner=BannerModel.of(banners.partner_banner(conn, partner_id)),
    )


class ActivityEntryResponse(BaseModel):
    """One entry of a line's activity feed, in words (R-H7)."""

    line_id: UUID
    position: int
    recorded_at: datetime
    kind: str
    text: str


@router.get(
    "/{partner_id}/activity",
    response_model=Page[ActivityEntryResponse],
    responses=READ_PROBLEMS,
    summary="Read the activity feed",
)
def get_activity(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
    runtime: RuntimeDep,
) -> Page[ActivityEntryResponse]:
    """The activity of all the partner's lines, in log order (R-H7)."""
    readable_partner(conn, caller, partner_id, read_after, ActivityFeed.name)
    after = page.after_as(int, UUID)
    rows = activity.partner_feed(
        conn,
        partner_id,
        after=(after[0], after[1]) if after else None,
        limit=page.limit + 1,
        sealer=runtime.sealer,
    )
    found = [
        ActivityEntryResponse(
            line_id=e.line_id,
            position=e.position,
            recorded_at=e.recorded_at,
            kind=e.kind,
            text=e.text,
        )
        for e in rows
    ]
    return page_of(found, page.limit, lambda e: [e.position, str(e.line_id)])
