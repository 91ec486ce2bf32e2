"""Double entry (R-X2): the entries each monetary event posts, built through the aggregates.

Covers R-X2: every event that moves money posts balanced entries to the chart of accounts, every
monetary event class has a posting rule or a stated reason to post nothing, internal transfers
net to zero within a command, and the trial balance is zero after every operation. The events
come from real commands: top-ups and balance payments (R-C2), bonuses (R-C4, R-C5), card fees
(R-O7), duration discounts (R-C3), leads (R-L1), refunds (R-H6), voids and credit notes (R-X6).
"""

from __future__ import annotations

import typing
from dataclasses import fields, is_dataclass
from datetime import date, timedelta
from random import Random
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.bonus_wallet import BonusWallet, CreditReason
from domain.calendar import BillingPeriod, Term
from domain.invoice import Invoice, InvoiceKind, InvoiceStatus
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from domain.postings import (
    POSTING_RULES,
    AccountKind,
    Entry,
    LedgerAccount,
    Side,
    entries_for,
    imbalance,
)
from domain.pricing import BillingPolicy, PriceUnit, Product, cashback_for, subscription_lines
from domain.subscription_line import SubscriptionLine
from domain.values import InvoiceLine, InvoiceLineKind, Location, Payer
from tests.support import START

PARTNER = UUID("00000000-0000-4000-8000-000000000001")
CLIENT = UUID("00000000-0000-4000-8000-000000000002")
TODAY = date(2026, 1, 31)  # START in America/New_York
POLICY = BillingPolicy()
SEATS = Product("seats", "Online ordering", PriceUnit.PER_LOCATION, Money(49_99, "USD"))
YEAR = BillingPeriod(date(2026, 2, 1), date(2027, 2, 1))
LOCATIONS = (Location(UUID(int=10), "Downtown"), Location(UUID(int=11), "Airport"))

CASH = LedgerAccount(AccountKind.CASH_CLEARING)
TRANSFERS = LedgerAccount(AccountKind.INTERNAL_TRANSFERS)
SUBSCRIPTIONS = LedgerAccount(AccountKind.REVENUE_SUBSCRIPTIONS)
LEAD_REVENUE = LedgerAccount(AccountKind.REVENUE_LEADS)
DISCOUNTS = LedgerAccount(AccountKind.DISCOUNTS)
FEES = LedgerAccount(AccountKind.CARD_FEE_REVENUE)
ADJUSTMENTS = LedgerAccount(AccountKind.REVENUE_ADJUSTMENTS)
REFUNDS = LedgerAccount(AccountKind.REFUNDS)
CASHBACK = LedgerAccount(AccountKind.CASHBACK_EXPENSE)
PROMOTIONS = LedgerAccount(AccountKind.PROMOTION_EXPENSE)
PARTNER_OWES = LedgerAccount(AccountKind.RECEIVABLE, PARTNER)
CLIENT_OWES = LedgerAccount(AccountKind.RECEIVABLE, CLIENT)
PREPAID = LedgerAccount(AccountKind.PREPAID_BALANCE, PARTNER)
BONUSES = LedgerAccount(AccountKind.BONUS_LIABILITY, PARTNER)

PER_OWNER = {AccountKind.RECEIVABLE, AccountKind.PREPAID_BALANCE, AccountKind.BONUS_LIABILITY}

MOVES_NO_MONEY: dict[type[Any], str] = {
    PartnerAccount.BudgetSet: "a spending limit for leads (R-L3), not money owed or paid",
    PartnerAccount.BudgetSpent: "counts a lead against the limit; its invoice posts the money",
    PartnerAccount.BudgetReached: "the limit was reached; nothing changed hands",
    SubscriptionLine.Created: "the line's price list entry; nothing is owed until invoiced",
    SubscriptionLine.Invoiced: "the line's note of an invoice; Invoice.Issued posts it",
    SubscriptionLine.LeadRecorded: "revenue is recognised when the lead is invoiced",
    SubscriptionLine.LeadsInvoiced: "the line's note of a lead invoice; Invoice.Issued posts it",
    Invoice.PaymentFailed: "a declined charge: no money arrived (R-H2)",
    Invoice.PaymentPending: "a debit on its way: money arrives when it settles",
    PartnerAccount.ChargeDeferred: "waits for the partner's invoice, whose Issued posts it",
    Invoice.ClosingDocumentRequested: "a document about payments already posted (R-C7)",
    Invoice.PaymentAnnounced: "the payer's word; money arrives when the vendor confirms (R-H2)",
    PartnerAccount.TopUpAnnounced: "the partner's word; the confirmed top-up posts it (R-C2)",
}
"""Monetary event classes that post nothing, each with why."""


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def debit(account: LedgerAccount, minor: int) -> Entry:
    return Entry(account, Side.DEBIT, usd(minor))


