"""The bounds on amounts (R-X1, domain/money.py): at each bound the largest amount or sum is
accepted, one minor unit more is refused with `amount_too_large`, triggering nothing.

Each aggregate keeps its running sums (a company balance, a wallet, an invoice's total, a
line's unbilled leads) within a bound the read models' columns hold, so no accepted command
can record a figure a projection cannot apply (issue 11, item 1)."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from domain.bonus_wallet import BonusWallet, CreditReason
from domain.errors import AmountTooLarge, Refusal
from domain.money import (
    AMOUNT_MAX_MINOR,
    BALANCE_MAX_MINOR,
    BUDGET_MAX_MINOR,
    INVOICE_TOTAL_MAX_MINOR,
    WALLET_MAX_MINOR,
)
from domain.payment_methods import PaymentSource
from domain.pricing import RATE_MAX
from domain.values import InvoiceLine, InvoiceLineKind
from tests.domain.accounts import SIGNUP, account, usd
from tests.domain.invoicing import CARD, PARTNER, issue, pay, product
from tests.domain.lines import LEADS, NOW, active
from tests.domain.steps import refused, rejected

BANK = PaymentSource.BANK_TRANSFER


def too_large(limit_minor: int, field: str = "amount") -> tuple[str, dict[str, object]]:
    return "amount_too_large", {"field": field, "limit_minor": limit_minor}


def test_r_x1_amount_too_large_is_a_422_kind_of_refusal() -> None:
    assert (AmountTooLarge.code, AmountTooLarge.refusal) == ("amount_too_large", Refusal.INVALID)


def test_r_x1_the_bounds_keep_every_figure_within_a_bigint_with_room_for_many() -> None:
    bigint_max = 2**63 - 1
    assert max(BALANCE_MAX_MINOR, WALLET_MAX_MINOR, BUDGET_MAX_MINOR) <= AMOUNT_MAX_MINOR
    # An invoice's total plus a card fee below 100 % is still one amount (R-O7).
    assert RATE_MAX == 1
    assert 2 * INVOICE_TOTAL_MAX_MINOR <= AMOUNT_MAX_MINOR
    # A budget period spends at most the budget plus one lead.
    assert bigint_max >= BUDGET_MAX_MINOR + AMOUNT_MAX_MINOR
    assert bigint_max // AMOUNT_MAX_MINOR >= 9_000


# --- the company balance (R-C2) --------------------------------------------------------------


def test_r_x1_a_top_up_filling_the_balance_to_its_bound_is_accepted_and_one_more_is_refused() -> (
    None
):
    partner = account(lambda a: a.top_up(uuid4(), usd(BALANCE_MAX_MINOR - 1), BANK, SIGNUP))

    partner.top_up(uuid4(), usd(1), BANK, SIGNUP)
    assert partner.balance == usd(BALANCE_MAX_MINOR)
    partner.collect_events()

    refusal = refused(partner, lambda: partner.top_up(uuid4(), usd(1), BANK, SIGNUP))
    assert refusal == too_large(BALANCE_MAX_MINOR)


def test_r_x1_one_top_up_above_the_amount_bound_is_refused() -> None:
    partner = account()
    partner.top_up(uuid4(), usd(AMOUNT_MAX_MINOR), BANK, SIGNUP)
    partner = account()

    refusal = refused(
        partner, lambda: partner.top_up(uuid4(), usd(AMOUNT_MAX_MINOR + 1), BANK, SIGNUP)
    )
    assert refusal == too_large(AMOUNT_MAX_MINOR)


def test_r_x1_announced_top_ups_add_up_to_the_balance_bound_at_most() -> None:
    partner = account(lambda a: a.announce_top_up(uuid4(), usd(BALANCE_MAX_MINOR), "W1", SIGNUP))

    refusal = refused(partner, lambda: partner.announce_top_up(uuid4(), usd(1), "W2", SIGNUP))
    assert refusal == too_large(BALANCE_MAX_MINOR)


def test_r_x1_a_restore_that_would_take_the_balance_above_its_bound_is_refused() -> None:
    partner = account(lambda a: a.top_up(uuid4(), usd(BALANCE_MAX_MINOR), BANK, SIGNUP))

    refusal = refused(partner, lambda: partner.restore_balance(uuid4(), usd(1), uuid4(), SIGNUP))
    assert refusal == too_large(BALANCE_MAX_MINOR)


# --- the monthly budget (R-L3) -----------------------------------------------------------------


def test_r_x1_a_budget_at_its_bound_is_accepted_and_one_more_is_refused() -> None:
    partner = account()
    partner.set_budget(usd(BUDGET_MAX_MINOR), SIGNUP)
    assert partner.budget == usd(BUDGET_MAX_MINOR)
    partner.collect_events()

    refusal = refused(partner, lambda: partner.set_budget(usd(BUDGET_MAX_MINOR + 1), SIGNUP))
    assert refusal == too_large(AMOUNT_MAX_MINOR)


# --- the bonus wallet (R-C5) -------------------------------------------------------------------


def full_wallet(minor: int) -> BonusWallet:
    wallet = BonusWallet.open(PARTNER, "USD", NOW)
    wallet.credit(
        credit_id=uuid4(),
        amount=usd(minor),
        reason=CreditReason.CASHBACK,
        payment_id=uuid4(),
        on=NOW.date(),
        now=NOW,
    )
    wallet.collect_events()
    return wallet


def test_r_x1_a_credit_filling_the_wallet_to_its_bound_is_accepted_and_one_more_is_refused() -> (
    None
):
    wallet = full_wallet(WALLET_MAX_MINOR - 1)
    wallet.grant(
        credit_id=uuid4(),
        amount=usd(1),
        reason=CreditReason.PROMOTION,
        note="Launch",
        on=NOW.date(),
        now=NOW,
    )
    assert wallet.balance == usd(WALLET_MAX_MINOR)
    wallet.collect_events()

    refusal = refused(
        wallet,
        lambda: wallet.grant(
            credit_id=uuid4(),
            amount=usd(1),
            reason=CreditReason.GOODWILL,
            note="Sorry",
            on=NOW.date(),
            now=NOW,
        ),
    )
    assert refusal == too_large(WALLET_MAX_MINOR)


# --- invoices (lines, totals, card fees, refunds, credit notes) -------------------------------


def test_r_x1_an_invoice_of_the_largest_total_is_issued_and_one_more_is_refused() -> None:
    assert issue(INVOICE_TOTAL_MAX_MINOR).total == usd(INVOICE_TOTAL_MAX_MINOR)

    assert rejected(lambda: issue(INVOICE_TOTAL_MAX_MINOR, 1)) == too_large(
        INVOICE_TOTAL_MAX_MINOR, "lines"
    )


def test_r_x1_a_line_above_the_bound_is_refused_even_when_a_discount_brings_the_total_down() -> (
    None
):
    discount = InvoiceLine(
        InvoiceLineKind.DISCOUNT, usd(-INVOICE_TOTAL_MAX_MINOR), description="Discount"
    )

    refusal = rejected(lambda: issue(product(INVOICE_TOTAL_MAX_MINOR + 1), discount))
    assert refusal == too_large(INVOICE_TOTAL_MAX_MINOR, "lines")


def test_r_x1_the_largest_invoice_paid_by_card_with_its_fee_stays_one_amount() -> None:
    invoice = issue(INVOICE_TOTAL_MAX_MINOR)

    pay(invoice, CARD)

    assert invoice.total.amount_minor <= AMOUNT_MAX_MINOR
    assert invoice.outstanding == usd(0)


def test_r_x1_a_card_fee_taking_the_total_above_one_amount_is_refused() -> None:
    invoice = issue(INVOICE_TOTAL_MAX_MINOR)
    invoice.collect_events()
    fee_minor = AMOUNT_MAX_MINOR - INVOICE_TOTAL_MAX_MINOR + 1
    fee = InvoiceLine(InvoiceLineKind.CARD_FEE, usd(fee_minor), description="Card fee")

    refusal = refused(invoice, lambda: pay(invoice, CARD, AMOUNT_MAX_MINOR + 1, fee_line=fee))
    assert refusal == too_large(AMOUNT_MAX_MINOR)


@pytest.mark.parametrize("command", ["refund", "credit_note"])
def test_r_x1_a_refund_or_credit_note_above_the_amount_bound_is_refused(command: str) -> None:
    invoice = issue(1_000)
    payment_id = pay(invoice, PaymentSource.CARD, 1_000, fee_line=None)
    invoice.collect_events()
    amount = usd(AMOUNT_MAX_MINOR + 1)

    def attempt() -> None:
        if command == "refund":
            invoice.refund(
                refund_id=uuid4(),
                payment_id=payment_id,
                amount=amount,
                reason="x",
                on=NOW.date(),
                now=NOW,
            )
        else:
            invoice.issue_credit_note(
                credit_note_id=uuid4(),
                number="CN-1",
                amount=amount,
                reason="x",
                on=NOW.date(),
                now=NOW,
            )

    assert refused(invoice, attempt) == too_large(AMOUNT_MAX_MINOR)


# --- leads (R-L1, R-L2) -----------------------------------------------------------------------


def test_r_x1_unbilled_leads_add_up_to_one_invoice_s_bound_at_most() -> None:
    line = active(LEADS)
    line.record_lead(uuid4(), usd(INVOICE_TOTAL_MAX_MINOR - 1), date(2026, 2, 2), NOW)
    line.record_lead(uuid4(), usd(1), date(2026, 2, 2), NOW)
    line.collect_events()

    refusal = refused(line, lambda: line.record_lead(uuid4(), usd(1), date(2026, 2, 2), NOW))
    assert refusal == too_large(INVOICE_TOTAL_MAX_MINOR, "price")
