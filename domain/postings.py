"""Double entry (R-X2): the chart of accounts and the balanced entries each event posts.

Every monetary event posts entries whose debits equal their credits in its currency, and every
balance is the sum of its entries, so the trial balance is zero at every position of the log.
An event's entries follow from the event alone: a projection needs no other state to post it.

Money moving between the company balance or the bonus wallet and an invoice passes through
INTERNAL_TRANSFERS: the balance side posts one leg, the invoice side the other, in the same
command, so that account nets to zero after every command.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.bonus_wallet import BonusWallet, CreditReason
from domain.invoice import Invoice
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from domain.values import InvoiceLineKind


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


def _transfer(amount: Money, debit: LedgerAccount, credit: LedgerAccount) -> tuple[Entry, ...]:
    """A balanced pair of entries; a negative amount (a discount line) posts the other way."""
    if amount.is_zero():
        return ()
    if amount.is_negative():
        debit, credit, amount = credit, debit, -amount
    return (Entry(debit, Side.DEBIT, amount), Entry(credit, Side.CREDIT, amount))


# --- the posting rules, declared once as data -------------------------------------------------
#
# Each rule names fields of its event by path: `amount` is the event's field, `line.amount` a
# field of the value in its `line` field, and `item.amount` a field of the current item when the
# rule posts once per item of a list (an invoice's lines). entries_for() below reads events by
# these paths; projections/balances.py writes the same rules as SQL from the same declaration,
# so the journal and the domain cannot disagree on an account, a side or an amount.

ITEM = "item"
"""The first step of a path that reads the current item of a rule posting once per item."""


@dataclass(frozen=True, slots=True)
class AccountRule:
    """Which account one side of a posting goes to: a kind, fixed or picked by a field's value,
    and the field that names the account's owner where the kind is per partner or per payer."""

    kind: AccountKind | None = None
    """The kind, or the kind when no pick matches; None when every value must be picked."""
    owner: str | None = None
    """The path of the owner's id; given exactly when the kinds are owned."""
    picked_by: str | None = None
    """The path of a field whose value picks the kind among `picks`."""
    picks: tuple[tuple[str, AccountKind], ...] = ()

    def __post_init__(self) -> None:
        kinds = {kind for _, kind in self.picks} | ({self.kind} if self.kind else set())
        if not kinds or (self.picked_by is None) != (not self.picks):
            raise ValueError("an account rule has a kind, or a field and its picks")
        if any((self.owner is None) == (kind in OWNED) for kind in kinds):
            raise ValueError("an account rule names an owner exactly when its kinds are owned")

    def kind_for(self, value: object = None) -> AccountKind:
        """The kind that a picking field's value (an enum member or its text) selects; the
        fixed kind of a rule that picks nothing."""
        text = str(getattr(value, "value", value))
        for picked, kind in self.picks:
            if picked == text:
                return kind
        if self.kind is None:
            raise ValueError(f"no account for {text!r}")
        return self.kind


@dataclass(frozen=True, slots=True)
class PostingRule:
    """What one kind of event posts: its amount debited to one account and credited to another,
    once, or once per item of a list; and the partner and business date its entries carry."""

    event: type[Any]
    debit: AccountRule
    credit: AccountRule
    amount: str = "amount"
    """The path of the Money posted."""
    per_item: str | None = None
    """A field holding a list: one transfer per item, whose fields `item.…` paths read."""
    partner: str = "partner_id"
    """The path of the partner whose books the entries belong to."""
    dated_by: str | None = None
    """The path of the entries' business date; None: the recorded day in the partner's zone."""


def _fixed(kind: AccountKind, owner: str | None = None) -> AccountRule:
    return AccountRule(kind, owner)


INTERNAL_SOURCES = (PaymentSource.COMPANY_BALANCE, PaymentSource.BONUS)
PAID_THROUGH = AccountRule(
    AccountKind.CASH_CLEARING,
    picked_by="source",
    picks=tuple((source.value, AccountKind.INTERNAL_TRANSFERS) for source in INTERNAL_SOURCES),
)
"""Money from the company balance or the bonus wallet meets the invoice in internal transfers;
any other source is cash clearing."""

REVENUE_OF_LINE = {
    InvoiceLineKind.PRODUCT: AccountKind.REVENUE_SUBSCRIPTIONS,
    InvoiceLineKind.LEAD: AccountKind.REVENUE_LEADS,
    InvoiceLineKind.CARD_FEE: AccountKind.CARD_FEE_REVENUE,
    InvoiceLineKind.DISCOUNT: AccountKind.DISCOUNTS,
}
LINE_PICKS = tuple((line.value, kind) for line, kind in REVENUE_OF_LINE.items())

