"""PartnerAccount: given an account and the commands that set it up, when one command, then the
events it triggered, or a refusal that triggered nothing and changed nothing.

Rules: R-X1 and R-X7 (opening: currency, time zone, the local business date), R-O2 (calendar or
anniversary billing day), R-O1 (billing profile), R-O6 (payment methods), R-O4 (clients in
unified billing), R-C2 (company balance), R-C6 (autopay), R-L3 (budget), R-L4 (grace and pause);
then a stateful machine drives random commands and checks the account's invariants (and the
R-X2 postings of its balance) after every step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.calendar import Anchor
from domain.errors import BillingError, InvalidValue, Refusal, UnknownCurrency, UnknownTimeZone
from domain.money import Money
from domain.partner_account import TOP_UP_SOURCES, AccountStatus, PartnerAccount, PauseReason
from domain.payment_methods import PaymentSource
from domain.postings import AccountKind, LedgerAccount, Side, entries_for
from domain.values import TEXT_MAX_LENGTH as NAME_MAX_LENGTH
from domain.values import Address, InvoiceLine, InvoiceLineKind
from tests.domain.accounts import (
    ADDRESS,
    BANK,
    CARD,
    GRACE_DAYS,
    SIGNUP,
    A,
    account,
    at,
    usd,
)
from tests.domain.steps import refused, replayed, state, then
from tests.support import START


def open_account(**overrides: str) -> PartnerAccount:
    fields = {"name": "Acme Resellers", "currency": "USD", "time_zone": "America/New_York"}
    fields.update(overrides)
    name, currency, time_zone = fields["name"], fields["currency"], fields["time_zone"]
    return PartnerAccount.open(
        partner_id=uuid4(), name=name, currency=currency, time_zone=time_zone, now=START
    )


def test_opening_an_account_records_opened_with_its_decided_fields() -> None:
    partner_id = uuid4()
    account = PartnerAccount.open(
        partner_id=partner_id,
        name="  Acme \t Resellers ",
        currency="EUR",
        time_zone="Europe/Madrid",
        now=START,
    )
    [event] = account.collect_events()
    assert isinstance(event, PartnerAccount.Opened)
    assert (event.originator_id, event.originator_version) == (partner_id, 1)
    assert (event.name, event.currency, event.time_zone) == (
        "Acme Resellers",
        "EUR",
        "Europe/Madrid",
    )
    assert event.timestamp == START
    assert (account.name, account.currency, account.time_zone) == (
        "Acme Resellers",
        "EUR",
        "Europe/Madrid",
    )


def test_replaying_opened_rebuilds_the_same_account() -> None:
    account = open_account()
    [event] = account.collect_events()
    rebuilt = event.mutate(None)
    assert rebuilt == account


@pytest.mark.parametrize("name", ["", "   ", "x" * (NAME_MAX_LENGTH + 1)])
def test_a_partner_needs_a_name_of_reasonable_length(name: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        open_account(name=name)
    assert caught.value.code == "invalid_value"
    assert caught.value.fields == {"field": "name"}
    assert caught.value.refusal is Refusal.INVALID


@pytest.mark.parametrize("currency", ["XYZ", "usd", "", "DEM", "US"])
def test_r_x1_the_currency_must_be_iso_4217_in_use(currency: str) -> None:
    with pytest.raises(UnknownCurrency) as caught:
        open_account(currency=currency)
    assert caught.value.code == "currency_unknown"
    assert caught.value.fields == {"currency": currency}


@pytest.mark.parametrize("currency", ["USD", "RUB", "PLN", "JPY", "KWD"])
def test_r_x1_currencies_in_use_are_accepted(currency: str) -> None:
    assert open_account(currency=currency).currency == currency


@pytest.mark.parametrize(
    "time_zone", ["Mars/Olympus", "", "/etc/passwd", "../../etc/passwd", " Europe/Madrid", "UTC+3"]
)
def test_r_x7_the_time_zone_must_be_an_iana_name(time_zone: str) -> None:
    with pytest.raises(UnknownTimeZone) as caught:
        open_account(time_zone=time_zone)
    assert caught.value.code == "time_zone_unknown"


# --- R-X7, R-O2: the local business date and the billing day -------------------------------

LATE_ON_THE_31ST = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("time_zone", "opened_on"),
    [
        ("America/New_York", date(2026, 1, 31)),
        ("UTC", date(2026, 1, 31)),
        ("Asia/Tokyo", date(2026, 2, 1)),
    ],
)
def test_r_x7_opened_on_is_the_partners_local_date(time_zone: str, opened_on: date) -> None:
    opened = PartnerAccount.open(
        partner_id=uuid4(), name="Acme", currency="USD", time_zone=time_zone, now=LATE_ON_THE_31ST
    )
    [event] = then(opened, A.Opened)
    assert (event.opened_on, event.anchor_day, event.timestamp) == (
        opened_on,
        opened_on.day,
        LATE_ON_THE_31ST,
    )
    assert opened.today(LATE_ON_THE_31ST) == opened_on


@pytest.mark.parametrize(("anchor", "anchor_day"), [(Anchor.CALENDAR, 1), (Anchor.ANNIVERSARY, 31)])
def test_r_o2_a_calendar_account_bills_on_the_1st_an_anniversary_one_on_its_day(
    anchor: Anchor, anchor_day: int
) -> None:
    opened = PartnerAccount.open(
        partner_id=uuid4(), name="Acme", currency="USD", time_zone="UTC", now=START, anchor=anchor
    )
    [event] = then(opened, A.Opened)
    assert (event.anchor, event.anchor_day, opened.anchor_day) == (anchor, anchor_day, anchor_day)


# --- R-O1, R-O6: billing profile and payment methods --------------------------------------


def test_r_o1_the_billing_profile_names_entity_address_and_email() -> None:
    partner = account()
    partner.record_billing_profile(" Acme  LLC ", ADDRESS, "AP@Acme.Example", SIGNUP)
    [event] = then(partner, A.BillingProfileRecorded)
    assert (event.entity, event.address, event.billing_email) == (
        "Acme LLC",
        ADDRESS,
        "AP@acme.example",
    )
    assert (partner.entity, partner.address, partner.billing_email) == (
        "Acme LLC",
        ADDRESS,
        "AP@acme.example",
    )


EMAIL, PASTED_CARD = "ap@acme.example", "4242 4242 4242 4242"
IN_THE_USA = Address(("1 Main St",), "Springfield", "12345", "USA")  # not built with Address.of
CARD_IN_ADDRESS = Address((PASTED_CARD,), "Springfield", "12345", "US")


@pytest.mark.parametrize(
    ("entity", "address", "email", "refusal"),
    [
        ("Acme", ADDRESS, "ap.acme.example", ("invalid_value", {"field": "billing_email"})),
        ("Acme", IN_THE_USA, EMAIL, ("invalid_value", {"field": "country"})),
        (f"Acme {PASTED_CARD}", ADDRESS, EMAIL, ("card_number_in_text", {"field": "entity"})),
        ("Acme", CARD_IN_ADDRESS, EMAIL, ("card_number_in_text", {"field": "address"})),
    ],
)
def test_r_o1_a_bad_email_country_or_a_pasted_card_number_is_refused(
    entity: str, address: Address, email: str, refusal: tuple[str, dict[str, str]]
) -> None:
    partner = account()
    record = partner.record_billing_profile
    assert refused(partner, lambda: record(entity, address, email, SIGNUP)) == refusal


def test_r_o6_the_first_payment_method_becomes_the_default() -> None:
    card, bank = uuid4(), uuid4()
    partner = account()
    partner.add_payment_method(card, CARD, make_default=False, now=SIGNUP)
    partner.add_payment_method(bank, BANK, make_default=False, now=SIGNUP)
    first, second = then(partner, A.PaymentMethodAdded, A.PaymentMethodAdded)
    assert (first.method_id, first.method, first.is_default) == (card, CARD, True)
    assert (second.method_id, second.method, second.is_default) == (bank, BANK, False)
    assert partner.default_method == CARD
    partner.make_default_payment_method(bank, SIGNUP)
    [chosen] = then(partner, A.DefaultPaymentMethodChosen)
    assert (chosen.method_id, partner.default_method_id) == (bank, bank)
    partner.make_default_payment_method(bank, SIGNUP)
    then(partner)


def test_r_o6_replacing_the_default_method_keeps_it_the_default() -> None:
    old, new = uuid4(), uuid4()
    partner = account(lambda a: a.add_payment_method(old, BANK, False, SIGNUP))
    partner.replace_payment_method(old, new, CARD, SIGNUP)
    [replaced] = then(partner, A.PaymentMethodReplaced)
    assert (replaced.old_method_id, replaced.method_id, replaced.method) == (old, new, CARD)
    assert (list(partner.payment_methods), partner.default_method_id) == ([str(new)], new)


@pytest.mark.parametrize(
    ("time_zone", "accepted"), [("America/New_York", True), ("Asia/Tokyo", False)]
)
def test_r_o6_a_card_expired_on_the_partners_date_is_refused(
    time_zone: str, accepted: bool
) -> None:
    """At 00:30 UTC on 1 February a card expiring in January is still good in New York."""
    partner = PartnerAccount.open(
        partner_id=uuid4(), name="Acme", currency="USD", time_zone=time_zone, now=START
    )
    partner.collect_events()

    def add() -> None:
        partner.add_payment_method(uuid4(), CARD, True, datetime(2026, 2, 1, 0, 30, tzinfo=UTC))

    if accepted:
        add()
        then(partner, A.PaymentMethodAdded)
    else:
        assert refused(partner, add) == (
            "card_expired",
            {"last4": "4242", "expiry_month": 1, "expiry_year": 2026},
        )


def test_r_o6_an_unknown_or_clashing_method_is_refused() -> None:
    known, other, unknown = uuid4(), uuid4(), uuid4()
    partner = account(
        lambda a: a.add_payment_method(known, CARD, True, SIGNUP),
        lambda a: a.add_payment_method(other, BANK, False, SIGNUP),
    )
    missing = ("payment_method_not_found", {"method_id": unknown})
    replace = partner.replace_payment_method
    assert refused(partner, lambda: partner.make_default_payment_method(unknown, SIGNUP)) == missing
    assert refused(partner, lambda: replace(unknown, uuid4(), CARD, SIGNUP)) == missing
    clash = refused(partner, lambda: replace(known, other, CARD, SIGNUP))
    assert clash == ("invalid_value", {"field": "method_id"})


# --- R-O4: clients in unified billing -------------------------------------------------------


def test_r_o4_a_client_is_registered_then_removed_from_unified_billing() -> None:
    client = uuid4()
    partner = account()
    partner.register_client(client, " Bistro  Uno ", "owner@Bistro.Example", True, SIGNUP)
    partner.register_client(client, "Bistro Uno", None, True, SIGNUP)
    [registered] = then(partner, A.ClientRegistered)
    assert (registered.name, registered.email, registered.unified_billing) == (
        "Bistro Uno",
        "owner@bistro.example",
        True,
    )
    partner.remove_client_from_unified_billing(client, at(0, hours=12))
    [removed] = then(partner, A.ClientRemovedFromUnifiedBilling)
    # 03:00 UTC on 16 January is still the 15th in New York (R-X7).
    assert (removed.client_id, removed.removed_on) == (client, date(2026, 1, 15))
    assert partner.client(client).unified_billing is False


def test_r_o4_removing_a_client_twice_or_an_unknown_one_is_refused() -> None:
    client, unknown = uuid4(), uuid4()
    partner = account(
        lambda a: a.register_client(client, "Bistro", None, True, SIGNUP),
        lambda a: a.remove_client_from_unified_billing(client, SIGNUP),
    )
    remove = partner.remove_client_from_unified_billing
    assert refused(partner, lambda: remove(client, SIGNUP)) == (
        "client_not_in_unified_billing",
        {"client_id": client},
    )
    assert refused(partner, lambda: remove(unknown, SIGNUP)) == (
        "client_not_found",
        {"client_id": unknown},
    )


# --- R-C2, R-C6: company balance and autopay -----------------------------------------------

TOP_UPS = [PaymentSource.CARD, PaymentSource.DIRECT_DEBIT, PaymentSource.BANK_TRANSFER]


PROCESSOR_ID = "sim_ch_4242424242424242ab"
"""A processor's id holding a Luhn-valid run of 16 digits, as one random id in about 300 does."""


