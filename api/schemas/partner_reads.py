"""Response schemas of what a partner reads: balances, wallet, cashback, closing documents,
banner and activity (R-C2, R-C4, R-C5, R-C7, R-H2, R-H3, R-H7, R-X2); the banner's models are
the clients' too."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import MoneyModel, MoneySum, Page
from api.schemas.invoices import DocumentLineView
from ledger.sealing import Sealer, reveal
from projections import banners
from projections.activity import ActivityEntry
from projections.balances import JournalEntry
from projections.cashback import ClientMonthCashback, PartnerCashback
from projections.documents import ClosingDocument


class BannerInvoiceModel(BaseModel):
    """A failed or overdue invoice (R-H2), and what it owes for the line."""

    invoice_id: UUID
    number: str
    owed: MoneyModel
    kind: Literal["failed", "overdue"]
    reason: str = Field(description="The decline reason of a failed charge, or why overdue.")
    decline_code: str | None
    since: date


class BannerLineModel(BaseModel):
    """A subscription line that owes money (null `line_id`: an invoice of no line)."""

    line_id: UUID | None
    owed: MoneyModel
    invoices: list[BannerInvoiceModel]


class BannerModel(BaseModel):
    """The banner: the total owed across all lines; it links to the one line owing, or to the
    list when several owe (R-H3). It stays until everything is paid."""

    total: MoneyModel
    lines: list[BannerLineModel]
    links_to: Literal["line", "list"]
    line_id: UUID | None = Field(description="The line it links to, when one line owes.")

    @classmethod
    def of(cls, banner: banners.Banner | None) -> BannerModel | None:
        if banner is None:
            return None

        def money(minor: int) -> MoneyModel:
            return MoneyModel(amount_minor=minor, currency=banner.currency)

        return cls(
            total=money(banner.total_minor),
            lines=[
                BannerLineModel(
                    line_id=line.line_id,
                    owed=money(line.owed_minor),
                    invoices=[
                        BannerInvoiceModel(
                            invoice_id=i.invoice_id,
                            number=i.number,
                            owed=money(i.owed_minor),
                            kind=i.kind,
                            reason=i.reason,
                            decline_code=i.decline_code,
                            since=i.since,
                        )
                        for i in line.invoices
                    ],
                )
                for line in banner.lines
            ],
            links_to=banner.target[0],
            line_id=banner.target[1],
        )


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
    as_of_position: int = Field(
        description="The balances include every event up to this log position (and maybe "
        "a few after it, applied while they were read)."
    )


class WalletEntry(BaseModel):
    """A credit to or a spend from the bonus wallet."""

    position: int
    kind: Literal["credited", "spent", "clawed_back"]
    amount: MoneyModel = Field(description="Positive: what was credited, spent or taken back.")
    business_date: date

    @classmethod
    def of(cls, entry: JournalEntry) -> WalletEntry:
        return cls(
            position=entry.position,
            kind=WALLET_EVENTS[entry.event],
            amount=MoneyModel(amount_minor=entry.amount_minor, currency=entry.currency),
            business_date=entry.business_date,
        )


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


class ClientMonthModel(BaseModel):
    """Bonuses credited in one business month for one client's own payments (R-C4)."""

    client_id: UUID | None = Field(description="Null for a promotion no client earned.")
    month: date = Field(description="The month's first day.")
    reason: str = Field(description="`cashback`, or the vendor's `promotion` or `goodwill`.")
    earned: MoneySum

    @classmethod
    def of(cls, row: ClientMonthCashback) -> ClientMonthModel:
        return cls(
            client_id=row.client_id,
            month=row.month,
            reason=row.reason,
            earned=MoneySum(amount_minor=row.earned_minor, currency=row.currency),
        )


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

    @classmethod
    def of(cls, figures: PartnerCashback, items: Page[ClientMonthModel]) -> CashbackResponse:
        def money(minor: int) -> MoneySum:
            return MoneySum(amount_minor=minor, currency=figures.currency)

        return cls(
            partner_id=figures.partner_id,
            earned=money(figures.earned_minor),
            spent=money(figures.spent_minor),
            clawed_back=money(figures.clawed_back_minor),
            shortfall=money(figures.shortfall_minor),
            available=MoneyModel(amount_minor=figures.available_minor, currency=figures.currency),
            items=items.items,
            next_cursor=items.next_cursor,
        )


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
    lines: list[DocumentLineView]

    @classmethod
    def of(cls, document: ClosingDocument, sealer: Sealer | None) -> ClosingDocumentSummary:
        return cls(
            id=document.document_id,
            number=document.number,
            invoice_id=document.invoice_id,
            invoice_number=document.invoice_number,
            client_id=document.client_id,
            client_name=reveal(sealer, document.client_name),
            period_start=document.period_start,
            period_end=document.period_end,
            amount=MoneyModel.of(document.amount),
            requested_on=document.requested_on,
            lines=[DocumentLineView.of(line, document.currency) for line in document.lines],
        )


class PartnerBannerResponse(BaseModel):
    """The banner on the partner's profile: what it owes and whether service continues."""

    partner_id: UUID
    status: str = Field(description="active, in_grace (a payment missed: R-L4), paused, closed.")
    grace_ends_on: date | None = Field(description="When the grace period ends unpaid (R-L4).")
    pause_reasons: list[str]
    banner: BannerModel | None = Field(description="Null when nothing is failed or overdue.")


class ActivityEntryResponse(BaseModel):
    """One entry of a line's activity feed, in words (R-H7)."""

    line_id: UUID
    position: int
    recorded_at: datetime
    kind: str
    text: str

    @classmethod
    def of(cls, entry: ActivityEntry) -> ActivityEntryResponse:
        return cls(
            line_id=entry.line_id,
            position=entry.position,
            recorded_at=entry.recorded_at,
            kind=entry.kind,
            text=entry.text,
        )