RECEIVABLE = _fixed(AccountKind.RECEIVABLE, "payer_id")
CASH = LedgerAccount(AccountKind.CASH_CLEARING)
TRANSFERS = LedgerAccount(AccountKind.INTERNAL_TRANSFERS)
INTERNAL = _fixed(AccountKind.INTERNAL_TRANSFERS)
PREPAID = _fixed(AccountKind.PREPAID_BALANCE, "originator_id")
BONUSES = _fixed(AccountKind.BONUS_LIABILITY, "partner_id")

POSTINGS: tuple[PostingRule, ...] = (
    # The payer is debited for each line and its revenue credited (a discount the other way).
    PostingRule(
        Invoice.Issued,
        RECEIVABLE,
        AccountRule(picked_by="item.kind", picks=LINE_PICKS),
        amount="item.amount",
        per_item="lines",
        dated_by="issued_on",
    ),
    PostingRule(
        Invoice.CardFeeAdded,
        RECEIVABLE,
        AccountRule(picked_by="line.kind", picks=LINE_PICKS),
        amount="line.amount",
    ),
    PostingRule(Invoice.PaymentReceived, PAID_THROUGH, RECEIVABLE, dated_by="received_on"),
    PostingRule(
        Invoice.PaymentRefunded, _fixed(AccountKind.REFUNDS), PAID_THROUGH, dated_by="refunded_on"
    ),
    PostingRule(
        Invoice.Voided, _fixed(AccountKind.REVENUE_ADJUSTMENTS), RECEIVABLE, dated_by="voided_on"
    ),
    PostingRule(
        Invoice.CreditNoteIssued,
        _fixed(AccountKind.REVENUE_ADJUSTMENTS),
        RECEIVABLE,
        dated_by="issued_on",
    ),
    PostingRule(
        PartnerAccount.BalanceToppedUp,
        _fixed(AccountKind.CASH_CLEARING),
        PREPAID,
        partner="originator_id",
    ),
    PostingRule(PartnerAccount.BalanceSpent, PREPAID, INTERNAL, partner="originator_id"),
    PostingRule(PartnerAccount.BalanceRestored, INTERNAL, PREPAID, partner="originator_id"),
    PostingRule(
        BonusWallet.Credited,
        AccountRule(
            AccountKind.PROMOTION_EXPENSE,
            picked_by="reason",
            picks=((CreditReason.CASHBACK.value, AccountKind.CASHBACK_EXPENSE),),
        ),
        BONUSES,
        dated_by="credited_on",
    ),
    PostingRule(BonusWallet.Spent, BONUSES, INTERNAL, dated_by="spent_on"),
    PostingRule(
        BonusWallet.ClawedBack, BONUSES, _fixed(AccountKind.CASHBACK_EXPENSE), dated_by="clawed_on"
    ),
)
"""Every event that moves money, and what it posts (R-X2)."""

POSTING_RULES: dict[type[Any], PostingRule] = {rule.event: rule for rule in POSTINGS}


def read_path(event: object, path: str, item: object = None) -> Any:
    """The value at a rule's path: `amount`, `line.amount`, or `item.amount` of the item."""
    first, *rest = path.split(".")
    value = item if first == ITEM else getattr(event, first)
    for name in rest:
        value = getattr(value, name)
    return value


def _account(rule: AccountRule, event: object, item: object) -> LedgerAccount:
    picked = read_path(event, rule.picked_by, item) if rule.picked_by else None
    owner = read_path(event, rule.owner, item) if rule.owner else None
    return LedgerAccount(rule.kind_for(picked), owner)


def entries_for(event: object) -> tuple[Entry, ...]:
    """The balanced entries an event posts; none for events that move no money."""
    rule = POSTING_RULES.get(type(event))
    if rule is None:
        return ()
    items = getattr(event, rule.per_item) if rule.per_item else (None,)
    entries: list[Entry] = []
    for item in items:
        amount = read_path(event, rule.amount, item)
        debit, credit = _account(rule.debit, event, item), _account(rule.credit, event, item)
        entries.extend(_transfer(amount, debit, credit))
    return tuple(entries)


def imbalance(entries: Iterable[Entry]) -> dict[str, int]:
    """Debits minus credits per currency, for the currencies that do not balance."""
    sums: dict[str, int] = {}
    for entry in entries:
        sums[entry.amount.currency] = sums.get(entry.amount.currency, 0) + entry.signed_minor
    return {currency: value for currency, value in sums.items() if value}