@pytest.mark.parametrize(
    ("source", "reference", "recorded"),
    [
        (PaymentSource.CARD, f" {PROCESSOR_ID} ", PROCESSOR_ID),
        (PaymentSource.DIRECT_DEBIT, PROCESSOR_ID, PROCESSOR_ID),
        (PaymentSource.BANK_TRANSFER, " WIRE  1 ", "WIRE 1"),
    ],
)
def test_r_c2_r_x4_a_top_up_by_card_or_bank_adds_to_the_balance(
    source: PaymentSource, reference: str, recorded: str
) -> None:
    """A card's reference is the processor's charge id, recorded as it is (the card is already
    charged: refusing it as a card number would lose the money); a typed one is cleaned."""
    top_up = uuid4()
    partner = account()
    partner.top_up(top_up, usd(50_000), source, SIGNUP, reference=reference)
    [event] = then(partner, A.BalanceToppedUp)
    assert (event.top_up_id, event.amount, event.source, event.reference) == (
        top_up,
        usd(50_000),
        source,
        recorded,
    )
    assert partner.balance == usd(50_000)


def test_r_x4_a_typed_top_up_reference_holding_a_card_number_is_refused() -> None:
    partner = account()
    refusal = refused(
        partner,
        lambda: partner.top_up(
            uuid4(), usd(100), PaymentSource.BANK_TRANSFER, SIGNUP, reference="4242424242424242"
        ),
    )
    assert refusal == ("card_number_in_text", {"field": "reference"})