def credit(account: LedgerAccount, minor: int) -> Entry:
    return Entry(account, Side.CREDIT, usd(minor))


def posted(*aggregates: Aggregate) -> list[tuple[type[Any], tuple[Entry, ...]]]:
    """The pending events of the aggregates, in order, with the entries each posts."""
    return [(type(e), entries_for(e)) for a in aggregates for e in a.collect_events()]


def balance(entries: list[Entry], account: LedgerAccount) -> int:
    return sum(entry.signed_minor for entry in entries if entry.account == account)


def all_entries(story: list[tuple[type[Any], tuple[Entry, ...]]]) -> list[Entry]:
    return [entry for _, entries in story for entry in entries]


def lead_line(minor: int = 35_00) -> InvoiceLine:
    return InvoiceLine(kind=InvoiceLineKind.LEAD, description="Lead", amount=usd(minor))


def issue(
    lines: list[InvoiceLine],
    payer: Payer = Payer.PARTNER,
    partner_id: UUID = PARTNER,
    client_id: UUID = CLIENT,
) -> Invoice:
    return Invoice.issue(
        invoice_id=uuid4(),
        partner_id=partner_id,
        number="A-1",
        kind=InvoiceKind.SUBSCRIPTION,
        payer=payer,
        client_id=client_id,
        lines=lines,
        issued_on=TODAY,
        due_on=TODAY + timedelta(days=14),
        expected_source=None,
        now=START,
    )


def pay(
    invoice: Invoice, source: PaymentSource, amount: Money, fee: InvoiceLine | None = None
) -> UUID:
    payment_id = uuid4()
    invoice.record_payment(
        payment_id=payment_id, source=source, amount=amount, on=TODAY, now=START, fee_line=fee
    )
    return payment_id


def refund(invoice: Invoice, payment_id: UUID, amount: Money) -> None:
    invoice.refund(
        refund_id=uuid4(), payment_id=payment_id, amount=amount, reason="r", on=TODAY, now=START
    )


def grant(
    wallet: BonusWallet, amount: Money, reason: CreditReason, payment_id: UUID | None = None
) -> None:
    """Promotion bonuses, or cashback on the client payment that earned it (R-C4)."""
    client_id = None if payment_id is None else CLIENT
    wallet.credit(
        credit_id=uuid4(),
        amount=amount,
        reason=reason,
        payment_id=payment_id,
        client_id=client_id,
        on=TODAY,
        now=START,
    )


def credit_note(invoice: Invoice, amount: Money) -> None:
    invoice.issue_credit_note(
        credit_note_id=uuid4(), number="CN-1", amount=amount, reason="c", on=TODAY, now=START
    )


def year_of_seats() -> list[InvoiceLine]:
    """2 locations x 49.99 x 12 = 1,199.76, less 10 % (119.98): 1,079.78 (R-O3, R-C3)."""
    return subscription_lines(SEATS, uuid4(), LOCATIONS, Term.TWELVE_MONTHS, YEAR, 1, POLICY)


def open_account() -> PartnerAccount:
    return PartnerAccount.open(
        partner_id=PARTNER, name="Acme", currency="USD", time_zone="America/New_York", now=START
    )


# --- each posting rule, through the aggregates ---------------------------------------------


def test_r_x2_issued_debits_the_payer_and_credits_revenue_net_of_discount() -> None:
    invoice = issue([*year_of_seats(), lead_line()])
    assert posted(invoice) == [
        (
            Invoice.Issued,
            (
                debit(PARTNER_OWES, 599_88),
                credit(SUBSCRIPTIONS, 599_88),
                debit(PARTNER_OWES, 599_88),
                credit(SUBSCRIPTIONS, 599_88),
                debit(DISCOUNTS, 119_98),
                credit(PARTNER_OWES, 119_98),
                debit(PARTNER_OWES, 35_00),
                credit(LEAD_REVENUE, 35_00),
            ),
        )
    ]


def test_r_x2_a_client_paying_for_itself_owes_on_its_own_receivable() -> None:
    invoice = issue([lead_line(12_00)], payer=Payer.CLIENT)
    assert posted(invoice) == [
        (Invoice.Issued, (debit(CLIENT_OWES, 12_00), credit(LEAD_REVENUE, 12_00)))
    ]


