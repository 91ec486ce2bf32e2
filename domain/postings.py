"""Double entry (R-X2): the chart of accounts and the balanced entries each event posts.

Every monetary event posts entries whose debits equal their credits in its currency, and every
balance is the sum of its entries, so the trial balance is zero at every position of the log.
An event's entries follow from the event alone: a projection needs no other state to post it.

Money moving between the company balance or the bonus wallet and an invoice passes through
INTERNAL_TRANSFERS: the balance side posts one leg, the invoice side the other, in the same
command, so that account nets to zero after every command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.bonus_wallet import BonusWallet, CreditReason
from domain.invoice import Invoice
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from domain.values import InvoiceLine, InvoiceLineKind


class AccountKind(StrEnum):
    """The chart of accounts. Accounts marked per partner or per payer have an owner id."""

    RECEIVABLE = "receivable"
    """Asset, per payer (a partner, or a client paying for itself): what it owes."""
    PREPAID_BALANCE = "prepaid_balance"
    """Liability, per partner: its company balance (R-C2)."""
    BONUS_LIABILITY = "bonus_liability"
    """Liability, per partner: bonuses it can spend (R-C5)."""
    CASH_CLEARING = "cash_clearing"
    """Asset: money received by card, debit, bank transfer or offline, not yet reconciled."""
    INTERNAL_TRANSFERS = "internal_transfers"
    """Clearing between the balance or wallet and an invoice; zero after every command."""
    REVENUE_SUBSCRIPTIONS = "revenue_subscriptions"
    REVENUE_LEADS = "revenue_leads"
    DISCOUNTS = "discounts"
    """Contra-revenue: duration discounts (R-C3)."""
    CARD_FEE_REVENUE = "card_fee_revenue"
    """The card processing fee passed on to payers (R-O7)."""
    REVENUE_ADJUSTMENTS = "revenue_adjustments"
    """Contra-revenue: credit notes and voided invoices (R-X6)."""
    REFUNDS = "refunds"
    """Contra-revenue: money given back (R-H6)."""
    CASHBACK_EXPENSE = "cashback_expense"
    """Cashback granted to partners when clients pay themselves (R-C4)."""
    PROMOTION_EXPENSE = "promotion_expense"


OWNED = frozenset(
    {AccountKind.RECEIVABLE, AccountKind.PREPAID_BALANCE, AccountKind.BONUS_LIABILITY}
)


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


@dataclass(frozen=True, slots=True)
class LedgerAccount:
    """An account of the chart, with its owner where the kind is per partner or per payer."""

    kind: AccountKind
    owner_id: UUID | None = None

    def __post_init__(self) -> None:
        if (self.owner_id is None) == (self.kind in OWNED):
            raise ValueError(
                f"{self.kind.value} accounts {'need' if self.kind in OWNED else 'have no'} owner"
            )

    @property
    def code(self) -> str:
        return self.kind.value if self.owner_id is None else f"{self.kind.value}:{self.owner_id}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One leg of a posting: an amount above zero on one side of one account."""

    account: LedgerAccount
    side: Side
    amount: Money

    def __post_init__(self) -> None:
        if not self.amount.is_positive():
            raise ValueError("an entry's amount is above zero")

    @property
    def signed_minor(self) -> int:
        """Debits positive, credits negative: a trial balance sums to zero."""
        return self.amount.amount_minor if self.side is Side.DEBIT else -self.amount.amount_minor


def _account(kind: AccountKind, owner_id: UUID | None = None) -> LedgerAccount:
    return LedgerAccount(kind, owner_id)


def _transfer(amount: Money, debit: LedgerAccount, credit: LedgerAccount) -> tuple[Entry, ...]:
    if amount.is_zero():
        return ()
    if amount.is_negative():
        debit, credit, amount = credit, debit, -amount
    return (Entry(debit, Side.DEBIT, amount), Entry(credit, Side.CREDIT, amount))


CASH = _account(AccountKind.CASH_CLEARING)
TRANSFERS = _account(AccountKind.INTERNAL_TRANSFERS)
INTERNAL_SOURCES = frozenset({PaymentSource.COMPANY_BALANCE, PaymentSource.BONUS})

REVENUE_OF_LINE = {
    InvoiceLineKind.PRODUCT: AccountKind.REVENUE_SUBSCRIPTIONS,
    InvoiceLineKind.LEAD: AccountKind.REVENUE_LEADS,
    InvoiceLineKind.CARD_FEE: AccountKind.CARD_FEE_REVENUE,
    InvoiceLineKind.DISCOUNT: AccountKind.DISCOUNTS,
}


