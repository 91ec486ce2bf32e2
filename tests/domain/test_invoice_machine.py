"""Invoice state machine: random commands, valid or not, and invariants after every step.

Rules: R-C2, R-H2, R-H5, R-H6, R-X6, R-C7 (the model predicts which commands are accepted), and
R-X2: every event's entries balance and the payer's receivable is what the invoice says it is
owed. Refused commands trigger nothing; replaying the events rebuilds the same invoice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money, total
from domain.payment_methods import PaymentSource
from domain.postings import AccountKind, LedgerAccount, entries_for, imbalance
from domain.values import Payer
from tests.domain.gwt import NOW, TODAY, attempt, replayed
from tests.domain.invoicing import (
    BALANCE,
    BANK,
    CARD,
    CARD_NUMBER,
    DEBIT,
    DUE,
    GATEWAY,
    POLICY,
    credit,
    document,
    fail,
    issue,
    pay,
    refund,
    usd,
)

OPEN, SETTLED, VOID = InvoiceStatus.OPEN, InvoiceStatus.SETTLED, InvoiceStatus.VOID
FRACTIONS = st.sampled_from([-1, 0, 1, 3, 5, 10, 11])
"""Tenths of what is allowed: -1 and 0 are not positive, 11 is too much, 10 is all of it."""
FLAWS = st.sampled_from([None] * 5 + ["foreign", "card number", "fee off card", "same id"])
DOCUMENTED = (CARD, DEBIT, BANK, BALANCE)


class InvoiceMachine(RuleBasedStateMachine):
    """Random commands, valid or not, on one invoice; the invariants hold after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[Any] = []
        self.failed = self.overdue = self.documented = self.closed = False

    @initialize(
        amounts=st.lists(st.integers(1, 50_000), min_size=1, max_size=3),
        expected=st.none() | st.sampled_from(PaymentSource),
        payer=st.sampled_from(Payer),
        payments=st.lists(st.tuples(st.sampled_from(PaymentSource), FRACTIONS), max_size=3),
        refunds=st.lists(st.tuples(st.integers(0, 3), FRACTIONS), max_size=3),
    )
    def issued(
        self,
        amounts: list[int],
        expected: PaymentSource | None,
        payer: Payer,
        payments: list[tuple[PaymentSource, int]],
        refunds: list[tuple[int, int]],
    ) -> None:
        self.invoice = issue(*amounts, expected=expected, payer=payer)
        self.history.extend(self.invoice.collect_events())
        # Swarm testing may turn paying or refunding off: pay and refund some first.
        for source, tenths in payments:
            self.record_payment(source, tenths, with_fee=True, flaw=None)
        for pick, tenths in refunds:
            self.refund_a_payment(pick, tenths)

    def attempt(self, accepted: bool, command: Callable[[], object]) -> None:
        self.history.extend(attempt(self.invoice, accepted, command))

    @property
    def is_open(self) -> bool:
        return self.invoice.status is OPEN

    @precondition(lambda self: self.is_open)  # Paying a closed invoice: the rule below.
    @rule(
        source=st.sampled_from(PaymentSource), tenths=FRACTIONS, with_fee=st.booleans(), flaw=FLAWS
    )
    def record_payment(
        self, source: PaymentSource, tenths: int, with_fee: bool, flaw: str | None
    ) -> None:
        if flaw == "card number":  # Refused after the fee line was decided, before it is added.
            source, with_fee = CARD, True
        charge, fee_line = self.invoice.card_charge(POLICY)
        if not ((with_fee and source is CARD) or flaw == "fee off card"):
            charge, fee_line = self.invoice.outstanding, None
        amount = Money(charge.amount_minor * tenths // 10, "EUR" if flaw == "foreign" else "USD")
        known = [UUID(key) for key in self.invoice.payments]
        payment_id = known[0] if known and flaw == "same id" else uuid4()
        accepted = (
            self.is_open
            and 0 < amount.amount_minor <= charge.amount_minor
            and flaw not in ("foreign", "card number")
            and payment_id not in known
            and (fee_line is None or source is CARD)
        )
        reference = CARD_NUMBER if flaw == "card number" else "ch_1"
        self.attempt(
            accepted, lambda: pay(self.invoice, source, amount, fee_line, reference, payment_id)
        )
        # Failed means the last charge was declined (R-H2): a payment since then clears it.
        self.failed &= not accepted

    @precondition(lambda self: not self.is_open)
    @rule(source=st.sampled_from(PaymentSource))
    def pay_a_closed_invoice(self, source: PaymentSource) -> None:
        self.attempt(False, lambda: pay(self.invoice, source, 1))

    @rule(source=st.sampled_from(PaymentSource))
    def record_failure(self, source: PaymentSource) -> None:
        accepted = self.is_open and source in GATEWAY
        self.attempt(accepted, lambda: fail(self.invoice, source))
        self.failed |= accepted

    @rule(days_after_due=st.integers(-1, 2))
    def mark_overdue(self, days_after_due: int) -> None:
        offline = self.invoice.expected_source not in GATEWAY
        due = self.is_open and not self.overdue and days_after_due > 0 and offline
        assert self.invoice.mark_overdue(DUE + timedelta(days=days_after_due), NOW) is due
        self.history.extend(self.invoice.collect_events())
        self.overdue |= due

    @rule()
    def mark_paid(self) -> None:
        accepted = self.is_open and (self.overdue or self.failed)
        self.attempt(accepted, lambda: self.invoice.mark_paid(uuid4(), TODAY, NOW))

    @rule(pick=st.integers(0, 3), tenths=FRACTIONS)
    def refund_a_payment(self, pick: int, tenths: int) -> None:
        payments = [(UUID(key), payment) for key, payment in self.invoice.payments.items()]
        if not payments:
            self.attempt(False, lambda: refund(self.invoice, uuid4(), 1))
            return
        payment_id, payment = payments[pick % len(payments)]
        left = payment.refundable.amount_minor
        minor = left * tenths // 10
        accepted = payment.source in DOCUMENTED and 0 < minor <= left
        self.attempt(accepted, lambda: refund(self.invoice, payment_id, minor))

    @rule(tenths=FRACTIONS)
    def issue_credit_note(self, tenths: int) -> None:
        creditable = (self.invoice.total - self.invoice.credited).amount_minor
        minor = creditable * tenths // 10
        accepted = self.invoice.status is not VOID and 0 < minor <= creditable
        self.attempt(accepted, lambda: credit(self.invoice, minor))

    @rule()
    def void(self) -> None:
        accepted = self.is_open and not self.invoice.payments and self.invoice.credited.is_zero()
        self.attempt(accepted, lambda: self.invoice.void("mistake", TODAY, NOW))

    @rule()
    def request_closing_document(self) -> None:
        net = sum(
            max(0, (payment.amount - payment.fee - payment.refunded).amount_minor)
            for payment in self.invoice.payments.values()
            if payment.source in DOCUMENTED
        )
        settled = self.invoice.status is SETTLED
        accepted = settled and not self.documented and net > 0
        self.attempt(accepted, lambda: document(self.invoice))
        if accepted:
            assert self.history[-1].amount == usd(net)
        self.documented |= accepted

    def summed(self, kind: type[Any], key: str | None = None) -> Money:
        """The amounts of the events of one kind so far (of one payment, given its key)."""
        events = [event for event in self.history if isinstance(event, kind)]
        mine = [e.amount for e in events if key is None or str(e.payment_id) == key]
        return total(mine, "USD")

    @invariant()
    def the_sums_hold(self) -> None:
        invoice = self.invoice
        assert invoice.total == total([line.amount for line in invoice.lines], "USD")
        for key, payment in invoice.payments.items():
            assert payment.refunded == self.summed(Invoice.PaymentRefunded, key) <= payment.amount
        paid, credited = self.summed(Invoice.PaymentReceived), self.summed(Invoice.CreditNoteIssued)
        owed = usd(0) if invoice.status is VOID else invoice.total - credited - paid
        assert (invoice.paid, invoice.credited, invoice.outstanding) == (paid, credited, owed)

    @invariant()
    def settled_exactly_when_nothing_is_owed(self) -> None:
        status = self.invoice.status
        if status is not VOID:
            assert (status is OPEN) == self.invoice.outstanding.is_positive()
        settled = [event for event in self.history if isinstance(event, Invoice.Settled)]
        assert len(settled) == (status is SETTLED)
        assert not (self.closed and status is OPEN)
        self.closed = status is not OPEN

    @invariant()
    def the_ledger_agrees(self) -> None:
        receivable = LedgerAccount(AccountKind.RECEIVABLE, self.invoice.payer_id)
        entries = [entry for event in self.history for entry in entries_for(event)]
        owed = sum(entry.signed_minor for entry in entries if entry.account == receivable)
        assert owed == self.invoice.outstanding.amount_minor
        for event in self.history:
            assert imbalance(entries_for(event)) == {}

    @invariant()
    def replay_rebuilds_the_same_invoice(self) -> None:
        assert replayed(self.history) == self.invoice


InvoiceMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
test_invoice_machine = InvoiceMachine.TestCase
