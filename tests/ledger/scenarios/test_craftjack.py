"""CraftJack, pay per lead (seed 004, R-L1 … R-L5), end to end on PostgreSQL.

A contractor in Los Angeles (UTC-8 all February 2026) signs up on Saturday 2026-01-31 (the
fixture clock's day) with card autopay and one pay-per-lead line at USD 35.00 a lead. Leads
arrive through `record_lead`; the simulated clock and `tick` do the Friday runs, grace
expiries and budget periods. Every card payment adds the 3 % fee as its own line (R-O7).
Figures are minor units, worked out by hand in the comments.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest

from domain.errors import AccountPaused
from domain.invoice import InvoiceStatus
from domain.partner_account import AccountStatus, PartnerAccount, PauseReason
from domain.payment_methods import PaymentSource
from domain.postings import AccountKind
from domain.subscription_line import SubscriptionLine
from domain.values import InvoiceLineKind
from ledger.application import Ledger
from ledger.billing_clock import due
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.payments.gateway import ChargeStatus
from ledger.payments.simulator import SimulatedGateway
from tests.ledger.scenarios.craftjack_support import (
    DECLINING,
    EXPIRING,
    VISA,
    Bill,
    Contractor,
    deliver,
    double_entry,
    events,
    invoices,
    lead_id,
    local,
    of_type,
    second_ledger,
    sign_up,
    summary,
    tick_at,
    usd,
)
from tests.support import START


def six_leads_on_monday(ledger: Ledger, clock: SimulatedClock, contractor: Contractor) -> UUID:
    """Leads 1-6 on Monday 2026-02-02, 09:00-14:00: $210 unbilled, invoiced at once (R-L2)."""
    for number in range(1, 6):
        assert (
            "invoice_id"
            not in deliver(ledger, clock, contractor, number, local(2, 2, 8 + number)).data
        )
    sixth = deliver(ledger, clock, contractor, 6, local(2, 2, 14))
    assert sixth.data["invoice_number"] == "INV-2026-000001"
    return UUID(sixth.data["invoice_id"])


def test_r_l1_a_lead_line_has_no_fee_and_bills_each_lead_at_its_price(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    contractor = sign_up(ledger)

    assert "invoice_id" not in contractor.activation.data  # no subscription fee
    assert contractor.activation.data["status"] == "active"
    assert tick_at(ledger, clock, local(2, 3, 9)).total == 0  # and none later: nothing is due
    assert due(ledger, local(12, 31)) == []
    assert invoices(ledger) == []

    deliver(ledger, clock, contractor, 1, local(2, 3, 10))  # the product's price, $35.00
    deliver(ledger, clock, contractor, 2, local(2, 4, 15), usd(5000))  # a $50.00 lead
    tick_at(ledger, clock, local(2, 6))

    [invoice] = invoices(ledger)
    assert [(line.kind, line.lead_id, line.amount) for line in invoice.lines] == [
        (InvoiceLineKind.LEAD, lead_id(1), usd(3500)),
        (InvoiceLineKind.LEAD, lead_id(2), usd(5000)),
        (InvoiceLineKind.CARD_FEE, None, usd(255)),  # 3 % of 8500
    ]
    assert summary(invoice) == (
        "INV-2026-000001",
        date(2026, 2, 6),
        date(2026, 2, 6),
        8755,
        2,
        255,
        "settled",
    )
    recorded = of_type(events(ledger, contractor.line_id), SubscriptionLine.LeadRecorded)
    assert [(e.lead_id, e.price, e.delivered_on) for e in recorded] == [
        (lead_id(1), usd(3500), date(2026, 2, 3)),
        (lead_id(2), usd(5000), date(2026, 2, 4)),
    ]


def test_r_l2_r_x2_leads_reaching_200_dollars_are_invoiced_and_charged_at_once(
    ledger: Ledger, clock: SimulatedClock, gateway: SimulatedGateway
) -> None:
    contractor = sign_up(ledger)

    invoice_id = six_leads_on_monday(ledger, clock, contractor)

    invoice = ledger.invoice(invoice_id)
    # 6 x 3500 = 21000, plus the card fee 630 = 21630, charged on Monday, before Friday.
    assert summary(invoice) == (
        "INV-2026-000001",
        date(2026, 2, 2),
        date(2026, 2, 2),
        21630,
        6,
        630,
        "settled",
    )
    assert [line.lead_id for line in invoice.lines[:6]] == [lead_id(n) for n in range(1, 7)]
    [payment] = invoice.payments.values()
    assert (payment.source, payment.amount, payment.fee) == (
        PaymentSource.CARD,
        usd(21630),
        usd(630),
    )
    assert [(c.status, c.amount) for c in gateway.charges.values()] == [
        (ChargeStatus.SUCCEEDED, usd(21630))
    ]
    line = ledger.line(contractor.line_id)
    assert (line.unbilled_leads, line.open_invoices) == ({}, {})
    assert tick_at(ledger, clock, local(2, 7)).total == 0  # nothing is left for Friday's run
    assert len(invoices(ledger)) == 1
    balances = double_entry(ledger, contractor.partner_id)
    assert (
        balances[AccountKind.RECEIVABLE],
        balances[AccountKind.CASH_CLEARING],
        balances[AccountKind.REVENUE_LEADS],
        balances[AccountKind.CARD_FEE_REVENUE],
    ) == (0, 21630, -21000, -630)


def test_r_l2_fewer_leads_wait_for_friday_in_the_partners_time_zone(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    contractor = sign_up(ledger)
    deliver(ledger, clock, contractor, 1, local(2, 3, 10))
    deliver(ledger, clock, contractor, 2, local(2, 4, 11))
    # Thursday 22:30 in Los Angeles is already Friday 06:30 in UTC: still Thursday's lead.
    deliver(ledger, clock, contractor, 3, local(2, 5, 22, 30))
    assert invoices(ledger) == []

    # Thursday 23:59 in Los Angeles (Friday 07:59 UTC): not Friday yet for the contractor.
    assert tick_at(ledger, clock, local(2, 5, 23, 59)).total == 0
    assert invoices(ledger) == []

    # Friday 00:00 in Los Angeles, 08:00 UTC.
    assert tick_at(ledger, clock, local(2, 6)).done["invoice_leads"] == 1
    [friday] = invoices(ledger)
    # 3 x 3500 = 10500, plus the card fee 315.
    assert summary(friday) == (
        "INV-2026-000001",
        date(2026, 2, 6),
        date(2026, 2, 6),
        10815,
        3,
        315,
        "settled",
    )

    # A lead delivered on Friday goes on next Friday's invoice.
    deliver(ledger, clock, contractor, 4, local(2, 6, 9))
    assert [(kind, on) for kind, _, on in due(ledger, local(2, 13))] == [
        ("invoice_leads", date(2026, 2, 13))
    ]
    tick_at(ledger, clock, local(2, 12, 23, 59))
    assert len(invoices(ledger)) == 1
    tick_at(ledger, clock, local(2, 13))
    assert summary(invoices(ledger)[1]) == (
        "INV-2026-000002",
        date(2026, 2, 13),
        date(2026, 2, 13),
        3605,
        1,
        105,
        "settled",
    )


HISTORY = [
    *[(number, local(2, 2, 8 + number), None) for number in range(1, 7)],  # Mon: $210 at once
    (7, local(2, 3, 10), None),  # Tuesday
    (8, local(2, 5, 22, 30), None),  # Thursday night, Friday in UTC
    (9, local(2, 6, 9), None),  # Friday morning: next week's run
    (10, local(2, 18, 16), usd(5000)),  # a $50 lead on Wednesday the 18th
]
"""A February of leads; after the first invoice, never $200 unbilled at once."""
FEBRUARY_BILLS = [
    ("INV-2026-000001", date(2026, 2, 2), date(2026, 2, 2), 21630, 6, 630, "settled"),
    ("INV-2026-000002", date(2026, 2, 6), date(2026, 2, 6), 7210, 2, 210, "settled"),
    ("INV-2026-000003", date(2026, 2, 13), date(2026, 2, 13), 3605, 1, 105, "settled"),
    ("INV-2026-000004", date(2026, 2, 20), date(2026, 2, 20), 5150, 1, 150, "settled"),
]


def live_february(ledger: Ledger, clock: SimulatedClock, *, tick_daily: bool) -> list[Bill]:
    """Deliver HISTORY as it happens; tick at every local midnight, or once on March 1st."""
    contractor = sign_up(ledger)
    pending = list(HISTORY)
    for midnight in [*(local(2, day) for day in range(1, 29)), local(3, 1)]:
        while pending and pending[0][1] < midnight:
            number, at, price = pending.pop(0)
            deliver(ledger, clock, contractor, number, at, price)
        if tick_daily:
            tick_at(ledger, clock, midnight)
    tick_at(ledger, clock, local(3, 1))
    return [summary(invoice) for invoice in invoices(ledger)]


@pytest.fixture
def other_ledger(postgres_server: Database) -> Iterator[tuple[Ledger, SimulatedClock]]:
    clock = SimulatedClock(START)
    with second_ledger(postgres_server, clock) as ledger:
        yield ledger, clock


def test_r_l2_ticking_february_in_one_call_bills_as_ticking_it_day_by_day(
    ledger: Ledger, clock: SimulatedClock, other_ledger: tuple[Ledger, SimulatedClock]
) -> None:
    """The same leads at the same instants on two fresh ledgers; only the ticking differs.

    Both runs live in one test: the `ledger` fixture and a second `Ledger` on a database of
    its own on the session's server, each with its own simulated clock, so neither run sees
    the other's events, numbers or cached aggregates, and the comparison never depends on
    test order. Ids derive from idempotency keys and lead numbers, so the histories match
    command for command; invoices are compared by their business fields (number, dates,
    total, leads, fee, status), never by their random ids or payment instants. After the
    first (threshold) invoice the unbilled leads stay under $200 even when no Friday run
    has happened, so both runs decide every threshold alike and the bills differ only if
    the clock's catch-up does: a run late for Friday the 6th must still bill only the leads
    delivered up to Thursday the 5th, and leave the later ones to the Fridays after (R-L2).
    """
    assert live_february(ledger, clock, tick_daily=True) == FEBRUARY_BILLS

    once, once_clock = other_ledger
    assert live_february(once, once_clock, tick_daily=False) == FEBRUARY_BILLS


def test_r_l3_the_budget_pauses_the_account_until_the_signup_day_of_month(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    contractor = sign_up(ledger)
    partner = contractor.partner_id
    ledger.set_budget(partner, usd(10500), key="cj/budget")  # three leads a month
    account = ledger.partner_account(partner)
    budget_period = account.budget_period
    assert budget_period is not None
    # Signed up on the 31st: the period runs to February's last day, then to March 31st.
    assert (budget_period.start, budget_period.end) == (date(2026, 1, 31), date(2026, 2, 28))

    deliver(ledger, clock, contractor, 1, local(2, 2, 9))
    deliver(ledger, clock, contractor, 2, local(2, 2, 10))
    third = deliver(ledger, clock, contractor, 3, local(2, 3, 10))

    assert third.data["budget_reached"] is True
    account = ledger.partner_account(partner)
    assert (account.status, account.pause_reasons) == (
        AccountStatus.PAUSED,
        (PauseReason.BUDGET_REACHED,),
    )
    with pytest.raises(AccountPaused) as refused:
        deliver(ledger, clock, contractor, 4, local(2, 4, 10))
    assert (refused.value.code, refused.value.fields["reasons"]) == (
        "account_paused",
        ["budget_reached"],
    )
    assert str(lead_id(4)) not in ledger.line(contractor.line_id).unbilled_leads

    tick_at(ledger, clock, local(2, 6))  # the leads delivered are still billed: 10500 + 315
    assert [summary(i)[3:] for i in invoices(ledger)] == [(10815, 3, 315, "settled")]

    # February 27th, 23:59 in Los Angeles is already the 28th in UTC: not the signup day.
    tick_at(ledger, clock, local(2, 27, 23, 59))
    assert ledger.partner_account(partner).status is AccountStatus.PAUSED
    with pytest.raises(AccountPaused):
        deliver(ledger, clock, contractor, 5, local(2, 27, 23, 59))

    assert tick_at(ledger, clock, local(2, 28)).done["start_budget_period"] == 1
    account = ledger.partner_account(partner)
    assert account.status is AccountStatus.ACTIVE
    assert account.budget_period is not None
    assert (account.budget_period.start, account.budget_period.end) == (
        date(2026, 2, 28),
        date(2026, 3, 31),
    )
    assert account.budget_spent == usd(0)

    deliver(ledger, clock, contractor, 5, local(2, 28, 10))
    assert ledger.partner_account(partner).budget_spent == usd(3500)
    budget_events = [
        type(e).__name__
        for e in events(ledger, partner)
        if type(e).__name__
        in {"BudgetSpent", "BudgetReached", "Paused", "BudgetPeriodStarted", "Resumed"}
    ]
    assert budget_events == [
        *["BudgetSpent"] * 3,
        "BudgetReached",
        "Paused",
        "BudgetPeriodStarted",
        "Resumed",
        "BudgetSpent",
    ]


def test_r_l4_r_x2_a_declined_card_gives_a_week_of_grace_then_pauses_until_paid(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    contractor = sign_up(ledger, DECLINING)
    partner = contractor.partner_id

    first = six_leads_on_monday(ledger, clock, contractor)  # 21000, declined
    assert ledger.invoice(first).last_decline == "card_declined"
    account = ledger.partner_account(partner)
    assert (account.status, account.grace_ends_on) == (AccountStatus.IN_GRACE, date(2026, 2, 9))

    deliver(ledger, clock, contractor, 7, local(2, 4, 10))  # leads keep coming in grace
    # Friday: 3500, declined too; its own grace ends on the 13th.
    tick_at(ledger, clock, local(2, 6))
    second = invoices(ledger)[1]
    assert summary(second)[:6] == (
        "INV-2026-000002",
        date(2026, 2, 6),
        date(2026, 2, 6),
        3500,
        1,
        0,
    )
    assert ledger.partner_account(partner).missed_invoices == {
        str(first): date(2026, 2, 9),
        str(second.id): date(2026, 2, 13),
    }
    tick_at(ledger, clock, local(2, 8, 23, 59))
    assert ledger.partner_account(partner).status is AccountStatus.IN_GRACE
    assert double_entry(ledger, partner)[AccountKind.RECEIVABLE] == 24500

    # A week after the missed payment.
    assert tick_at(ledger, clock, local(2, 9)).done["expire_grace"] == 1
    assert ledger.partner_account(partner).pause_reasons == (PauseReason.PAYMENT_OVERDUE,)
    with pytest.raises(AccountPaused) as refused:
        deliver(ledger, clock, contractor, 8, local(2, 9, 10))
    assert refused.value.fields["reasons"] == ["payment_overdue"]

    clock.set(local(2, 10, 11))
    ledger.pay_invoice(first, PaymentSource.BANK_TRANSFER, reference="wire 1", key="cj/wire/1")
    assert ledger.invoice(first).status is InvoiceStatus.SETTLED
    assert ledger.partner_account(partner).status is AccountStatus.PAUSED  # 3500 still owed
    assert double_entry(ledger, partner)[AccountKind.RECEIVABLE] == 3500

    ledger.pay_invoice(second.id, PaymentSource.BANK_TRANSFER, reference="wire 2", key="cj/wire/2")
    account = ledger.partner_account(partner)
    assert (account.status, account.missed_invoices) == (AccountStatus.ACTIVE, {})
    assert of_type(events(ledger, partner), PartnerAccount.Resumed)[-1].reason is (
        PauseReason.PAYMENT_OVERDUE
    )
    deliver(ledger, clock, contractor, 8, local(2, 10, 12))  # leads flow again
    balances = double_entry(ledger, partner)
    assert (
        balances[AccountKind.RECEIVABLE],
        balances[AccountKind.CASH_CLEARING],
        balances[AccountKind.REVENUE_LEADS],
    ) == (0, 24500, -24500)


def test_r_l5_r_x2_updating_an_expired_card_charges_what_is_overdue_and_resumes(
    ledger: Ledger, clock: SimulatedClock, gateway: SimulatedGateway
) -> None:
    contractor = sign_up(ledger, EXPIRING)  # valid on January 31st, expired in February
    partner = contractor.partner_id
    first = six_leads_on_monday(ledger, clock, contractor)
    deliver(ledger, clock, contractor, 7, local(2, 4, 10))
    tick_at(ledger, clock, local(2, 6))
    second = invoices(ledger)[1].id
    assert [ledger.invoice(i).last_decline for i in (first, second)] == ["expired_card"] * 2
    tick_at(ledger, clock, local(2, 9))
    assert ledger.partner_account(partner).status is AccountStatus.PAUSED

    clock.set(local(2, 10, 10))
    result = ledger.replace_payment_method(
        partner, contractor.method_id, VISA, key="cj/card/update"
    )

    assert [(c["invoice_id"], c["charge_status"], c["status"]) for c in result.data["charges"]] == [
        (str(first), "succeeded", "settled"),
        (str(second), "succeeded", "settled"),
    ]
    # One charge of 24500 + 735 (3 % of the total), each invoice paid by its share of it:
    # 21000 + 630 and 3500 + 105, each with its share of the card fee line (R-O7).
    assert [summary(ledger.invoice(i))[3:] for i in (first, second)] == [
        (21630, 6, 630, "settled"),
        (3605, 1, 105, "settled"),
    ]
    assert [(c.status, c.decline_code, c.amount) for c in gateway.charges.values()] == [
        (ChargeStatus.DECLINED, "expired_card", usd(21630)),
        (ChargeStatus.DECLINED, "expired_card", usd(3605)),
        (ChargeStatus.SUCCEEDED, None, usd(21630 + 3605)),
    ]
    account = ledger.partner_account(partner)
    assert (account.status, account.missed_invoices, account.pause_reasons) == (
        AccountStatus.ACTIVE,
        {},
        (),
    )
    assert account.default_method_id == UUID(result.data["method_id"])
    assert str(contractor.method_id) not in account.payment_methods
    balances = double_entry(ledger, partner)
    assert (
        balances[AccountKind.RECEIVABLE],
        balances[AccountKind.CASH_CLEARING],
        balances[AccountKind.REVENUE_LEADS],
        balances[AccountKind.CARD_FEE_REVENUE],
    ) == (0, 25235, -24500, -735)
    deliver(ledger, clock, contractor, 8, local(2, 10, 12))  # leads flow again