@pytest.mark.parametrize("source", sorted({*PaymentSource} - {*TOP_UPS}))
def test_r_c2_the_balance_is_not_topped_up_from_itself_bonuses_or_cash(
    source: PaymentSource,
) -> None:
    partner = account()
    refusal = refused(partner, lambda: partner.top_up(uuid4(), usd(100), source, SIGNUP))
    assert refusal == ("invalid_value", {"field": "source"})


@pytest.mark.parametrize(
    ("amount", "refusal"),
    [
        (usd(0), ("amount_not_positive", {"field": "amount"})),
        (Money(100, "EUR"), ("currency_mismatch", {"expected": "USD", "got": "EUR"})),
    ],
)
def test_r_c2_a_top_up_needs_a_positive_amount_in_the_accounts_currency(
    amount: Money, refusal: tuple[str, dict[str, str]]
) -> None:
    partner = account()
    card = PaymentSource.CARD
    assert refused(partner, lambda: partner.top_up(uuid4(), amount, card, SIGNUP)) == refusal


def test_r_c2_spending_never_goes_beyond_the_balance_and_a_refund_restores_it() -> None:
    invoice = uuid4()
    partner = account(lambda a: a.top_up(uuid4(), usd(10_000), PaymentSource.CARD, SIGNUP))
    assert refused(
        partner, lambda: partner.spend_balance(uuid4(), usd(10_001), invoice, SIGNUP)
    ) == (
        "insufficient_balance",
        {"available": 10_000, "needed": 10_001},
    )
    partner.spend_balance(uuid4(), usd(10_000), invoice, SIGNUP)
    [spent] = then(partner, A.BalanceSpent)
    assert (spent.amount, spent.invoice_id, partner.balance) == (usd(10_000), invoice, usd(0))
    partner.restore_balance(uuid4(), usd(2_500), invoice, SIGNUP)
    [restored] = then(partner, A.BalanceRestored)
    assert (restored.amount, partner.balance) == (usd(2_500), usd(2_500))