def _invoice_lines(receivable: LedgerAccount, lines: Iterable[InvoiceLine]) -> tuple[Entry, ...]:
    """Debit the payer for each line, credit its revenue (a discount line posts the other way)."""
    entries: list[Entry] = []
    for line in lines:
        entries.extend(_transfer(line.amount, receivable, _account(REVENUE_OF_LINE[line.kind])))
    return tuple(entries)


def _issued(e: Invoice.Issued) -> tuple[Entry, ...]:
    return _invoice_lines(_account(AccountKind.RECEIVABLE, e.payer_id), e.lines)


def _card_fee_added(e: Invoice.CardFeeAdded) -> tuple[Entry, ...]:
    return _invoice_lines(_account(AccountKind.RECEIVABLE, e.payer_id), [e.line])


def _payment_received(e: Invoice.PaymentReceived) -> tuple[Entry, ...]:
    paid_from = TRANSFERS if e.source in INTERNAL_SOURCES else CASH
    return _transfer(e.amount, paid_from, _account(AccountKind.RECEIVABLE, e.payer_id))


def _payment_refunded(e: Invoice.PaymentRefunded) -> tuple[Entry, ...]:
    paid_to = TRANSFERS if e.source in INTERNAL_SOURCES else CASH
    return _transfer(e.amount, _account(AccountKind.REFUNDS), paid_to)


def _voided(e: Invoice.Voided) -> tuple[Entry, ...]:
    return _transfer(
        e.amount,
        _account(AccountKind.REVENUE_ADJUSTMENTS),
        _account(AccountKind.RECEIVABLE, e.payer_id),
    )


def _credit_note(e: Invoice.CreditNoteIssued) -> tuple[Entry, ...]:
    return _transfer(
        e.amount,
        _account(AccountKind.REVENUE_ADJUSTMENTS),
        _account(AccountKind.RECEIVABLE, e.payer_id),
    )


def _topped_up(e: PartnerAccount.BalanceToppedUp) -> tuple[Entry, ...]:
    return _transfer(e.amount, CASH, _account(AccountKind.PREPAID_BALANCE, e.originator_id))


def _balance_spent(e: PartnerAccount.BalanceSpent) -> tuple[Entry, ...]:
    return _transfer(e.amount, _account(AccountKind.PREPAID_BALANCE, e.originator_id), TRANSFERS)


def _balance_restored(e: PartnerAccount.BalanceRestored) -> tuple[Entry, ...]:
    return _transfer(e.amount, TRANSFERS, _account(AccountKind.PREPAID_BALANCE, e.originator_id))


def _bonus_credited(e: BonusWallet.Credited) -> tuple[Entry, ...]:
    expense = (
        AccountKind.CASHBACK_EXPENSE
        if e.reason is CreditReason.CASHBACK
        else AccountKind.PROMOTION_EXPENSE
    )
    return _transfer(
        e.amount, _account(expense), _account(AccountKind.BONUS_LIABILITY, e.partner_id)
    )


def _bonus_spent(e: BonusWallet.Spent) -> tuple[Entry, ...]:
    return _transfer(e.amount, _account(AccountKind.BONUS_LIABILITY, e.partner_id), TRANSFERS)


def _clawed_back(e: BonusWallet.ClawedBack) -> tuple[Entry, ...]:
    return _transfer(
        e.amount,
        _account(AccountKind.BONUS_LIABILITY, e.partner_id),
        _account(AccountKind.CASHBACK_EXPENSE),
    )


POSTING_RULES: dict[type[Any], Callable[[Any], tuple[Entry, ...]]] = {
    Invoice.Issued: _issued,
    Invoice.CardFeeAdded: _card_fee_added,
    Invoice.PaymentReceived: _payment_received,
    Invoice.PaymentRefunded: _payment_refunded,
    Invoice.Voided: _voided,
    Invoice.CreditNoteIssued: _credit_note,
    PartnerAccount.BalanceToppedUp: _topped_up,
    PartnerAccount.BalanceSpent: _balance_spent,
    PartnerAccount.BalanceRestored: _balance_restored,
    BonusWallet.Credited: _bonus_credited,
    BonusWallet.Spent: _bonus_spent,
    BonusWallet.ClawedBack: _clawed_back,
}
"""Every event that moves money, and the rule that posts it."""


def entries_for(event: object) -> tuple[Entry, ...]:
    """The balanced entries an event posts; none for events that move no money."""
    rule = POSTING_RULES.get(type(event))
    return rule(event) if rule else ()


def imbalance(entries: Iterable[Entry]) -> dict[str, int]:
    """Debits minus credits per currency, for the currencies that do not balance."""
    sums: dict[str, int] = {}
    for entry in entries:
        sums[entry.amount.currency] = sums.get(entry.amount.currency, 0) + entry.signed_minor
    return {currency: value for currency, value in sums.items() if value}
