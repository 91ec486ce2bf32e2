"""PartnerAccount budget and grace: a monthly budget reset on the signup day pauses the account
when reached (R-L3); a missed payment gives a week of grace, then pauses the account until it is
settled, and the account resumes by itself (R-L4). Given / When / Then, as in tests/domain.
"""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from domain.calendar import BillingPeriod
from domain.money import Money
from domain.partner_account import AccountStatus, PauseReason
from tests.domain.accounts import SIGNUP, A, account, at, budget, charge, missed, usd
from tests.domain.steps import refused, then

# --- R-L3: the monthly budget --------------------------------------------------------------


def test_r_l3_a_budget_runs_from_the_signup_day_to_the_next() -> None:
    partner = account()
    partner.set_budget(usd(10_000), at(20))
    [event] = then(partner, A.BudgetSet)
    assert (event.amount, event.period) == (
        usd(10_000),
        BillingPeriod(date(2026, 1, 15), date(2026, 2, 15)),
    )


def test_r_l3_a_lead_within_the_budget_is_charged_to_it() -> None:
    partner = account(budget(10_000))
    assert partner.charge_budget(lead := uuid4(), usd(9_999), SIGNUP) is False
    [spent] = then(partner, A.BudgetSpent)
    assert (spent.lead_id, spent.amount, partner.status) == (lead, usd(9_999), AccountStatus.ACTIVE)


def test_r_l3_the_account_pauses_itself_when_the_budget_is_reached() -> None:
    partner = account(budget(10_000), charge(6_000))
    assert partner.charge_budget(uuid4(), usd(4_000), SIGNUP) is True
    _, reached, paused = then(partner, A.BudgetSpent, A.BudgetReached, A.Paused)
    assert (reached.spent, paused.reason) == (usd(10_000), PauseReason.BUDGET_REACHED)
    assert partner.status is AccountStatus.PAUSED
    assert refused(partner, lambda: charge(100)(partner)) == (
        "account_paused",
        {"reasons": ["budget_reached"]},
    )


def test_r_l3_a_lead_on_the_signup_day_starts_the_new_period_before_the_clock_does() -> None:
    partner = account(budget(10_000), charge(10_000))
    assert partner.charge_budget(uuid4(), usd(2_500), at(31)) is False
    started, resumed, spent = then(partner, A.BudgetPeriodStarted, A.Resumed, A.BudgetSpent)
    assert started.period == BillingPeriod(date(2026, 2, 15), date(2026, 3, 15))
    assert (resumed.reason, spent.amount) == (PauseReason.BUDGET_REACHED, usd(2_500))
    assert (partner.status, partner.budget_spent) == (AccountStatus.ACTIVE, usd(2_500))


def test_r_l3_a_new_budget_period_on_the_signup_day_resumes_the_account() -> None:
    partner = account(budget(10_000), charge(10_000))
    assert partner.start_budget_period(at(30, hours=-6)) is False  # 14 Feb in New York
    then(partner)
    assert partner.start_budget_period(at(31)) is True
    started, resumed = then(partner, A.BudgetPeriodStarted, A.Resumed)
    assert started.period == BillingPeriod(date(2026, 2, 15), date(2026, 3, 15))
    assert (resumed.reason, partner.status, partner.budget_spent) == (
        PauseReason.BUDGET_REACHED,
        AccountStatus.ACTIVE,
        usd(0),
    )


def test_r_l3_raising_or_removing_the_budget_resumes_the_account() -> None:
    for raised in (10_001, None):
        partner = account(budget(10_000), charge(10_000))
        budget(raised)(partner)
        _, resumed = then(partner, A.BudgetSet, A.Resumed)
        assert (resumed.reason, partner.status) == (
            PauseReason.BUDGET_REACHED,
            AccountStatus.ACTIVE,
        )


def test_r_l3_lowering_the_budget_to_what_is_spent_pauses_the_account() -> None:
    partner = account(budget(10_000), charge(6_000))
    budget(6_000)(partner)
    _, reached, paused = then(partner, A.BudgetSet, A.BudgetReached, A.Paused)
    assert (reached.spent, paused.reason) == (usd(6_000), PauseReason.BUDGET_REACHED)


def test_r_l3_without_a_budget_nothing_is_counted_but_the_amount_is_checked() -> None:
    partner = account()
    assert partner.charge_budget(uuid4(), usd(5_000), SIGNUP) is False
    then(partner)
    assert refused(partner, lambda: partner.charge_budget(uuid4(), Money(5, "EUR"), SIGNUP))[0] == (
        "currency_mismatch"
    )


# --- R-L4: a missed payment, grace, pause and resume ----------------------------------------


def test_r_l4_a_missed_payment_starts_a_week_of_grace_with_leads_still_accepted() -> None:
    invoice = uuid4()
    partner = account(budget(10_000))
    missed(invoice)(partner)
    [event] = then(partner, A.PaymentMissed)
    assert (event.invoice_id, event.grace_ends_on) == (invoice, date(2026, 1, 22))
    assert partner.status is AccountStatus.IN_GRACE
    assert partner.charge_budget(uuid4(), usd(100), at(6)) is False
    then(partner, A.BudgetSpent)


def test_r_l4_the_account_pauses_when_the_grace_period_ends_unpaid() -> None:
    partner = account(missed(uuid4()))
    assert partner.expire_grace(at(6, hours=12)) is False  # 22 Jan UTC, 21 Jan in New York
    then(partner)
    assert partner.expire_grace(at(7)) is True
    [paused] = then(partner, A.Paused)
    assert (paused.reason, partner.status) == (PauseReason.PAYMENT_OVERDUE, AccountStatus.PAUSED)
    assert refused(partner, lambda: charge(100)(partner)) == (
        "account_paused",
        {"reasons": ["payment_overdue"]},
    )


def test_r_l4_settling_the_missed_invoice_resumes_the_account_by_itself() -> None:
    invoice = uuid4()
    partner = account(missed(invoice), lambda a: a.expire_grace(at(7)))
    partner.record_missed_payment_settled(invoice, at(9))
    settled, resumed = then(partner, A.MissedPaymentSettled, A.Resumed)
    assert (settled.invoice_id, resumed.reason) == (invoice, PauseReason.PAYMENT_OVERDUE)
    assert partner.status is AccountStatus.ACTIVE


def test_r_l4_with_two_reasons_the_account_resumes_once_both_are_lifted() -> None:
    invoice = uuid4()
    partner = account(
        budget(10_000), charge(10_000), missed(invoice), lambda a: a.expire_grace(at(7))
    )
    assert set(partner.pause_reasons) == {PauseReason.BUDGET_REACHED, PauseReason.PAYMENT_OVERDUE}
    partner.record_missed_payment_settled(invoice, at(9))
    then(partner, A.MissedPaymentSettled, A.Resumed)
    assert (partner.status, partner.pause_reasons) == (
        AccountStatus.PAUSED,
        (PauseReason.BUDGET_REACHED,),
    )
    partner.start_budget_period(at(31))
    then(partner, A.BudgetPeriodStarted, A.Resumed)
    assert partner.status is AccountStatus.ACTIVE