def test_r_o7_r_h6_card_payment_posts_its_fee_and_clears_the_receivable() -> None:
    invoice = issue(year_of_seats())
    story = posted(invoice)
    charged, fee_line = invoice.card_charge(POLICY)
    assert charged == usd(1112_17)  # 3 % of 1,079.78 is 32.39
    refund(invoice, pay(invoice, PaymentSource.CARD, charged, fee_line), usd(100_00))
    paid = posted(invoice)
    assert paid == [
        (Invoice.CardFeeAdded, (debit(PARTNER_OWES, 32_39), credit(FEES, 32_39))),
        (Invoice.PaymentReceived, (debit(CASH, 1112_17), credit(PARTNER_OWES, 1112_17))),
        (Invoice.Settled, ()),
        (Invoice.PaymentRefunded, (debit(REFUNDS, 100_00), credit(CASH, 100_00))),
    ]
    assert balance(all_entries(story + paid), PARTNER_OWES) == 0


def test_r_x2_bank_transfers_and_offline_payments_arrive_in_cash_clearing() -> None:
    invoice = issue([lead_line(50_00)])
    invoice.collect_events()
    pay(invoice, PaymentSource.BANK_TRANSFER, usd(30_00))
    pay(invoice, PaymentSource.CHEQUE, usd(20_00))
    assert [entries for _, entries in posted(invoice)] == [
        (debit(CASH, 30_00), credit(PARTNER_OWES, 30_00)),
        (debit(CASH, 20_00), credit(PARTNER_OWES, 20_00)),
        (),
    ]


def test_r_c2_r_x2_company_balance_payment_passes_through_internal_transfers() -> None:
    account, invoice = open_account(), issue(year_of_seats())
    account.collect_events()
    invoice.collect_events()
    account.top_up(uuid4(), usd(2000_00), PaymentSource.BANK_TRANSFER, START)
    topped_up = posted(account)
    assert topped_up == [
        (PartnerAccount.BalanceToppedUp, (debit(CASH, 2000_00), credit(PREPAID, 2000_00)))
    ]
    # One command: the balance leg, then the invoice leg.
    account.spend_balance(uuid4(), usd(1079_78), invoice.id, START)
    payment_id = pay(invoice, PaymentSource.COMPANY_BALANCE, usd(1079_78))
    paid = posted(account, invoice)
    assert paid == [
        (PartnerAccount.BalanceSpent, (debit(PREPAID, 1079_78), credit(TRANSFERS, 1079_78))),
        (Invoice.PaymentReceived, (debit(TRANSFERS, 1079_78), credit(PARTNER_OWES, 1079_78))),
        (Invoice.Settled, ()),
    ]
    assert balance(all_entries(paid), TRANSFERS) == 0
    # A refund goes back onto the balance, again through internal transfers (R-H6).
    refund(invoice, payment_id, usd(79_78))
    account.restore_balance(uuid4(), usd(79_78), invoice.id, START)
    refunded = posted(invoice, account)
    assert refunded == [
        (Invoice.PaymentRefunded, (debit(REFUNDS, 79_78), credit(TRANSFERS, 79_78))),
        (PartnerAccount.BalanceRestored, (debit(TRANSFERS, 79_78), credit(PREPAID, 79_78))),
    ]
    assert balance(all_entries(refunded), TRANSFERS) == 0
    prepaid = balance(all_entries(topped_up + paid + refunded), PREPAID)
    assert -prepaid == account.balance.amount_minor == 1000_00