AUTOPAY_OK = [PaymentSource.CARD, PaymentSource.COMPANY_BALANCE, PaymentSource.BANK_TRANSFER]


@pytest.mark.parametrize("source", AUTOPAY_OK)
def test_r_c6_autopay_from_the_balance_a_card_or_by_invoice(source: PaymentSource) -> None:
    partner = account()
    partner.set_autopay(source, SIGNUP)
    [event] = then(partner, A.AutopayPreferenceSet)
    assert (event.source, partner.autopay) == (source, source)
    partner.set_autopay(source, SIGNUP)
    then(partner)


@pytest.mark.parametrize("source", [PaymentSource.BONUS, PaymentSource.CASH, PaymentSource.OTHER])
def test_r_c6_autopay_from_any_other_source_is_refused(source: PaymentSource) -> None:
    partner = account()
    assert refused(partner, lambda: partner.set_autopay(source, SIGNUP)) == (
        "invalid_value",
        {"field": "source"},
    )


# --- A stateful machine: random valid and invalid commands -----------------------------------

INVOICES = st.integers(0, 2).map(lambda n: UUID(int=400 + n))


class AccountMachine(RuleBasedStateMachine):
    """Random commands against one account, as its clock moves on; invariants after each."""

    def __init__(self) -> None:
        super().__init__()
        self.account = PartnerAccount.open(
            partner_id=uuid4(),
            name="Acme",
            currency="USD",
            time_zone="America/New_York",
            now=SIGNUP,
        )
        self.now = SIGNUP
        self.events = list(self.account.collect_events())
        self.came_in = self.went_out = 0
        self.last_price = 0
        self.budget_at_last_charge = 0

    def run(self, command: Callable[[], object]) -> list[Any] | None:
        """The events of an accepted command; None for a refusal, which changed nothing."""
        before = state(self.account)
        try:
            command()
        except BillingError:
            assert self.account.collect_events() == []
            assert state(self.account) == before
            return None
        events = list(self.account.collect_events())
        self.events += events
        return events

    @rule(days=st.integers(0, 12), hours=st.integers(0, 23))
    def time_passes(self, days: int, hours: int) -> None:
        self.now += timedelta(days=days, hours=hours)

    @rule(minor=st.integers(-100, 50_000), source=st.sampled_from(PaymentSource))
    def top_up(self, minor: int, source: PaymentSource) -> None:
        events = self.run(lambda: self.account.top_up(uuid4(), usd(minor), source, self.now))
        assert (events is not None) == (minor > 0 and source in TOP_UP_SOURCES)
        self.came_in += minor if events else 0

    @rule(minor=st.integers(1, 60_000), restore=st.booleans())
    def spend_or_restore(self, minor: int, restore: bool) -> None:
        if restore:
            restore_balance = self.account.restore_balance
            assert self.run(lambda: restore_balance(uuid4(), usd(minor), uuid4(), self.now))
            self.came_in += minor
            return
        room = self.account.balance.amount_minor
        events = self.run(
            lambda: self.account.spend_balance(uuid4(), usd(minor), uuid4(), self.now)
        )
        assert (events is not None) == (minor <= room)
        self.went_out += minor if events else 0

    @rule(minor=st.none() | st.integers(1, 30_000))
    def set_budget(self, minor: int | None) -> None:
        self.run(lambda: self.account.set_budget(None if minor is None else usd(minor), self.now))

    @rule(minor=st.integers(1, 8_000))
    def lead(self, minor: int) -> None:
        budget, period = self.account.budget, self.account.budget_period
        reasons = set(self.account.pause_reasons)
        if budget is not None and period is not None and self.account.today(self.now) >= period.end:
            reasons.discard(PauseReason.BUDGET_REACHED)  # the lead starts the new period (R-L3)
        paused = bool(reasons)
        events = self.run(lambda: self.account.charge_budget(uuid4(), usd(minor), self.now))
        assert (events is None) == paused
        assert bool(events) == (not paused and budget is not None)
        if events and budget is not None:
            self.last_price, self.budget_at_last_charge = minor, budget.amount_minor

    @rule(days=st.integers(0, 35))
    def new_budget_period(self, days: int) -> None:
        self.now += timedelta(days=days)
        self.run(lambda: self.account.start_budget_period(self.now))

    @rule(invoice=INVOICES, settled=st.booleans())
    def missed_payment(self, invoice: UUID, settled: bool) -> None:
        if settled:
            self.run(lambda: self.account.record_missed_payment_settled(invoice, self.now))
        else:
            self.run(lambda: self.account.record_missed_payment(invoice, GRACE_DAYS, self.now))

    @rule(days=st.integers(0, 10))
    def grace_expires(self, days: int) -> None:
        self.now += timedelta(days=days)
        self.run(lambda: self.account.expire_grace(self.now))

    @rule(source=st.none() | st.sampled_from(PaymentSource))
    def autopay(self, source: PaymentSource | None) -> None:
        self.run(lambda: self.account.set_autopay(source, self.now))

    @invariant()
    def the_balance_is_what_came_in_minus_what_went_out(self) -> None:
        assert self.account.balance.amount_minor == self.came_in - self.went_out >= 0

    @invariant()
    def the_balance_is_the_sum_of_its_postings(self) -> None:
        prepaid = LedgerAccount(AccountKind.PREPAID_BALANCE, self.account.id)
        entries = [e for event in self.events for e in entries_for(event) if e.account == prepaid]
        credits = sum(e.amount.amount_minor for e in entries if e.side is Side.CREDIT)
        debits = sum(e.amount.amount_minor for e in entries if e.side is Side.DEBIT)
        assert credits - debits == self.account.balance.amount_minor

    @invariant()
    def the_account_pauses_at_its_budget(self) -> None:
        budget, spent = self.account.budget, self.account.budget_spent.amount_minor
        reached = budget is not None and spent >= budget.amount_minor
        assert (PauseReason.BUDGET_REACHED in self.account.pause_reasons) == reached
        # A lead is charged only while there is room: one lead at most goes past the budget.
        assert spent == 0 or spent <= self.budget_at_last_charge + self.last_price

    @invariant()
    def the_status_follows_the_pause_reasons(self) -> None:
        reasons, status = self.account.pause_reasons, self.account.status
        assert (status is AccountStatus.PAUSED) == bool(reasons)
        assert (status is AccountStatus.IN_GRACE) == (
            not reasons and bool(self.account.missed_invoices)
        )
        if PauseReason.PAYMENT_OVERDUE in reasons:
            assert self.account.missed_invoices

    @invariant()
    def replaying_the_events_rebuilds_the_account(self) -> None:
        assert replayed(self.events) == self.account


