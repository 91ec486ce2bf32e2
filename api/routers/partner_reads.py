"""What a partner reads: balances, wallet, invoices, cashback, documents, banner, activity.

Read models answer (with `min_position`, after they have applied it); admin, finance, auditor
and the partner's own keys may read; another partner's id answers as one that does not exist.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Query

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.problems.documented import READ_PROBLEMS
from api.reads import LedgerRouter
from api.routers.invoice_views import invoice_page
from api.routers.partner_common import (
    PREFIX,
    cursor_text,
    invoice_cursor,
    readable_partner,
    wait_for,
)
from api.schemas.common import MoneyModel, MoneySum, Page, PageParams, page_of
from api.schemas.invoices import InvoiceSummaryView
from api.schemas.partner_reads import (
    WALLET_EVENTS,
    ActivityEntryResponse,
    BalanceResponse,
    BannerModel,
    CashbackResponse,
    ClientMonthModel,
    ClosingDocumentSummary,
    PartnerBannerResponse,
    WalletEntry,
    WalletResponse,
)
from api.security import Caller, visible
from domain.errors import PartnerNotFound
from domain.postings import AccountKind
from projections import activity, balances, banners, cashback, documents, invoices
from projections.activity import ActivityFeed
from projections.balances import Balances
from projections.banners import Banners
from projections.cashback import Cashback
from projections.documents import ClosingDocuments
from projections.generations import live_position
from projections.invoices import InvoiceHistory

router = LedgerRouter(prefix=PREFIX, tags=["partners"])
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]
WALLET_RECENT_MAX = 20
"""The bonus wallet shows its newest credits and spends, no more (its history is the journal)."""


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
) -> BalanceResponse:
    """The company balance, what the partner owes and its bonus wallet, from the journal's
    running totals (R-C2, R-C5, R-X2); and apart, the transfers announced for the balance and
    not yet confirmed (they move no money, so post nothing), from the same read model."""
    view = readable_partner(conn, caller, partner_id, read_after, Balances.name)
    # The position first: the running totals read after it include at least every event up to
    # it (a batch applied in between may add more), as `as_of_position` says.
    position = live_position(conn, Balances.name)
    money = balances.partner_money(conn, partner_id, view.currency)
    return BalanceResponse(
        partner_id=partner_id,
        company_balance=MoneyModel(
            amount_minor=money.company_balance_minor, currency=view.currency
        ),
        receivable=MoneySum(amount_minor=money.receivable_minor, currency=view.currency),
        bonus_wallet=MoneyModel(amount_minor=money.bonus_wallet_minor, currency=view.currency),
        announced_top_ups=MoneyModel(
            amount_minor=money.announced_top_ups_minor, currency=view.currency
        ),
        as_of_position=position,
    )


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
    position = live_position(conn, Balances.name)  # first, as for the balance
    balance = balances.partner_money(conn, partner_id, view.currency).bonus_wallet_minor
    kind = AccountKind.BONUS_LIABILITY.value
    entries = balances.account_entries(conn, kind, partner_id, limit=WALLET_RECENT_MAX)
    return WalletResponse(
        partner_id=partner_id,
        balance=MoneyModel(amount_minor=balance, currency=view.currency),
        recent=[WalletEntry.of(entry) for entry in entries if entry.event in WALLET_EVENTS],
        as_of_position=position,
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
    rows = invoices.invoices_of(conn, partner_id, after=invoice_cursor(page), limit=page.limit)
    return invoice_page(rows)


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
        [ClientMonthModel.of(row) for row in rows],
        page.limit,
        lambda r: [r.month.isoformat(), str(r.client_id or cashback.NO_CLIENT), r.reason],
    )
    return CashbackResponse.of(figures, items)


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
    summaries = [ClosingDocumentSummary.of(document, runtime.sealer) for document in rows]
    return page_of(summaries, page.limit, lambda d: [d.requested_on.isoformat(), d.number])


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
    entries = [ActivityEntryResponse.of(entry) for entry in rows]
    return page_of(entries, page.limit, lambda e: [e.position, str(e.line_id)])
