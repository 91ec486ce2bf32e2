"""SubscriptionLine: given a line and the commands that set it up, when one command, then the
events it triggered, or a refusal that triggered nothing and changed nothing.

Rules: R-H1 (life cycle), R-O2 (billing days), R-O3 (locations), R-O4 (unified billing), R-C3
(12-month terms), R-C6 (autopay), R-H5 (a card never moves the billing date), R-L1 and R-L2
(pay per lead and its $200 threshold); then a stateful machine drives random valid and invalid
commands (transfers too) and checks the line's invariants after every step. The transfer rules
R-E1 to R-E4 are in test_subscription_line_transfer.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from itertools import pairwise
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.calendar import Anchor, Term
from domain.errors import BillingError
from domain.money import Money
from domain.payment_methods import CardToken, PaymentSource
from domain.pricing import PriceUnit, subscription_lines
from domain.subscription_line import LineStatus, SubscriptionLine, TransferParty
from domain.values import Location, Payer
from tests.domain.lines import (
    CARD,
    EXPIRED_CARD,
    HARBOUR,
    LEADS,
    MAIN,
    NOW,
    PARTNER,
    POLICY,
    PRODUCTS,
    SEATS,
    L,
    active,
    draft,
    new_line,
    period,
    renew_next,
    request,
    usd,
)
from tests.domain.steps import refused, rejected, replayed, state, then

# --- R-H1: draft, pending, active, paused, cancelled -----------------------------------------


COMMANDS: dict[str, Callable[[SubscriptionLine], object]] = {
    "send": lambda line: line.send(NOW),
    "accept": lambda line: line.accept(NOW),
    "activate": lambda line: line.activate(date(2026, 2, 1), date(2026, 2, 1), NOW),
    "pause": lambda line: line.pause("asked", NOW),
    "resume": lambda line: line.resume(NOW),
    "cancel": lambda line: line.cancel("closed", date(2026, 2, 1), NOW),
}


def test_r_h1_sending_a_draft_makes_it_pending() -> None:
    line = draft()
    line.send(NOW)
    then(line, L.Sent)
    assert (line.status, line.accepted) == (LineStatus.PENDING, False)


def test_r_h1_the_customer_accepts_a_pending_line_once() -> None:
    line = draft()
    line.send(NOW)
    line.collect_events()
    line.accept(NOW)
    line.accept(NOW)
    then(line, L.Accepted)
    assert (line.status, line.accepted) == (LineStatus.PENDING, True)


def test_r_h1_a_draft_is_sent_then_accepted_then_activated() -> None:
    line = draft()
    line.send(NOW)
    line.accept(NOW)
    line.collect_events()
    first = line.activate(date(2026, 2, 1), date(2026, 2, 1), NOW)
    [activated] = then(line, L.Activated)
    assert (activated.period, activated.anchor_day, activated.partner_id) == (first, 1, PARTNER)
    assert first == period((2026, 2, 1), (2026, 3, 1))
    assert (line.status, line.current_period) == (LineStatus.ACTIVE, first)


def test_r_h1_an_active_line_is_paused_and_resumed() -> None:
    line = active()
    line.pause("  client  asked ", NOW)
    [paused] = then(line, L.Paused)
    assert (paused.reason, line.status) == ("client asked", LineStatus.PAUSED)
    line.resume(NOW)
    then(line, L.Resumed)
    assert line.status is LineStatus.ACTIVE


@pytest.mark.parametrize("given", ["", "send", "activate", "activate pause"])
def test_r_h1_a_line_is_cancelled_from_any_open_status(given: str) -> None:
    line = draft()
    for step in given.split():
        COMMANDS[step](line)
    line.collect_events()
    line.cancel(" closed ", date(2026, 3, 1), NOW)
    [cancelled] = then(line, L.Cancelled)
    assert (cancelled.reason, cancelled.cancelled_on) == ("closed", date(2026, 3, 1))
    assert line.status is LineStatus.CANCELLED


@pytest.mark.parametrize(
    ("given", "command", "status"),
    [
        ("send", "send", "pending"),
        ("activate", "send", "active"),
        ("cancel", "send", "cancelled"),
        ("", "accept", "draft"),
        ("activate", "accept", "active"),
        ("send", "activate", "pending"),
        ("activate", "activate", "active"),
        ("activate pause", "activate", "paused"),
        ("cancel", "activate", "cancelled"),
        ("", "pause", "draft"),
        ("send accept", "pause", "pending"),
        ("activate pause", "pause", "paused"),
        ("", "resume", "draft"),
        ("activate", "resume", "active"),
        ("cancel", "cancel", "cancelled"),
    ],
)
def test_r_h1_every_invalid_transition_is_refused_with_the_status(
    given: str, command: str, status: str
) -> None:
    line = draft()
    for step in given.split():
        COMMANDS[step](line)
    line.collect_events()
    assert refused(line, lambda: COMMANDS[command](line)) == (
        "invalid_transition",
        {"status": status, "command": command},
    )


def test_r_h1_a_line_that_has_not_started_is_not_renewed() -> None:
    line = draft()
    assert refused(line, lambda: renew_next(line)) == ("line_not_active", {"status": "draft"})


# --- R-O2, R-C3: billing days and terms ------------------------------------------------------


@pytest.mark.parametrize(("year", "feb_end"), [(2026, 28), (2028, 29)])
def test_r_o2_a_line_activated_on_the_31st_returns_to_the_31st(year: int, feb_end: int) -> None:
    line = draft()
    line.activate(date(year, 1, 31), date(year, 1, 31), NOW)
    [activated] = then(line, L.Activated)
    assert activated.anchor_day == 31
    assert activated.period == period((year, 1, 31), (year, 2, feb_end))
    renew_next(line)
    [renewed] = then(line, L.Renewed)
    assert renewed.period == period((year, 2, feb_end), (year, 3, 31))
    assert line.next_period == period((year, 3, 31), (year, 4, 30))


@pytest.mark.parametrize(
    ("start", "first_end", "second_end"),
    [((2026, 1, 10), (2026, 1, 15), (2026, 2, 15)), ((2026, 1, 31), (2026, 2, 15), (2026, 3, 15))],
)
def test_r_o2_a_line_aligned_to_its_partners_day_gets_a_short_first_period(
    start: tuple[int, int, int], first_end: tuple[int, int, int], second_end: tuple[int, int, int]
) -> None:
    line = draft(anchor_day=15)
    assert line.activate(date(*start), date(*start), NOW) == period(start, first_end)
    line.collect_events()
    renew_next(line)
    [renewed] = then(line, L.Renewed)
    assert renewed.period == period(first_end, second_end)


def test_r_o2_a_calendar_line_bills_on_the_1st() -> None:
    line = draft(anchor=Anchor.CALENDAR)
    assert line.activate(date(2026, 1, 31), date(2026, 1, 31), NOW) == period(
        (2026, 1, 31), (2026, 2, 1)
    )
    assert line.anchor_day == 1
    line.collect_events()
    assert renew_next(line) == period((2026, 2, 1), (2026, 3, 1))


@pytest.mark.parametrize(("anchor", "day"), [(Anchor.CALENDAR, 15), (Anchor.ANNIVERSARY, 32)])
def test_r_o2_a_billing_day_outside_the_rules_is_refused(anchor: Anchor, day: int) -> None:
    refusal = rejected(lambda: draft(anchor=anchor, anchor_day=day))
    assert refusal == ("invalid_value", {"field": "anchor_day"})


def test_r_c3_a_twelve_month_line_renews_twelve_months_later() -> None:
    line = active(start=date(2026, 3, 15), term=Term.TWELVE_MONTHS)
    assert line.current_period == period((2026, 3, 15), (2027, 3, 15))
    renew_next(line)
    [renewed] = then(line, L.Renewed)
    assert renewed.period == period((2027, 3, 15), (2028, 3, 15))


def test_r_c3_a_pay_per_lead_line_has_no_term_to_buy() -> None:
    refusal = rejected(lambda: draft(LEADS, term=Term.TWELVE_MONTHS))
    assert refusal == ("invalid_value", {"field": "term"})


# --- R-O3, R-O4: locations and unified billing ------------------------------------------------


def test_r_o3_an_added_location_is_billed_as_one_more_unit() -> None:
    line = active(SEATS)
    line.add_location(Location(HARBOUR.location_id, "  Harbour "), NOW)
    [added] = then(line, L.LocationAdded)
    assert added.location == HARBOUR
    assert line.current_period is not None
    lines = subscription_lines(
        SEATS, line.id, list(line.locations.values()), line.term, line.current_period, 31, POLICY
    )
    assert [item.location for item in lines] == [MAIN, HARBOUR]
    line.add_location(HARBOUR, NOW)
    then(line)


def test_r_o3_a_removed_location_is_no_longer_on_the_line() -> None:
    line = active(SEATS, locations=[MAIN, HARBOUR])
    line.remove_location(HARBOUR.location_id, NOW)
    [removed] = then(line, L.LocationRemoved)
    assert removed.location_id == HARBOUR.location_id
    assert list(line.locations.values()) == [MAIN]


def test_r_o3_a_per_location_line_keeps_at_least_one_location() -> None:
    line = active(SEATS)
    refusal = refused(line, lambda: line.remove_location(MAIN.location_id, NOW))
    assert refusal == ("invalid_value", {"field": "locations"})
    assert rejected(lambda: draft(SEATS, locations=[])) == refusal


def test_r_o3_an_unknown_location_or_a_card_number_as_a_name_is_refused() -> None:
    line = active(SEATS)
    refusal = refused(line, lambda: line.remove_location(HARBOUR.location_id, NOW))
    assert refusal == ("location_not_found", {"location_id": HARBOUR.location_id})
    card_name = Location(uuid4(), "4242 4242 4242 4242")
    refusal = refused(line, lambda: line.add_location(card_name, NOW))
    assert refusal == ("card_number_in_text", {"field": "location"})


def test_r_o4_removal_from_unified_billing_makes_the_client_the_payer() -> None:
    line = active()
    line.remove_from_unified_billing(NOW)
    then(line, L.RemovedFromUnifiedBilling)
    assert (line.unified_billing, line.payer) == (False, Payer.CLIENT)
    line.remove_from_unified_billing(NOW)
    then(line)


def test_r_o4_only_a_partner_paid_line_is_in_unified_billing() -> None:
    refusal = rejected(lambda: draft(payer=Payer.CLIENT, unified_billing=True))
    assert refusal == ("invalid_value", {"field": "payer"})


# --- R-C6, R-H5: autopay and the card ------------------------------------------------------

AUTOPAY_OK = [PaymentSource.CARD, PaymentSource.COMPANY_BALANCE, PaymentSource.BANK_TRANSFER]


@pytest.mark.parametrize("source", [*AUTOPAY_OK, PaymentSource.DIRECT_DEBIT])
def test_r_c6_autopay_from_an_allowed_source_is_set(source: PaymentSource) -> None:
    line = active()
    line.set_autopay(source, NOW)
    [autopay] = then(line, L.AutopaySet)
    assert (autopay.source, line.autopay) == (source, source)
    line.set_autopay(source, NOW)
    then(line)
    line.set_autopay(None, NOW)
    assert line.autopay is None


@pytest.mark.parametrize(
    "source", sorted({*PaymentSource} - {*AUTOPAY_OK, PaymentSource.DIRECT_DEBIT})
)
def test_r_c6_autopay_from_any_other_source_is_refused(source: PaymentSource) -> None:
    line = active()
    assert refused(line, lambda: line.set_autopay(source, NOW)) == (
        "invalid_value",
        {"field": "source"},
    )


def test_r_h5_attaching_a_card_never_moves_the_billing_period() -> None:
    line = active()
    current, following = line.current_period, line.next_period
    line.attach_card(CARD, date(2026, 1, 31), NOW)
    [attached] = then(line, L.CardAttached)
    assert (attached.card, line.card) == (CARD, CARD)
    assert (line.current_period, line.next_period) == (current, following)


def test_r_h5_an_expired_card_is_refused() -> None:
    line = active()
    refusal = refused(line, lambda: line.attach_card(CARD, date(2026, 2, 1), NOW))
    assert refusal == ("card_expired", {"last4": "4242", "expiry_month": 1, "expiry_year": 2026})
    assert refused(line, lambda: line.attach_card(EXPIRED_CARD, date(2026, 1, 31), NOW)) == (
        "card_expired",
        {"last4": "0005", "expiry_month": 12, "expiry_year": 2025},
    )


# --- R-L1, R-L2: pay per lead ----------------------------------------------------------------


def record(line: SubscriptionLine, *minors: int) -> list[UUID]:
    leads = [uuid4() for _ in minors]
    for lead, minor in zip(leads, minors, strict=True):
        line.record_lead(lead, usd(minor), date(2026, 2, 2), NOW)
    return leads


def test_r_l1_each_lead_is_recorded_at_its_price() -> None:
    line = active(LEADS)
    leads = record(line, 2_500, 4_000)
    events = then(line, L.LeadRecorded, L.LeadRecorded)
    assert [(e.lead_id, e.price, e.delivered_on) for e in events] == [
        (leads[0], usd(2_500), date(2026, 2, 2)),
        (leads[1], usd(4_000), date(2026, 2, 2)),
    ]
    assert line.unbilled_total == usd(6_500)


def test_r_l1_a_lead_delivered_again_is_ignored_even_once_invoiced() -> None:
    line = active(LEADS)
    [lead] = record(line, 2_500)
    line.record_lead(lead, usd(2_500), date(2026, 2, 2), NOW)
    then(line, L.LeadRecorded)
    line.record_leads_invoiced(uuid4(), [lead], NOW)
    line.collect_events()
    line.record_lead(lead, usd(2_500), date(2026, 2, 2), NOW)
    then(line)
    assert line.unbilled_total == usd(0)


def test_r_l1_leads_only_on_an_active_pay_per_lead_line() -> None:
    plan, leads = active(), draft(LEADS)
    refusal = refused(plan, lambda: record(plan, 100))
    assert refusal == ("invalid_value", {"field": "line"})
    assert refused(leads, lambda: record(leads, 100)) == ("line_not_active", {"status": "draft"})


@pytest.mark.parametrize(
    ("price", "code", "fields"),
    [
        (Money(2_500, "EUR"), "currency_mismatch", {"expected": "USD", "got": "EUR"}),
        (usd(0), "amount_not_positive", {"field": "price"}),
    ],
)
def test_r_l1_a_lead_in_another_currency_or_without_a_price_is_refused(
    price: Money, code: str, fields: dict[str, str]
) -> None:
    line = active(LEADS)
    refusal = refused(line, lambda: line.record_lead(uuid4(), price, date(2026, 2, 2), NOW))
    assert refusal == (code, fields)


@pytest.mark.parametrize(("last_minor", "reached"), [(10_000, True), (9_999, False)])
def test_r_l2_the_threshold_is_reached_at_exactly_200_dollars(
    last_minor: int, reached: bool
) -> None:
    line = active(LEADS)
    record(line, 10_000, last_minor)
    assert line.lead_threshold_reached(POLICY) is reached


def test_r_l2_invoiced_leads_leave_the_unbilled_total() -> None:
    line = active(LEADS)
    billed, waiting = record(line, 15_000, 5_000)
    line.collect_events()
    invoice = uuid4()
    line.record_leads_invoiced(invoice, [billed, uuid4()], NOW)
    [invoiced] = then(line, L.LeadsInvoiced)
    assert (invoiced.invoice_id, invoiced.lead_ids) == (invoice, (billed,))
    assert invoiced.amount == usd(15_000)
    assert (line.unbilled_total, list(line.unbilled_leads)) == (usd(5_000), [str(waiting)])
    assert not line.lead_threshold_reached(POLICY)
    line.record_leads_invoiced(uuid4(), [billed], NOW)
    then(line)


# --- A stateful machine: random valid and invalid commands -----------------------------------

R_H1_MOVES = {
    (LineStatus.DRAFT, LineStatus.PENDING),
    (LineStatus.DRAFT, LineStatus.ACTIVE),
    (LineStatus.PENDING, LineStatus.ACTIVE),
    (LineStatus.ACTIVE, LineStatus.PAUSED),
    (LineStatus.PAUSED, LineStatus.ACTIVE),
    *((status, LineStatus.CANCELLED) for status in LineStatus if status != LineStatus.CANCELLED),
}
IDS = st.integers(0, 5)
CURRENCIES = st.sampled_from(["USD", "USD", "EUR"])
DAYS = st.dates(date(2026, 1, 1), date(2028, 12, 31))


class LineMachine(RuleBasedStateMachine):
    """Random commands against one line; after each one the line's invariants hold."""

    @initialize(
        unit=st.sampled_from([PriceUnit.PER_LEAD, *PriceUnit]),
        anchor=st.sampled_from(Anchor),
        term=st.sampled_from(Term),
        start=st.none() | DAYS,
    )
    def create(self, unit: PriceUnit, anchor: Anchor, term: Term, start: date | None) -> None:
        """A new line, a draft or (to reach further in 30 steps) already active."""
        monthly = unit is PriceUnit.PER_LEAD
        self.line = new_line(PRODUCTS[unit], anchor=anchor, term=Term.MONTHLY if monthly else term)
        if start is not None:
            self.line.activate(start, start, NOW)
        self.events = list(self.line.collect_events())
        self.periods = [e.period for e in self.events if isinstance(e, L.Activated)]
        self.unbilled: dict[UUID, Money] = {}
        self.delivered: set[UUID] = set()

    def run(self, command: Callable[[], object]) -> list[Any]:
        """A refusal triggers nothing and changes nothing; a status moves only along R-H1."""
        before, status = state(self.line), self.line.status
        try:
            command()
        except BillingError:
            assert self.line.collect_events() == []
            assert state(self.line) == before
            return []
        events = list(self.line.collect_events())
        self.events += events
        assert self.line.status is status or (status, self.line.status) in R_H1_MOVES
        self.periods += [e.period for e in events if isinstance(e, L.Activated | L.Renewed)]
        return events

    @rule(command=st.sampled_from(sorted(COMMANDS)))
    def life_cycle(self, command: str) -> None:
        self.run(lambda: COMMANDS[command](self.line))

    @rule(start=DAYS)
    def activate(self, start: date) -> None:
        self.run(lambda: self.line.activate(start, start, NOW))

    @rule()
    def renew(self) -> None:
        self.run(lambda: renew_next(self.line))

    @rule(leads=st.lists(st.tuples(IDS, st.integers(-100, 12_000), CURRENCIES), max_size=3))
    def record_leads(self, leads: list[tuple[int, int, str]]) -> None:
        for n, minor, currency in leads:
            lead, price = UUID(int=100 + n), Money(minor, currency)
            accepts = self.line.unit is PriceUnit.PER_LEAD and self.line.status == "active"
            accepts = accepts and minor > 0 and currency == "USD" and lead not in self.delivered
            events = self.run(partial(self.line.record_lead, lead, price, date(2026, 2, 2), NOW))
            assert len(events) == int(accepts)
            if events:
                self.delivered.add(lead)
                self.unbilled[lead] = price

    @rule(ns=st.lists(IDS, max_size=4))
    def invoice_leads(self, ns: list[int]) -> None:
        ids = [UUID(int=100 + n) for n in ns]
        self.run(lambda: self.line.record_leads_invoiced(uuid4(), ids, NOW))
        for lead in ids:
            self.unbilled.pop(lead, None)

    @rule(n=IDS, add=st.booleans())
    def location(self, n: int, add: bool) -> None:
        place = Location(UUID(int=200 + n), f"Shop {n}")
        if add:
            self.run(lambda: self.line.add_location(place, NOW))
        else:
            self.run(lambda: self.line.remove_location(place.location_id, NOW))

    @rule(n=IDS, settle=st.booleans())
    def invoice(self, n: int, settle: bool) -> None:
        invoice_id = UUID(int=300 + n)
        if settle:
            self.run(lambda: self.line.record_invoice_settled(invoice_id, NOW))
        else:
            self.run(lambda: self.line.record_invoice(invoice_id, f"INV-{n}", usd(100), None, NOW))

    @rule(
        source=st.none() | st.sampled_from(PaymentSource),
        card=st.sampled_from([CARD, EXPIRED_CARD]),
    )
    def autopay_and_card(self, source: PaymentSource | None, card: CardToken) -> None:
        self.run(lambda: self.line.set_autopay(source, NOW))
        self.run(lambda: self.line.attach_card(card, date(2026, 1, 31), NOW))

    @rule(consents=st.lists(st.sampled_from(TransferParty), max_size=3), day=st.integers(0, 10))
    def transfer(self, consents: list[TransferParty], day: int) -> None:
        self.run(lambda: request(self.line, *consents))
        self.run(lambda: self.line.complete_transfer(date(2026, 1, 16 + day), NOW))

    @invariant()
    def periods_are_contiguous(self) -> None:
        assert all(a.end == b.start for a, b in pairwise(self.periods))
        assert self.line.current_period == (self.periods[-1] if self.periods else None)

    @invariant()
    def unbilled_total_is_the_recorded_leads_not_invoiced(self) -> None:
        assert self.line.unbilled_total == usd(sum(p.amount_minor for p in self.unbilled.values()))

    @invariant()
    def replaying_the_events_rebuilds_the_line(self) -> None:
        assert replayed(self.events) == self.line


TestLineMachine = LineMachine.TestCase
TestLineMachine.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)


def test_r_c6_the_line_knows_how_far_it_has_been_invoiced() -> None:
    line = active()
    assert line.invoiced_through is None
    assert line.current_period is not None
    following = line.next_period
    line.record_invoice(uuid4(), "INV-1", usd(3_000), following, NOW)
    line.record_invoice(uuid4(), "INV-2", usd(3_000), line.current_period, NOW)
    assert line.invoiced_through == following.end


def test_r_l2_the_oldest_unbilled_lead_dates_the_next_friday_run() -> None:
    line = active(LEADS)
    first, second = uuid4(), uuid4()
    line.record_lead(first, usd(2_500), date(2026, 1, 13), NOW)
    line.record_lead(second, usd(2_500), date(2026, 1, 12), NOW)
    assert line.unbilled_since == date(2026, 1, 12)
    line.record_leads_invoiced(uuid4(), [first], NOW)
    assert line.unbilled_since == date(2026, 1, 12)
    line.record_leads_invoiced(uuid4(), [second], NOW)
    assert line.unbilled_since is None