TestAccountMachine = AccountMachine.TestCase
TestAccountMachine.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)


# --- R-O2, R-O3: unified billing gathers line charges onto the partner's invoice -------------


def test_r_o3_unified_charges_wait_for_the_partners_billing_day() -> None:
    partner = PartnerAccount.open(
        partner_id=uuid4(), name="Acme", currency="USD", time_zone="UTC", now=START
    )
    partner.collect_events()
    seat = InvoiceLine(InvoiceLineKind.PRODUCT, usd(3_000), description="Seat: Main St")
    line_id = uuid4()
    partner.defer_charge(line_id, [seat], date(2026, 2, 1), START)
    [deferred] = then(partner, A.ChargeDeferred)
    assert (deferred.line_id, deferred.lines) == (line_id, (seat,))
    # Opened on Jan 31 (anniversary): a charge of Feb 1 waits for Feb 28, the month's last day
    # standing in for the 31st (R-O2); a charge made on a billing day goes out that day.
    assert partner.next_billing_date == date(2026, 2, 28)
    invoice_id = uuid4()
    partner.record_unified_invoice(invoice_id, date(2026, 2, 28), START)
    [issued] = then(partner, A.UnifiedInvoiceIssued)
    assert (issued.invoice_id, partner.deferred_charges, partner.next_billing_date) == (
        invoice_id,
        [],
        None,
    )


def test_r_o3_a_charge_in_another_currency_or_with_no_lines_is_refused() -> None:
    partner = PartnerAccount.open(
        partner_id=uuid4(), name="Acme", currency="USD", time_zone="UTC", now=START
    )
    partner.collect_events()
    euro = InvoiceLine(InvoiceLineKind.PRODUCT, Money(3_000, "EUR"), description="Seat")
    assert (
        refused(partner, lambda: partner.defer_charge(uuid4(), [euro], START.date(), START))[0]
        == "currency_mismatch"
    )
    assert refused(partner, lambda: partner.defer_charge(uuid4(), [], START.date(), START)) == (
        "invalid_value",
        {"field": "lines"},
    )
