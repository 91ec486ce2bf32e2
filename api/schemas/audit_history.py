"""Response schemas of the audit's history: a partner as it stood at a moment, and the events
that led there (issue 14; replay/as_of.py). The command line's `--json` prints the same
documents, so scripts read one shape from either edge."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import MoneySum
from api.schemas.line_views import PeriodView
from domain.invoice import Invoice
from domain.money import Money
from domain.partner_account import Client, PartnerAccount
from domain.subscription_line import SubscriptionLine
from replay.as_of import Cut, PartnerAsOf
from replay.as_of_events import EventEntry


def _money(money: Money) -> MoneySum:
    return MoneySum(amount_minor=money.amount_minor, currency=money.currency)


class AuditCut(BaseModel):
    """The moment audited, and the log position it reaches."""

    kind: str = Field(description="`as_of`, `position` or `business_date`: what named it.")
    position: int = Field(
        description="The last log position included (for a business date: the log's head "
        "when it was read, every event recorded by then being considered)."
    )
    as_of: datetime | None
    business_date: date | None
    description: str

    @classmethod
    def of(cls, cut: Cut) -> AuditCut:
        return cls(
            kind=cut.kind.value,
            position=cut.position,
            as_of=cut.instant,
            business_date=cut.business_date,
            description=cut.describe(),
        )


class AuditAccount(BaseModel):
    """The partner account as it stood."""

    partner_id: UUID
    name: str
    currency: str
    time_zone: str
    status: str
    opened_on: date
    company_balance: MoneySum
    announced_top_ups: MoneySum = Field(description="Announced, not yet confirmed (R-H2).")
    autopay: str | None
    version: int = Field(description="How many of the account's own events made it.")

    @classmethod
    def of(cls, account: PartnerAccount) -> AuditAccount:
        return cls(
            partner_id=account.id,
            name=account.name,
            currency=account.currency,
            time_zone=account.time_zone,
            status=account.status.value,
            opened_on=account.opened_on,
            company_balance=_money(account.balance),
            announced_top_ups=_money(account.announced_total),
            autopay=account.autopay.value if account.autopay else None,
            version=account.version,
        )


class AuditClient(BaseModel):
    client_id: UUID
    name: str
    email: str | None
    unified_billing: bool

    @classmethod
    def of(cls, client: Client) -> AuditClient:
        return cls(
            client_id=client.client_id,
            name=client.name,
            email=client.email,
            unified_billing=client.unified_billing,
        )


class AuditLine(BaseModel):
    """A subscription line as it stood (its partner then: a line moved away names the new)."""

    line_id: UUID
    partner_id: UUID
    client_id: UUID
    product_code: str
    product_name: str
    status: str
    payer: str
    unified_billing: bool
    term: str
    unit_price: MoneySum
    current_period: PeriodView | None
    version: int

    @classmethod
    def of(cls, line: SubscriptionLine) -> AuditLine:
        period = line.current_period
        return cls(
            line_id=line.id,
            partner_id=line.partner_id,
            client_id=line.client_id,
            product_code=line.product_code,
            product_name=line.product_name,
            status=line.status.value,
            payer=line.payer.value,
            unified_billing=line.unified_billing,
            term=line.term.value,
            unit_price=_money(line.unit_price),
            current_period=PeriodView(start=period.start, end=period.end) if period else None,
            version=line.version,
        )


class AuditPayment(BaseModel):
    payment_id: str
    source: str
    amount: MoneySum
    fee: MoneySum
    refunded: MoneySum


class AuditInvoice(BaseModel):
    """An invoice as it stood, with its payments and what was refunded of each."""

    invoice_id: UUID
    number: str
    kind: str
    payer: str
    payer_id: UUID
    client_id: UUID | None
    status: str
    issued_on: date
    due_on: date
    total: MoneySum
    credited: MoneySum
    paid: MoneySum
    refunded: MoneySum
    outstanding: MoneySum
    overdue: bool
    payments: list[AuditPayment]
    version: int

    @classmethod
    def of(cls, invoice: Invoice) -> AuditInvoice:
        return cls(
            invoice_id=invoice.id,
            number=invoice.number,
            kind=invoice.kind.value,
            payer=invoice.payer.value,
            payer_id=invoice.payer_id,
            client_id=invoice.client_id,
            status=invoice.status.value,
            issued_on=invoice.issued_on,
            due_on=invoice.due_on,
            total=_money(invoice.total),
            credited=_money(invoice.credited),
            paid=_money(invoice.paid),
            refunded=_money(invoice.refunded),
            outstanding=_money(invoice.outstanding),
            overdue=invoice.overdue,
            payments=[
                AuditPayment(
                    payment_id=payment_id,
                    source=payment.source.value,
                    amount=_money(payment.amount),
                    fee=_money(payment.fee),
                    refunded=_money(payment.refunded),
                )
                for payment_id, payment in sorted(invoice.payments.items())
            ],
            version=invoice.version,
        )


class AuditWallet(BaseModel):
    balance: MoneySum
    earned: MoneySum
    spent: MoneySum
    clawed_back: MoneySum


class AuditReceivable(BaseModel):
    payer_id: UUID = Field(description="The partner, or a client paying for itself.")
    owed: MoneySum


class AuditBalances(BaseModel):
    """The money as the aggregates held it: the company balance and bonus wallet (owed to the
    partner), and what each payer owed on the partner's invoices."""

    company_balance: MoneySum
    bonus_wallet: MoneySum
    receivable: list[AuditReceivable]