def test_r_c4_r_c5_bonuses_are_earned_spent_and_clawed_back() -> None:
    wallet, invoice = BonusWallet.open(PARTNER, "USD", START), issue([lead_line(15_00)])
    wallet.collect_events()
    invoice.collect_events()
    client_payment = uuid4()
    grant(wallet, usd(12_00), CreditReason.CASHBACK, client_payment)
    grant(wallet, usd(5_00), CreditReason.PROMOTION)
    wallet.spend(uuid4(), usd(15_00), invoice.id, TODAY, START)
    pay(invoice, PaymentSource.BONUS, usd(15_00))
    # The client's payment is refunded: 12.00 is due back but only 2.00 is left to take.
    taken = wallet.claw_back(
        clawback_id=uuid4(), payment_id=client_payment, due=usd(12_00), on=TODAY, now=START
    )
    assert taken == usd(2_00)
    story = posted(wallet, invoice)
    assert story == [
        (BonusWallet.Credited, (debit(CASHBACK, 12_00), credit(BONUSES, 12_00))),
        (BonusWallet.Credited, (debit(PROMOTIONS, 5_00), credit(BONUSES, 5_00))),
        (BonusWallet.Spent, (debit(BONUSES, 15_00), credit(TRANSFERS, 15_00))),
        (BonusWallet.ClawedBack, (debit(BONUSES, 2_00), credit(CASHBACK, 2_00))),
        (Invoice.PaymentReceived, (debit(TRANSFERS, 15_00), credit(PARTNER_OWES, 15_00))),
        (Invoice.Settled, ()),
    ]
    assert balance(all_entries(story), BONUSES) == -wallet.balance.amount_minor == 0
    assert balance(all_entries(story), TRANSFERS) == 0


def test_r_x6_voids_and_credit_notes_reverse_through_revenue_adjustments() -> None:
    voided, credited = issue(year_of_seats()), issue(year_of_seats())
    voided.collect_events()
    credited.collect_events()
    voided.void("issued twice", TODAY, START)
    credit_note(credited, usd(79_78))
    assert posted(voided, credited) == [
        (Invoice.Voided, (debit(ADJUSTMENTS, 1079_78), credit(PARTNER_OWES, 1079_78))),
        (Invoice.CreditNoteIssued, (debit(ADJUSTMENTS, 79_78), credit(PARTNER_OWES, 79_78))),
    ]


def test_r_x2_events_that_move_no_money_post_nothing() -> None:
    invoice = issue([lead_line()])
    invoice.record_failed_payment(
        payment_id=uuid4(),
        source=PaymentSource.CARD,
        amount=usd(35_00),
        decline_code="expired_card",
        reason="The card has expired.",
        on=TODAY,
        now=START,
    )
    assert [entries for _, entries in posted(invoice, open_account())][1:] == [(), ()]
    assert entries_for(object()) == ()


# --- the chart and the registry --------------------------------------------------------------


def carries_money(annotation: Any, seen: set[Any] | None = None) -> bool:
    """Whether a type is Money or holds Money (in a union, a tuple, or a dataclass's fields)."""
    seen = set() if seen is None else seen
    if annotation is Money:
        return True
    if annotation in seen:
        return False
    seen.add(annotation)
    if any(carries_money(arg, seen) for arg in typing.get_args(annotation)):
        return True
    if isinstance(annotation, type) and is_dataclass(annotation):
        hints = typing.get_type_hints(annotation)
        return any(carries_money(hints[field.name], seen) for field in fields(annotation))
    return False


def event_classes(owner: type[Any]) -> list[type[Any]]:
    """Every event class nested (at any depth) in an aggregate class."""
    found = []
    for value in vars(owner).values():
        if isinstance(value, type) and value.__qualname__.startswith(f"{owner.__qualname__}."):
            if issubclass(value, Aggregate.Event):
                found.append(value)
            found.extend(event_classes(value))
    return found


def monetary_events() -> set[type[Any]]:
    """Every aggregate event class with a field that is or holds Money."""
    return {
        cls
        for aggregate in (PartnerAccount, SubscriptionLine, Invoice, BonusWallet)
        for cls in event_classes(aggregate)
        if any(carries_money(hint) for hint in typing.get_type_hints(cls).values())
    }


def test_r_x2_every_monetary_event_has_postings_or_a_reason_for_none() -> None:
    monetary = monetary_events()
    undecided = monetary - POSTING_RULES.keys() - MOVES_NO_MONEY.keys()
    assert sorted(cls.__qualname__ for cls in undecided) == []
    assert POSTING_RULES.keys() & MOVES_NO_MONEY.keys() == set()
    # No stale entries: each still carries money, and each reason is one line.
    assert set(MOVES_NO_MONEY) | set(POSTING_RULES) <= monetary
    assert all(reason.strip() and "\n" not in reason for reason in MOVES_NO_MONEY.values())
    # The walk sees Money inside other values too: CardFeeAdded's `line: InvoiceLine`.
    assert Invoice.CardFeeAdded in monetary
    assert PartnerAccount.Opened not in monetary


