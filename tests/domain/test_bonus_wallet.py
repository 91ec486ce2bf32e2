"""BonusWallet: given events, when a command, then events or a refusal.

Rules: R-C4 (cashback is credited per client payment and tracked per payment, so a refund
claws back at most what that payment earned, never below zero), R-C5 (bonuses are the
partner's, spendable on any invoice, never more than the balance), and, in the state machine,
R-X2 (every event balances; the partner's bonus liability is its balance).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.bonus_wallet import VENDOR_CREDIT_MAX_MAJOR, BonusWallet, CreditReason
from domain.money import Money
from domain.postings import AccountKind, LedgerAccount, entries_for, imbalance
from domain.values import bonus_wallet_id
from tests.domain.gwt import NOW, TODAY, attempt, given, replayed, then_events, then_refused

PARTNER = UUID(int=1)
CLIENTS = (UUID(int=2), UUID(int=3))
PAYMENTS = (UUID(int=10), UUID(int=11), UUID(int=12))
INVOICE = UUID(int=20)
CASHBACK, PROMOTION, GOODWILL = CreditReason.CASHBACK, CreditReason.PROMOTION, CreditReason.GOODWILL
EUR_MISMATCH = ("currency_mismatch", {"expected": "USD", "got": "EUR"})


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def wallet_with(*cashback: tuple[UUID, int], spent_minor: int = 0) -> BonusWallet:
    """Given: an opened wallet, cashback earned per payment, bonuses spent."""
    wallet = BonusWallet.open(PARTNER, "USD", NOW)
    for payment_id, minor in cashback:
        earn(wallet, payment_id, minor)
    if spent_minor:
        wallet.spend(uuid4(), usd(spent_minor), INVOICE, TODAY, NOW)
    return given(wallet)


def earn(
    wallet: BonusWallet,
    payment_id: UUID | None,
    minor: int,
    client: UUID = CLIENTS[0],
    reason: CreditReason = CASHBACK,
    currency: str = "USD",
) -> None:
    wallet.credit(
        credit_id=uuid4(),
        amount=Money(minor, currency),
        reason=reason,
        on=TODAY,
        now=NOW,
        payment_id=payment_id,
        client_id=client,
    )


def claw(wallet: BonusWallet, payment_id: UUID, due: Money) -> Money:
    return wallet.claw_back(clawback_id=uuid4(), payment_id=payment_id, due=due, on=TODAY, now=NOW)


def test_r_c5_the_partner_has_one_wallet_derived_from_its_id() -> None:
    wallet = BonusWallet.open(PARTNER, "PLN", NOW)
    then_events(wallet, (BonusWallet.Opened, {"partner_id": PARTNER, "currency": "PLN"}))
    assert (wallet.id, wallet.balance) == (bonus_wallet_id(PARTNER), Money(0, "PLN"))


def test_r_c4_cashback_is_credited_and_tracked_per_payment() -> None:
    wallet = wallet_with((PAYMENTS[0], 1_000))
    earn(wallet, PAYMENTS[1], 250, client=CLIENTS[1])
    expected = {"amount": usd(250), "reason": CASHBACK, "payment_id": PAYMENTS[1]}
    then_events(wallet, (BonusWallet.Credited, {**expected, "client_id": CLIENTS[1]}))
    earn(wallet, PAYMENTS[1], 50)
    then_events(wallet, (BonusWallet.Credited, {"amount": usd(50), "partner_id": PARTNER}))
    assert (wallet.balance, wallet.earned) == (usd(1_300), usd(1_300))
    earned = [wallet.cashback_earned_on(payment) for payment in PAYMENTS]
    assert earned == [usd(1_000), usd(300), usd(0)]


def test_r_c4_cashback_names_the_payment_that_earned_it() -> None:
    wallet = wallet_with()
    with then_refused(wallet, "invalid_value", {"field": "payment_id"}):
        earn(wallet, None, 100)
    earn(wallet, None, 100, reason=PROMOTION)
    then_events(wallet, (BonusWallet.Credited, {"reason": PROMOTION, "payment_id": None}))


def grant(wallet: BonusWallet, amount: Money, reason: CreditReason, note: str) -> None:
    wallet.grant(credit_id=uuid4(), amount=amount, reason=reason, note=note, on=TODAY, now=NOW)


@pytest.mark.parametrize("reason", [PROMOTION, GOODWILL])
def test_r_c5_the_vendor_grants_bonuses_saying_why(reason: CreditReason) -> None:
    wallet = wallet_with()
    grant(wallet, usd(2_500), reason, "  Spring   launch ")
    then_events(
        wallet,
        (
            BonusWallet.Credited,
            {"amount": usd(2_500), "reason": reason, "note": "Spring launch", "client_id": None},
        ),
    )
    assert (wallet.balance, wallet.earned) == (usd(2_500), usd(2_500))


MOST_USD = VENDOR_CREDIT_MAX_MAJOR * 100
TOO_LARGE = ("bonus_credit_too_large", {"field": "amount", "limit_minor": MOST_USD})


@pytest.mark.parametrize(
    ("amount", "reason", "note", "refusal"),
    [
        (usd(0), PROMOTION, "x", ("amount_not_positive", {"field": "amount"})),
        (usd(-5), GOODWILL, "x", ("amount_not_positive", {"field": "amount"})),
        (Money(100, "EUR"), PROMOTION, "x", EUR_MISMATCH),
        (usd(MOST_USD + 1), PROMOTION, "x", TOO_LARGE),
        (usd(100), CASHBACK, "x", ("invalid_value", {"field": "reason"})),
        (usd(100), GOODWILL, "   ", ("invalid_value", {"field": "note"})),
    ],
)
def test_r_c5_a_vendor_credit_is_refused_unless_positive_in_the_wallets_currency_and_bounded(
    amount: Money, reason: CreditReason, note: str, refusal: tuple[str, dict[str, Any]]
) -> None:
    wallet = wallet_with()
    with then_refused(wallet, *refusal):
        grant(wallet, amount, reason, note)


def test_r_c5_the_bound_is_in_major_units_of_the_wallets_currency() -> None:
    yen = given(BonusWallet.open(PARTNER, "JPY", NOW))
    grant(yen, Money(VENDOR_CREDIT_MAX_MAJOR, "JPY"), GOODWILL, "Outage in March")
    then_events(yen, (BonusWallet.Credited, {"amount": Money(VENDOR_CREDIT_MAX_MAJOR, "JPY")}))
    wallet = wallet_with()
    grant(wallet, usd(MOST_USD), PROMOTION, "Largest allowed")
    then_events(wallet, (BonusWallet.Credited, {"amount": usd(MOST_USD)}))


@pytest.mark.parametrize(
    ("minor", "currency", "refusal"),
    [(0, "USD", ("amount_not_positive", {"field": "amount"})), (100, "EUR", EUR_MISMATCH)],
)
def test_r_c4_a_credit_is_a_positive_amount_in_the_wallet_currency(
    minor: int, currency: str, refusal: tuple[str, dict[str, str]]
) -> None:
    wallet = wallet_with()
    with then_refused(wallet, *refusal):
        earn(wallet, PAYMENTS[0], minor, currency=currency)


def test_r_c5_bonuses_earned_on_any_client_pay_any_invoice() -> None:
    wallet = wallet_with((PAYMENTS[0], 600), (PAYMENTS[1], 400))
    wallet.spend(UUID(int=30), usd(1_000), INVOICE, TODAY, NOW)
    expected = {"spend_id": UUID(int=30), "amount": usd(1_000), "invoice_id": INVOICE}
    then_events(wallet, (BonusWallet.Spent, expected))
    assert (wallet.balance, wallet.spent) == (usd(0), usd(1_000))


@pytest.mark.parametrize(
    ("amount", "refusal"),
    [
        (usd(1_001), ("insufficient_bonus", {"available": 1_000, "needed": 1_001})),
        (usd(-1), ("amount_not_positive", {"field": "amount"})),
        (Money(1, "EUR"), EUR_MISMATCH),
    ],
)
def test_r_c5_never_more_than_the_balance_is_spent(
    amount: Money, refusal: tuple[str, dict[str, object]]
) -> None:
    wallet = wallet_with((PAYMENTS[0], 1_000))
    with then_refused(wallet, *refusal):
        wallet.spend(uuid4(), amount, INVOICE, TODAY, NOW)


def test_r_c4_a_clawback_is_capped_at_what_the_refunded_payment_earned() -> None:
    wallet = wallet_with((PAYMENTS[0], 300), (PAYMENTS[1], 700))
    assert claw(wallet, PAYMENTS[0], usd(500)) == usd(300)
    expected = {"payment_id": PAYMENTS[0], "amount": usd(300), "shortfall": usd(0)}
    then_events(wallet, (BonusWallet.ClawedBack, expected))
    assert (wallet.balance, wallet.clawed_back) == (usd(700), usd(300))
    assert wallet.cashback_earned_on(PAYMENTS[0]) == usd(0)


def test_r_c4_a_clawback_never_takes_the_wallet_below_zero_and_records_the_shortfall() -> None:
    wallet = wallet_with((PAYMENTS[0], 1_000), spent_minor=800)
    assert claw(wallet, PAYMENTS[0], usd(600)) == usd(200)
    then_events(wallet, (BonusWallet.ClawedBack, {"amount": usd(200), "shortfall": usd(400)}))
    assert (wallet.balance, wallet.clawed_back) == (usd(0), usd(200))
    assert wallet.clawback_shortfall == usd(400)
    assert claw(wallet, PAYMENTS[0], usd(1_000)) == usd(0)
    then_events(wallet, (BonusWallet.ClawedBack, {"amount": usd(0), "shortfall": usd(400)}))
    assert wallet.cashback_earned_on(PAYMENTS[0]) == usd(0)


@pytest.mark.parametrize(
    ("payment_id", "due"), [(PAYMENTS[2], usd(100)), (PAYMENTS[0], usd(0)), (PAYMENTS[1], usd(5))]
)
def test_r_c4_no_clawback_event_when_nothing_is_due(payment_id: UUID, due: Money) -> None:
    wallet = wallet_with((PAYMENTS[0], 300), (PAYMENTS[1], 100))
    claw(wallet, PAYMENTS[1], usd(100))
    before = copy.deepcopy(given(wallet))
    assert claw(wallet, payment_id, due) == usd(0)
    then_events(wallet)
    assert wallet == before


def test_r_c4_a_clawback_in_another_currency_is_refused() -> None:
    wallet = wallet_with((PAYMENTS[0], 300))
    with then_refused(wallet, *EUR_MISMATCH):
        claw(wallet, PAYMENTS[0], Money(1, "EUR"))


# --- the state machine ----------------------------------------------------------------------

AMOUNTS = st.integers(min_value=-1, max_value=2_000)
CURRENCIES = st.sampled_from(["USD", "USD", "USD", "EUR"])


class BonusWalletMachine(RuleBasedStateMachine):
    """Random credits, spends and clawbacks, valid or not; the invariants hold after each."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[Any] = []
        self.left = dict.fromkeys(PAYMENTS, 0)
        """The model: cashback per payment not yet clawed back (taken or short)."""

    @initialize()
    def opened(self) -> None:
        self.wallet = BonusWallet.open(PARTNER, "USD", NOW)
        self.history.extend(self.wallet.collect_events())

    def attempt(self, accepted: bool, command: Callable[[], object]) -> None:
        self.history.extend(attempt(self.wallet, accepted, command))

    @rule(
        reason=st.sampled_from(CreditReason),
        payment=st.none() | st.sampled_from(PAYMENTS),
        minor=AMOUNTS,
        currency=CURRENCIES,
    )
    def credit(self, reason: CreditReason, payment: UUID | None, minor: int, currency: str) -> None:
        named = reason is not CASHBACK or payment is not None
        accepted = currency == "USD" and minor > 0 and named
        self.attempt(
            accepted, lambda: earn(self.wallet, payment, minor, reason=reason, currency=currency)
        )
        if accepted and payment is not None:
            self.left[payment] += minor

    @rule(tenths=st.integers(-1, 11), currency=CURRENCIES)
    def spend(self, tenths: int, currency: str) -> None:
        balance = self.wallet.balance.amount_minor
        minor = balance * tenths // 10 if balance else tenths
        accepted = currency == "USD" and 0 < minor <= balance
        amount = Money(minor, currency)
        self.attempt(accepted, lambda: self.wallet.spend(uuid4(), amount, INVOICE, TODAY, NOW))

    @rule(payment=st.sampled_from(PAYMENTS), due_minor=AMOUNTS)
    def claw_back(self, payment: UUID, due_minor: int) -> None:
        owed = max(0, min(due_minor, self.left[payment]))
        taken = min(owed, self.wallet.balance.amount_minor)
        assert claw(self.wallet, payment, usd(due_minor)) == usd(taken)
        events: list[Any] = list(self.wallet.collect_events())
        expected = [(usd(taken), usd(owed - taken))] if owed else []
        assert [(event.amount, event.shortfall) for event in events] == expected
        self.history.extend(events)
        self.left[payment] -= owed

    @invariant()
    def the_balance_is_what_was_earned_less_spent_and_taken(self) -> None:
        def summed(kind: type[Any]) -> Money:
            return sum((e.amount for e in self.history if isinstance(e, kind)), usd(0))

        wallet = self.wallet
        earned, spent = summed(BonusWallet.Credited), summed(BonusWallet.Spent)
        taken = summed(BonusWallet.ClawedBack)
        assert wallet.balance >= usd(0)
        assert wallet.balance == earned - spent - taken
        assert (wallet.earned, wallet.spent, wallet.clawed_back) == (earned, spent, taken)
        assert {p: wallet.cashback_earned_on(p).amount_minor for p in PAYMENTS} == self.left

    @invariant()
    def the_ledger_agrees(self) -> None:
        liability = LedgerAccount(AccountKind.BONUS_LIABILITY, PARTNER)
        entries = [entry for event in self.history for entry in entries_for(event)]
        owed = -sum(entry.signed_minor for entry in entries if entry.account == liability)
        assert owed == self.wallet.balance.amount_minor
        for event in self.history:
            assert imbalance(entries_for(event)) == {}

    @invariant()
    def replay_rebuilds_the_same_wallet(self) -> None:
        assert replayed(self.history) == self.wallet


BonusWalletMachine.TestCase.settings = settings(
    max_examples=50, stateful_step_count=30, deadline=None
)
test_bonus_wallet_machine = BonusWalletMachine.TestCase