class AuditPriceOverride(BaseModel):
    product_code: str
    currency: str
    effective_from: date
    label: str


class AuditPartnerResponse(BaseModel):
    """A partner's account, clients, lines, invoices, bonus wallet, prices and balances as
    they stood at a moment, replayed from the log (never from the read models)."""

    cut: AuditCut
    account: AuditAccount
    clients: list[AuditClient]
    lines: list[AuditLine]
    invoices: list[AuditInvoice]
    wallet: AuditWallet | None
    price_overrides: list[AuditPriceOverride]
    balances: AuditBalances

    @classmethod
    def of(cls, state: PartnerAsOf) -> AuditPartnerResponse:
        money = state.balances
        wallet = state.wallet
        return cls(
            cut=AuditCut.of(state.cut),
            account=AuditAccount.of(state.account),
            clients=[AuditClient.of(client) for _, client in sorted(state.account.clients.items())],
            lines=[AuditLine.of(line) for line in state.lines],
            invoices=[AuditInvoice.of(invoice) for invoice in state.invoices],
            wallet=None
            if wallet is None
            else AuditWallet(
                balance=_money(wallet.balance),
                earned=_money(wallet.earned),
                spent=_money(wallet.spent),
                clawed_back=_money(wallet.clawed_back),
            ),
            price_overrides=[
                AuditPriceOverride(
                    product_code=override.product_code,
                    currency=override.currency,
                    effective_from=override.effective_from,
                    label=override.label,
                )
                for override in (state.prices.overrides if state.prices else ())
            ],
            balances=AuditBalances(
                company_balance=MoneySum(
                    amount_minor=money.company_balance_minor, currency=money.currency
                ),
                bonus_wallet=MoneySum(
                    amount_minor=money.bonus_wallet_minor, currency=money.currency
                ),
                receivable=[
                    AuditReceivable(
                        payer_id=payer,
                        owed=MoneySum(amount_minor=owed, currency=money.currency),
                    )
                    for payer, owed in money.receivable_minor.items()
                ],
            ),
        )


class AuditEvent(BaseModel):
    """One event that led to the state: where, when, what, who, and what it means."""

    position: int = Field(description="Its log position.")
    recorded_at: datetime | None = Field(description="The instant the ledger recorded it.")
    business_date: date = Field(
        description="The day it takes effect: the date it carries, else its recorded day in "
        "the partner's zone (docs/audit.md)."
    )
    type: str = Field(description="The event's class, as `Invoice.PaymentReceived`.")
    aggregate_id: UUID
    version: int
    caused_by: str = Field(description='Who caused it, in words; "unknown" before causes.')
    cause: dict[str, Any] | None = Field(
        description="The cause as recorded: `kind`, and `key_id`, `role`, `request_id` for an "
        "API key, `run` for the billing clock or a command; null when unknown."
    )
    sentence: str

    @classmethod
    def of(cls, entry: EventEntry) -> AuditEvent:
        return cls(
            position=entry.position,
            recorded_at=entry.recorded_at,
            business_date=entry.business_date,
            type=entry.type,
            aggregate_id=entry.aggregate_id,
            version=entry.version,
            caused_by=entry.caused_by,
            cause=entry.cause.as_json() if entry.cause is not None else None,
            sentence=entry.sentence,
        )