@given(kind=st.sampled_from(AccountKind), owner=st.uuids())
def test_r_x2_ledger_accounts_have_an_owner_exactly_when_per_payer(
    kind: AccountKind, owner: UUID
) -> None:
    owned = kind in PER_OWNER
    with pytest.raises(ValueError, match="owner"):
        LedgerAccount(kind, None if owned else owner)
    account = LedgerAccount(kind, owner if owned else None)
    assert account.code == (f"{kind.value}:{owner}" if owned else kind.value)


@pytest.mark.parametrize("minor", [0, -1])
def test_r_x2_an_entry_is_above_zero(minor: int) -> None:
    with pytest.raises(ValueError, match="above zero"):
        Entry(CASH, Side.DEBIT, usd(minor))


def test_r_x2_imbalance_is_reported_per_currency() -> None:
    yen = Entry(CASH, Side.DEBIT, Money(500, "JPY"))
    assert imbalance([debit(CASH, 5), credit(FEES, 5), yen]) == {"JPY": 500}
    assert imbalance([debit(CASH, 5), credit(FEES, 4)]) == {"USD": 1}
    assert imbalance([]) == {}


# --- random operations keep the books balanced -----------------------------------------------


class Books:
    """One partner's account, wallet and invoices in one currency, and every entry they post."""

    def __init__(self, currency: str, partner_id: UUID) -> None:
        self.currency, self.partner_id, self.client_id = currency, partner_id, uuid4()
        self.account = PartnerAccount.open(
            partner_id=partner_id, name="Acme", currency=currency, time_zone="UTC", now=START
        )
        self.wallet = BonusWallet.open(partner_id, currency, START)
        self.invoices: list[Invoice] = []
        self.entries: list[Entry] = []
        self.seen: set[type[Any]] = set()

    def money(self, minor: int) -> Money:
        return Money(minor, self.currency)

    def post(self) -> None:
        """Post every pending event; each must balance on its own, per currency."""
        for aggregate in (self.account, self.wallet, *self.invoices):
            for event in aggregate.collect_events():
                entries = entries_for(event)
                assert imbalance(entries) == {}, type(event).__qualname__
                self.entries.extend(entries)
                self.seen.add(type(event))

    def balance(self, kind: AccountKind, owner: UUID | None = None) -> int:
        return balance(self.entries, LedgerAccount(kind, owner))

    def issue(self, rng: Random, source: PaymentSource) -> None:
        """Product and lead lines, maybe a discount, to the partner or to its client."""
        products = [rng.randint(1, 10**6) for _ in range(rng.randint(1, 3))]
        leads = [rng.randint(1, 10**5) for _ in range(rng.randint(0, 2))]
        lines = [
            InvoiceLine(InvoiceLineKind.PRODUCT, self.money(m), description="p") for m in products
        ]
        lines += [InvoiceLine(InvoiceLineKind.LEAD, self.money(m), description="l") for m in leads]
        discount = rng.randint(0, sum(products) - 1)
        if discount:
            lines.append(
                InvoiceLine(InvoiceLineKind.DISCOUNT, self.money(-discount), description="d")
            )
        payer = rng.choice(list(Payer))
        self.invoices.append(issue(lines, payer, self.partner_id, self.client_id))

    def pay(self, rng: Random, source: PaymentSource) -> None:
        """Pay part or all of an open invoice; a client's payment earns cashback (R-C4)."""
        open_invoices = [i for i in self.invoices if i.status is InvoiceStatus.OPEN]
        if not open_invoices:
            return self.issue(rng, source)
        invoice = rng.choice(open_invoices)
        if invoice.payer is Payer.CLIENT and source in INTERNAL:
            source = PaymentSource.CARD  # the balance and the bonuses are the partner's
        fee_line = invoice.card_charge(POLICY)[1] if source is PaymentSource.CARD else None
        most = invoice.outstanding + (fee_line.amount if fee_line else self.money(0))
        in_full = rng.random() < 0.5
        amount = self.money(most.amount_minor if in_full else rng.randint(1, most.amount_minor))
        if source is PaymentSource.COMPANY_BALANCE:
            if self.account.balance < amount:
                self.account.top_up(uuid4(), amount, PaymentSource.CARD, START)
                self.post()
            self.account.spend_balance(uuid4(), amount, invoice.id, START)
        if source is PaymentSource.BONUS:
            if self.wallet.balance.is_positive():  # spend what it holds, up to the amount
                amount = min(amount, self.wallet.balance)
            else:
                grant(self.wallet, amount, CreditReason.PROMOTION)
                self.post()
            self.wallet.spend(uuid4(), amount, invoice.id, TODAY, START)
        payment_id = pay(invoice, source, amount, fee_line)
        cashback = cashback_for(amount, POLICY)
        if invoice.payer is Payer.CLIENT and cashback.is_positive():  # R-C4
            grant(self.wallet, cashback, CreditReason.CASHBACK, payment_id)
        return None

    def refund(self, rng: Random, source: PaymentSource) -> None:
        """Refund part of a payment (from `source` if any): to the balance, or with cashback."""
        refundable = [
            (invoice, UUID(key), payment)
            for invoice in self.invoices
            for key, payment in invoice.payments.items()
            if payment.source.is_refundable and payment.refundable.is_positive()
        ]
        if not refundable:
            return self.pay(rng, source)
        from_source = [candidate for candidate in refundable if candidate[2].source is source]
        invoice, payment_id, payment = rng.choice(from_source or refundable)
        amount = self.money(rng.randint(1, payment.refundable.amount_minor))
        refund(invoice, payment_id, amount)
        if payment.source is PaymentSource.COMPANY_BALANCE:
            self.account.restore_balance(uuid4(), amount, invoice.id, START)
        due = cashback_for(amount, POLICY)
        self.wallet.claw_back(
            clawback_id=uuid4(), payment_id=payment_id, due=due, on=TODAY, now=START
        )
        return None

    def correct(self, rng: Random, source: PaymentSource) -> None:
        """A credit note on an invoice not void, or a void of one with no payment (R-X6)."""
        creditable = [
            i
            for i in self.invoices
            if i.status is not InvoiceStatus.VOID and (i.total - i.credited).is_positive()
        ]
        if not creditable:
            return self.issue(rng, source)
        invoice = rng.choice(creditable)
        if not invoice.payments and invoice.credited.is_zero() and rng.random() < 0.5:
            invoice.void("mistake", TODAY, START)
        else:
            creditable_minor = (invoice.total - invoice.credited).amount_minor
            credit_note(invoice, self.money(rng.randint(1, creditable_minor)))
        return None

    def check(self) -> None:
        """Internal transfers net to zero, and each owned balance is what its aggregate says."""
        assert self.balance(AccountKind.INTERNAL_TRANSFERS) == 0
        prepaid = self.balance(AccountKind.PREPAID_BALANCE, self.partner_id)
        assert -prepaid == self.account.balance.amount_minor
        bonuses = self.balance(AccountKind.BONUS_LIABILITY, self.partner_id)
        assert -bonuses == self.wallet.balance.amount_minor
        for payer_id in (self.partner_id, self.client_id):
            owed = [i.outstanding.amount_minor for i in self.invoices if i.payer_id == payer_id]
            assert self.balance(AccountKind.RECEIVABLE, payer_id) == sum(owed)


INTERNAL = (PaymentSource.COMPANY_BALANCE, PaymentSource.BONUS)
OPERATIONS = ("issue", "pay", "refund", "correct")
SOURCES = (*PaymentSource, *INTERNAL, *INTERNAL)
"""Every source, and the internal ones (whose legs meet in internal transfers) thrice as often."""


Operation = tuple[int, str, PaymentSource]
"""Which books, which operation, and the source a payment comes from."""


def run(books: list[Books], rng: Random, operations: list[Operation]) -> None:
    """Each operation is one command (with its balance or wallet leg); check after each."""
    for index, operation, source in operations:
        getattr(books[index], operation)(rng, source)
        books[index].post()
        books[index].check()
        every_entry = [entry for book in books for entry in book.entries]
        assert imbalance(every_entry) == {}  # the trial balance, per currency


@settings(max_examples=60, deadline=None)
@given(
    rng=st.randoms(use_true_random=False),
    operations=st.lists(
        st.tuples(st.integers(0, 1), st.sampled_from(OPERATIONS), st.sampled_from(SOURCES)),
        min_size=5,
        max_size=40,
    ),
)
def test_r_x2_random_operations_keep_every_event_and_the_trial_balance_balanced(
    rng: Random, operations: list[Operation]
) -> None:
    run([Books("USD", uuid4()), Books("JPY", uuid4())], rng, operations)


def test_r_x2_the_random_operations_reach_every_posting_rule() -> None:
    """The property above is only as strong as the events it makes: it makes all of them."""
    books = Books("USD", uuid4())
    script = [(0, op, source) for _ in range(5) for source in PaymentSource for op in OPERATIONS]
    run([books], Random(2026), script)
    assert sorted(c.__qualname__ for c in POSTING_RULES.keys() - books.seen) == []
