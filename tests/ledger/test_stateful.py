"""The whole ledger against a plain model of balances and invoices, driven by hypothesis.

A rule-based state machine runs the real `Ledger` on a database of its own per example, with
the simulated payment processor: partners in two currencies open with a card (one the
simulator declines, or one it accepts), top up by bank and by card, register clients, start
lines (paid by the partner or by the client itself, monthly, annual or twelve months with the
R-C3 discount), renew them by command or by letting the billing clock run, and move them to
another reseller (R-E1 … R-E4); invoices are paid from the company balance, with bonuses, by
bank, in cash or by card (declines included), refunded in whole or in part, voided, credited
and given closing documents (R-C7); the vendor grants bonuses, clients that pay for
themselves earn their partner cashback (R-C4) and refunds claw it back. Every rule also sends
commands the domain must refuse (more than is owed, held or refundable, a settled or void
invoice, the wrong currency, amounts too large, a period renewed twice, a cancelled line, a
transfer of a line that owes).

The model (tests/ledger/stateful_model.py) is written from the rules (DESIGN.md), not from
the code: dicts of integers in minor units. After every step:

- the trial balance is zero per currency (R-X2), and every account's running total equals
  the sum of its journal entries;
- each partner's company balance, bonus wallet and receivable (and each paying client's
  receivable) equal the model's, as read from the journal and from the aggregates;
- every invoice's status, total, paid, credited, refunded and outstanding equal the model's,
  in the aggregate and in the invoice read model; invoice numbers are gapless (R-X3);
- a command the model expects refused is refused with one of the codes the model expects, and
  leaves the events, snapshots, idempotency, outbox, numbering and schedule tables byte for
  byte as they were (R-X5 "a refused command writes nothing").

At the end of each example every read model is rebuilt from the log and compared, row for
row, with the live one the steps kept up to date.

Cost: each step is a command or two and a handful of reads against a real PostgreSQL, and each
example a database copy, a ledger and a rebuild of every read model; `make test` runs 3
examples of 50 steps (3.7 s, up to 8 s on a busy machine). To soak, many more, longer ones:

    LEDGERLINE_SOAK=1 .venv/bin/pytest -p no:randomly tests/ledger/test_stateful.py
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, ClassVar
from uuid import UUID

import pytest
from hypothesis import assume, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from domain.bonus_wallet import BonusWallet, CreditReason
from domain.calendar import Term
from domain.errors import BillingError
from domain.invoice import Invoice
from domain.money import AMOUNT_MAX_MINOR, Money
from domain.payment_methods import CardDetails, PaymentSource
from domain.subscription_line import TransferParty, TransferRequest
from domain.values import Payer, bonus_wallet_id
from ledger.application import EVENTS_TABLE, Ledger
from ledger.billing_clock import tick
from ledger.catalogue import load_catalogue
from ledger.clock import SimulatedClock
from ledger.command_records import CommandResult
from ledger.database import Database
from ledger.payments.simulator import SimulatedGateway
from ledger.store import SNAPSHOTS_TABLE
from projections import balances
from projections.registry import all_projections
from replay.rebuild import compare, rebuild_many
from tests.ledger.stateful_model import (
    CARD_FEE_PERCENT,
    CASHBACK_PERCENT,
    CLIENTS_MAX,
    CLOCK_STOPS_ON,
    DECLINED_CARD,
    DOCUMENTED_SOURCES,
    GOOD_CARD,
    LINES_MAX,
    OTHER_CURRENCY,
    PARTNERS_MAX,
    PORTIONS,
    RENEWAL_AHEAD_DAYS,
    TERM_MONTHS,
    VENDOR_CREDIT_MAX_MINOR,
    ModelInvoice,
    ModelLine,
    ModelPartner,
    ModelPayment,
    amount_for,
    anchored,
    business_days_after,
    percent_of,
    price_of,
    taken_back_after,
)
from tests.projections.support import live_runner
from tests.support import START, DatabaseCopies, drop_database

SOAK = os.environ.get("LEDGERLINE_SOAK") == "1"
EXAMPLES, STEPS = (60, 80) if SOAK else (3, 50)
"""In `make test` 3 examples of 50 steps, 3.7 s (a step costs some 25 ms, an example's
database, ledger and rebuild of every read model about 0.8 s); LEDGERLINE_SOAK=1 runs 60
examples of 80 steps, about 3 minutes."""

# --- The machine --------------------------------------------------------------------------

STATE_TABLES = (
    EVENTS_TABLE,
    SNAPSHOTS_TABLE,
    "command_log",
    "outbox",
    "number_series",
    "schedule",
    "line_index",
    "open_invoices",
)
"""Everything a command writes: a refused one must leave each as it was."""
DIGEST = "SELECT md5(string_agg(x, E'\\n' ORDER BY x)) FROM ({}) AS rows".format(
    " UNION ALL ".join(f"SELECT '{name}:' || t::text AS x FROM {name} t" for name in STATE_TABLES)
)


class LedgerMachine(RuleBasedStateMachine):
    """One example: a fresh database, a ledger, its read models, and the model beside them."""

    server: ClassVar[Database]
    copies: ClassVar[DatabaseCopies]

    def __init__(self) -> None:
        super().__init__()
        self.database = self.copies.take()
        self.clock = SimulatedClock(START)
        self.ledger = Ledger(
            self.database, self.clock, SimulatedGateway(), catalogue=load_catalogue(), pool_size=2
        )
        self.models = all_projections()
        self.runner = live_runner(self.database, *self.models)
        self.partners: dict[UUID, ModelPartner] = {}
        self.lines: dict[UUID, ModelLine] = {}
        self.invoices: dict[UUID, ModelInvoice] = {}
        self.refusals: Counter[str] = Counter()
        self.checked_position = 0
        """The log position up to which every aggregate was compared with the model."""

    def teardown(self) -> None:
        try:
            self.runner.catch_up()
            for model, built in zip(
                self.models, rebuild_many(self.database, self.models), strict=True
            ):
                difference = compare(self.database, model, built.generation)
                assert difference.empty, [t for t in difference.tables if not t.empty]
        finally:
            self.runner.close()
            self.ledger.close()
            drop_database(self.server, self.database)

    # --- helpers ----------------------------------------------------------------------

    @property
    def ids(self) -> set[UUID]:
        """The partners' and clients' ids so far."""
        return {*self.partners, *(c for p in self.partners.values() for c in p.clients)}

    @property
    def today(self) -> date:
        return self.clock.now().date()  # every partner bills in UTC

    def digest(self) -> str:
        with self.ledger.reads.connection() as conn:
            row = conn.execute(DIGEST).fetchone()
        assert row is not None
        return str(row[0])

    def attempt(
        self, refusals: set[str], command: Callable[[], CommandResult]
    ) -> CommandResult | None:
        """Run a command the model expects to pass (no refusals) or to be refused with one of
        these codes; a refused command must leave the database as it was."""
        if not refusals:
            return command()
        before = self.digest()
        with pytest.raises(BillingError) as refused:
            command()
        assert refused.value.code in refusals, (refused.value, refusals)
        assert self.digest() == before, f"refused with {refused.value.code} but wrote"
        self.refusals[refused.value.code] += 1
        event(f"refused: {refused.value.code}")
        return None

    def pick(self, data: st.DataObject, ids: list[UUID], label: str) -> UUID:
        return data.draw(st.sampled_from(ids), label=label)

    def invoice_status_refusals(self, invoice: ModelInvoice) -> set[str]:
        return {"settled": {"invoice_already_settled"}, "void": {"invoice_voided"}}.get(
            invoice.status, set()
        )

    def issue(self, invoice_id: UUID, line_id: UUID) -> None:
        line = self.lines[line_id]
        currency = self.partners[line.partner_id].currency
        self.invoices[invoice_id] = ModelInvoice(
            line_id=line_id,
            partner_id=line.partner_id,
            payer_id=line.payer_id,
            client_pays=line.client_pays,
            currency=currency,
            total=price_of(line.product, currency, line.term),
        )

    # --- partners and money in --------------------------------------------------------

    @initialize(
        usd_card_declines=st.booleans(),
        eur_card_declines=st.booleans(),
        usd_client_pays=st.booleans(),
        eur_client_pays=st.booleans(),
        ids=st.lists(st.uuids(), min_size=7, max_size=7, unique=True),
    )
    def a_partner_in_each_currency_with_a_line(
        self,
        usd_card_declines: bool,
        eur_card_declines: bool,
        usd_client_pays: bool,
        eur_client_pays: bool,
        ids: list[UUID],
    ) -> None:
        """Every example starts with money to move: a partner per currency, each with a
        client, a line and its first invoice, and a second partner in USD."""
        for currency, declines, client_pays in (
            ("USD", usd_card_declines, usd_client_pays),
            ("EUR", eur_card_declines, eur_client_pays),
        ):
            partner_id = self.open(currency, declines, ids.pop())
            client_id = self.register(partner_id, ids.pop())
            line = ("email-signatures", Term.MONTHLY, client_pays)
            self.start(partner_id, client_id, *line, ids.pop())
        self.open("USD", usd_card_declines, ids.pop())  # a reseller to move lines to (R-E1)

    @precondition(lambda self: len(self.partners) < PARTNERS_MAX)
    @rule(
        currency=st.sampled_from(["USD", "EUR"]), card_declines=st.booleans(), partner_id=st.uuids()
    )
    def open_partner(self, currency: str, card_declines: bool, partner_id: UUID) -> None:
        assume(partner_id not in self.ids)
        self.open(currency, card_declines, partner_id)

    def open(self, currency: str, card_declines: bool, partner_id: UUID) -> UUID:
        """A partner billing in UTC, whose default card the simulator accepts or declines.
        Partners' and clients' ids are drawn, not random: where an id sorts can matter (it
        did: a client billed by two resellers, issue 11), and a failure must replay."""
        opened = self.ledger.open_partner_account(
            name=f"Partner {len(self.partners)}",
            currency=currency,
            time_zone="UTC",
            partner_id=partner_id,
        )
        assert opened.aggregate_id is not None
        number = DECLINED_CARD if card_declines else GOOD_CARD
        card = CardDetails(number, 12, 2030, "Ada Lovelace", "123", "10001")
        self.ledger.add_payment_method(opened.aggregate_id, card, make_default=True)
        self.partners[opened.aggregate_id] = ModelPartner(currency, card_declines)
        return opened.aggregate_id

    @precondition(lambda self: self.partners)
    @rule(
        data=st.data(),
        amount=st.integers(1, 200_000),
        kind=st.sampled_from(["bank", "card", "bank", "card", "zero", "too_large", "other"]),
    )
    def top_up(self, data: st.DataObject, amount: int, kind: str) -> None:
        """Money onto the company balance by bank or card (R-C2); a declined card, nothing,
        too much at once (an amount's bound) or the other currency tops up nothing."""
        partner_id = self.pick(data, list(self.partners), "partner")
        partner = self.partners[partner_id]
        source = PaymentSource.CARD if kind == "card" else PaymentSource.BANK_TRANSFER
        currency = partner.currency
        refusals = set()
        if kind == "card" and partner.card_declines:
            refusals.add("payment_declined")
        elif kind == "zero":
            amount = 0
            refusals.add("amount_not_positive")
        elif kind == "too_large":
            amount = AMOUNT_MAX_MINOR + 1
            refusals.add("amount_too_large")
        elif kind == "other":
            currency = OTHER_CURRENCY[currency]
            refusals.add("currency_mismatch")
        money = Money(amount, currency)
        topped = self.attempt(refusals, lambda: self.ledger.top_up(partner_id, money, source))
        if topped is not None:
            partner.balance += amount

    @precondition(lambda self: self.partners)
    @rule(
        data=st.data(),
        amount=st.sampled_from([1, 2_000, 15_000, 40_000, VENDOR_CREDIT_MAX_MINOR + 1]),
    )
    def grant_bonus(self, data: st.DataObject, amount: int) -> None:
        """The vendor's promotion credit (R-C5); one above the most a credit grants is refused."""
        partner_id = self.pick(data, list(self.partners), "partner")
        partner = self.partners[partner_id]
        refusals = {"bonus_credit_too_large"} if amount > VENDOR_CREDIT_MAX_MINOR else set()
        money = Money(amount, partner.currency)
        granted = self.attempt(
            refusals,
            lambda: self.ledger.grant_bonus(partner_id, money, CreditReason.PROMOTION, "launch"),
        )
        if granted is not None:
            partner.bonus += amount

    # --- clients and lines ------------------------------------------------------------

    @precondition(
        lambda self: (
            self.partners and sum(len(p.clients) for p in self.partners.values()) < CLIENTS_MAX
        )
    )
    @rule(data=st.data(), client_id=st.uuids())
    def register_client(self, data: st.DataObject, client_id: UUID) -> None:
        assume(client_id not in self.ids)
        self.register(self.pick(data, list(self.partners), "partner"), client_id)

    def register(self, partner_id: UUID, client_id: UUID) -> UUID:
        registered = self.ledger.register_client(
            partner_id,
            name="Bistro",
            email="owner@bistro.example",
            unified_billing=False,
            client_id=client_id,
        )
        assert registered.aggregate_id is not None
        self.partners[partner_id].clients.append(registered.aggregate_id)
        return registered.aggregate_id

    @precondition(
        lambda self: len(self.lines) < LINES_MAX and any(p.clients for p in self.partners.values())
    )
    @rule(
        data=st.data(),
        product=st.sampled_from(["email-signatures", "messaging-line"]),
        term=st.sampled_from(list(TERM_MONTHS)),
        client_pays=st.booleans(),
        line_id=st.uuids(),
    )
    def start_line(
        self, data: st.DataObject, product: str, term: Term, client_pays: bool, line_id: UUID
    ) -> None:
        """A line is created and activated today: its first invoice bills one whole period."""
        assume(line_id not in self.lines)
        with_clients = [pid for pid, p in self.partners.items() if p.clients]
        partner_id = self.pick(data, with_clients, "partner")
        client_id = self.pick(data, self.partners[partner_id].clients, "client")
        self.start(partner_id, client_id, product, term, client_pays, line_id)

    def start(
        self,
        partner_id: UUID,
        client_id: UUID,
        product: str,
        term: Term,
        client_pays: bool,
        line_id: UUID,
    ) -> None:
        """Lines' ids are drawn too: the billing clock works in their order, which decides
        the order invoices are issued in, and so what later draws pick."""
        created = self.ledger.create_line(
            partner_id,
            client_id,
            product,
            term=term,
            payer=Payer.CLIENT if client_pays else Payer.PARTNER,
            line_id=line_id,
        )
        assert created.aggregate_id == line_id
        activated = self.ledger.activate_line(created.aggregate_id)
        today = self.today
        line = ModelLine(
            partner_id=partner_id,
            client_id=client_id,
            client_pays=client_pays,
            product=product,
            term=term,
            anchor_day=today.day,
            current_start=today,
            next_start=anchored(today, TERM_MONTHS[term], today.day),
        )
        self.lines[created.aggregate_id] = line
        self.issue(UUID(activated.data["invoice_id"]), created.aggregate_id)

    @precondition(lambda self: self.lines)
    @rule(data=st.data(), again=st.sampled_from([False, False, True]))
    def renew_line(self, data: st.DataObject, again: bool) -> None:
        """The next period, renewed ahead by command (R-C1): one more whole period billed.
        Naming the current period again is refused: a period is renewed once (R-X5)."""
        line_id = self.pick(data, list(self.lines), "line")
        line = self.lines[line_id]
        period_start = line.current_start if again else line.next_start
        refusals = set()
        if not line.active:
            refusals.add("line_not_active")
        elif again:
            refusals.add("period_already_renewed")
        elif line.next_start > self.today + timedelta(days=RENEWAL_AHEAD_DAYS):
            refusals.add("date_out_of_range")
        renewed = self.attempt(refusals, lambda: self.ledger.renew_line(line_id, period_start))
        if renewed is not None:
            line.renewed()
            self.issue(UUID(renewed.data["invoice_id"]), line_id)

    @precondition(lambda self: self.lines and len(self.partners) > 1)
    @rule(
        data=st.data(),
        billing=st.sampled_from([Term.MONTHLY, Term.ANNUAL]),
        preferred_in_days=st.integers(0, 6),
        settle_first=st.sampled_from([True, True, False]),
        same_currency=st.sampled_from([True, True, False]),
    )
    def request_transfer(
        self,
        data: st.DataObject,
        billing: Term,
        preferred_in_days: int,
        settle_first: bool,
        same_currency: bool,
    ) -> None:
        """A client moves its line to another reseller with every consent (R-E1, R-E2): the
        billing clock moves it on the preferred day, no sooner than two business days on
        (R-E4). Refused while an invoice of the line is open (R-E3), to a reseller in
        another currency, or for a line that is not active or already moving."""
        line_id = self.pick(data, list(self.lines), "line")
        line = self.lines[line_id]
        if settle_first:  # R-E3: what the line owes is paid by bank first
            for invoice_id, invoice in self.invoices.items():
                if invoice.line_id == line_id and invoice.status == "open":
                    owed = invoice.outstanding
                    paid = self.ledger.pay_invoice(invoice_id, PaymentSource.BANK_TRANSFER)
                    self.record_paid(
                        invoice, UUID(paid.data["payment_id"]), PaymentSource.BANK_TRANSFER, owed
                    )
        currency = self.partners[line.partner_id].currency
        others = [p for p in self.partners if p != line.partner_id]
        alike = [p for p in others if self.partners[p].currency == currency]
        new_partner_id = self.pick(data, alike if alike and same_currency else others, "reseller")
        refusals = set()
        if self.partners[new_partner_id].currency != self.partners[line.partner_id].currency:
            refusals.add("currency_mismatch")
        if not line.active:
            refusals.add("line_not_active")
        elif line.transfer is not None:
            refusals.add("transfer_not_allowed")
        elif self.owes(line_id):
            refusals.add("invoice_not_settled")
        today = self.today
        request = TransferRequest(
            end_user_name="Bistro Uno",
            current_reseller_id=line.partner_id,
            new_reseller_id=new_partner_id,
            preferred_date=today + timedelta(days=preferred_in_days),
            owner_email="owner@bistro.example",
            invoice_email="invoices@bistro.example",
            billing=billing,
            payment_method=PaymentSource.BANK_TRANSFER,
        )
        requested = self.attempt(
            refusals,
            lambda: self.ledger.request_transfer(line_id, request, tuple(TransferParty)),
        )
        if requested is not None:
            effective_on = max(request.preferred_date, business_days_after(today, 2))
            assert requested.data["effective_on"] == effective_on.isoformat()
            line.transfer = (new_partner_id, effective_on, billing)

    @precondition(lambda self: self.lines)
    @rule(data=st.data())
    def stop_line(self, data: st.DataObject) -> None:
        line_id = self.pick(data, list(self.lines), "line")
        line = self.lines[line_id]
        refusals = set() if line.active else {"invalid_transition"}
        cancelled = self.attempt(
            refusals, lambda: self.ledger.cancel_line(line_id, "closed the shop")
        )
        if cancelled is not None:
            line.active, line.transfer = False, None

    @rule(days=st.integers(1, 12))
    def time_passes(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))
        self.the_billing_clock_ticks()

    @precondition(lambda self: self.today < CLOCK_STOPS_ON)
    @rule()
    def the_month_ends(self) -> None:
        """To the first of the next month: lines started on the 31st renew on the 28th of
        February and the 31st of March (R-O2). (The rule of fewest arguments: hypothesis's
        first, simplest example repeats it, and so runs the clock for a year.)"""
        now = self.clock.now()
        first = (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=30)
        self.clock.advance(first - now)
        self.the_billing_clock_ticks()

    def the_billing_clock_ticks(self) -> None:
        """The billing clock renews every line whose period ended, one whole period each
        (R-C1, R-O2), and completes the transfers due if the line owes nothing (R-E3); what
        else it does (overdue, grace) moves no money."""
        report = tick(self.ledger, self.clock.now())
        expected, refused = self.work_due()
        assert dict(report.refused) == ({"complete_transfer": refused} if refused else {})
        issued = self.issued_since_model()
        found: Counter[tuple[UUID, UUID, int]] = Counter()
        for invoice in issued:
            [line_id] = invoice.line_ids
            found[(line_id, invoice.payer_id, invoice.total.amount_minor)] += 1
            self.issue(invoice.id, line_id)
        assert found == expected
        if issued:
            event("the billing clock renewed")

    def work_due(self) -> tuple[Counter[tuple[UUID, UUID, int]], int]:
        """The model of a tick: rounds of the work due, each in order of day, a transfer
        before a renewal on the same day, each piece tried once; a transfer finding an
        invoice of its line open is refused and tried again at the next tick (R-E3).
        Answers the renewals billed (line, payer, amount) and the transfers refused."""
        today = self.today
        billed: Counter[tuple[UUID, UUID, int]] = Counter()
        opened: set[UUID] = set()  # lines billed in this tick: their new invoice is open
        tried: set[UUID] = set()
        refused = 0
        while True:
            due = sorted(
                [
                    (line.next_start, 1, line_id)
                    for line_id, line in self.lines.items()
                    if line.active and line.next_start <= today
                ]
                + [
                    (line.transfer[1], 0, line_id)
                    for line_id, line in self.lines.items()
                    if line.transfer and line.transfer[1] <= today and line_id not in tried
                ]
            )
            if not due:
                return billed, refused
            for _, renewal, line_id in due:
                line = self.lines[line_id]
                if renewal:
                    currency = self.partners[line.partner_id].currency
                    billed[
                        (line_id, line.payer_id, price_of(line.product, currency, line.term))
                    ] += 1
                    line.renewed()
                    opened.add(line_id)
                    continue
                tried.add(line_id)
                assert line.transfer is not None
                if line_id in opened or self.owes(line_id):
                    refused += 1
                    continue
                line.partner_id, _, line.term = line.transfer
                line.transfer = None
                if line.client_id not in self.partners[line.partner_id].clients:
                    self.partners[line.partner_id].clients.append(line.client_id)
                event("a line moved to another reseller")

    def owes(self, line_id: UUID) -> bool:
        return any(i.line_id == line_id and i.status == "open" for i in self.invoices.values())

    def issued_since_model(self) -> list[Invoice]:
        with self.ledger.reads.connection() as conn:
            rows = conn.execute(
                f"SELECT originator_id FROM {EVENTS_TABLE} WHERE topic LIKE '%%Invoice.Issued' "
                "ORDER BY notification_id"
            ).fetchall()
        return [
            self.ledger.invoice(UUID(str(row[0])))
            for row in rows
            if UUID(str(row[0])) not in self.invoices
        ]

    # --- paying -----------------------------------------------------------------------

    @precondition(lambda self: self.invoices)
    @rule(
        data=st.data(),
        source=st.sampled_from(
            [
                PaymentSource.BANK_TRANSFER,
                PaymentSource.COMPANY_BALANCE,
                PaymentSource.CASH,
                PaymentSource.BONUS,
                PaymentSource.BANK_TRANSFER,
            ]
        ),
        portion=st.sampled_from([None, "half", *PORTIONS]),
        in_other_currency=st.sampled_from([False, False, False, True]),
    )
    def pay(
        self,
        data: st.DataObject,
        source: PaymentSource,
        portion: str | None,
        in_other_currency: bool,
    ) -> None:
        """Pay from inside (balance, bonuses: R-C2, R-C5) or record money received (R-H2):
        what is owed by default, or a part, or one unit more than is owed; now and then in
        the other currency."""
        invoice_id = self.pick(data, list(self.invoices), "invoice")
        invoice = self.invoices[invoice_id]
        partner = self.partners[invoice.partner_id]
        amount = (
            invoice.outstanding if portion is None else amount_for(portion, invoice.outstanding)
        )
        currency = invoice.currency
        if in_other_currency and portion is not None:
            currency = OTHER_CURRENCY[currency]
        refusals = self.invoice_status_refusals(invoice)
        if currency != invoice.currency:
            refusals.add("currency_mismatch")
        if amount <= 0:
            refusals.add("amount_not_positive")
        if amount > invoice.outstanding:
            refusals.add("overpayment")
        if source is PaymentSource.COMPANY_BALANCE and amount > partner.balance:
            refusals.add("insufficient_balance")
        if source is PaymentSource.BONUS and amount > partner.bonus:
            refusals.add("insufficient_bonus")
        money = None if portion is None else Money(amount, currency)
        paid = self.attempt(
            refusals,
            lambda: self.ledger.pay_invoice(invoice_id, source, amount=money, reference="r-1"),
        )
        if paid is not None:
            self.record_paid(invoice, UUID(paid.data["payment_id"]), source, amount)

    def record_paid(
        self, invoice: ModelInvoice, payment_id: UUID, source: PaymentSource, amount: int
    ) -> None:
        partner = self.partners[invoice.partner_id]
        payment = ModelPayment(source, amount)
        invoice.payments[payment_id] = payment
        if source is PaymentSource.COMPANY_BALANCE:
            partner.balance -= amount
        elif source is PaymentSource.BONUS:
            partner.bonus -= amount
        elif invoice.client_pays:  # a client paid its own line with its own money: R-C4
            payment.cashback_earned = payment.cashback_left = percent_of(amount, CASHBACK_PERCENT)
            partner.bonus += payment.cashback_earned
        invoice.settle_if_paid()

    @precondition(lambda self: self.invoices)
    @rule(data=st.data())
    def pay_by_card(self, data: st.DataObject) -> None:
        """A partner's card pays what is owed plus the 3 % fee as its own line (R-O7); a
        declined card records the failure (R-H2, R-H4) and moves no money. A client's line
        has no card here, so its invoice has nothing to charge."""
        invoice_id = self.pick(data, list(self.invoices), "invoice")
        invoice = self.invoices[invoice_id]
        partner = self.partners[invoice.partner_id]
        refusals = set()
        if invoice.client_pays:
            refusals.add("no_payment_method")
        elif invoice.outstanding <= 0:
            refusals.add("nothing_outstanding")
        charged = self.attempt(
            refusals, lambda: self.ledger.pay_invoice(invoice_id, PaymentSource.CARD)
        )
        if charged is None:
            return
        if partner.card_declines:
            assert charged.data["charge_status"] == "declined"
            event("a card charge was declined")
            return
        owed = invoice.outstanding
        fee = percent_of(owed, CARD_FEE_PERCENT)
        invoice.total += fee
        payment = ModelPayment(PaymentSource.CARD, owed + fee, fee=fee)
        invoice.payments[UUID(charged.data["payment_id"])] = payment
        invoice.settle_if_paid()

    # --- corrections ------------------------------------------------------------------

    @precondition(lambda self: any(i.payments for i in self.invoices.values()))
    @rule(data=st.data(), portion=st.sampled_from(PORTIONS))
    def refund(self, data: st.DataObject, portion: str) -> None:
        """Part or all of a payment goes back (R-H6): onto the balance if it came from there;
        a client's payment takes back its share of the cashback, as far as the wallet holds
        it (R-C4). Cash and bonuses are not refunded; nor more than is left."""
        invoice_id = self.pick(
            data, [i for i, inv in self.invoices.items() if inv.payments], "invoice"
        )
        invoice = self.invoices[invoice_id]
        payment_id = self.pick(data, list(invoice.payments), "payment")
        payment = invoice.payments[payment_id]
        refundable = payment.amount - payment.refunded
        amount = amount_for(portion, refundable)
        refusals = set()
        if payment.source is PaymentSource.CASH:
            refusals.add("offline_payment_not_refundable")
        if payment.source is PaymentSource.BONUS:
            refusals.add("bonus_payment_not_refundable")
        if amount <= 0:
            refusals.add("amount_not_positive")
        if amount > refundable:
            refusals.add("refund_exceeds_payment")
        money = Money(amount, invoice.currency)
        refunded = self.attempt(
            refusals, lambda: self.ledger.refund(invoice_id, payment_id, money, "goodwill")
        )
        if refunded is None:
            return
        partner = self.partners[invoice.partner_id]
        if payment.source is PaymentSource.COMPANY_BALANCE:
            partner.balance += amount
        due = taken_back_after(payment, payment.refunded + amount) - taken_back_after(
            payment, payment.refunded
        )
        owed = min(due, payment.cashback_left)
        payment.cashback_left -= owed  # what the wallet no longer holds is a shortfall
        partner.bonus -= min(owed, partner.bonus)
        payment.refunded += amount

    @precondition(lambda self: self.invoices)
    @rule(data=st.data())
    def void(self, data: st.DataObject) -> None:
        """Only an invoice nothing was paid or credited on is voided (R-X6)."""
        invoice_id = self.pick(data, list(self.invoices), "invoice")
        invoice = self.invoices[invoice_id]
        refusals = set()
        if invoice.status == "void":
            refusals.add("invoice_voided")
        elif invoice.payments or invoice.credited:
            refusals.add("void_not_allowed")
        voided = self.attempt(refusals, lambda: self.ledger.void_invoice(invoice_id, "by mistake"))
        if voided is not None:
            invoice.status = "void"

    @precondition(lambda self: self.invoices)
    @rule(data=st.data(), portion=st.sampled_from(PORTIONS))
    def credit(self, data: st.DataObject, portion: str) -> None:
        """A credit note of up to what is not credited yet, paid or not (R-X6)."""
        invoice_id = self.pick(data, list(self.invoices), "invoice")
        invoice = self.invoices[invoice_id]
        creditable = invoice.total - invoice.credited
        amount = amount_for(portion, creditable)
        refusals = set()
        if invoice.status == "void":
            refusals.add("invoice_voided")
        if amount <= 0:
            refusals.add("amount_not_positive")
        if amount > creditable:
            refusals.add("credit_exceeds_invoice")
        money = Money(amount, invoice.currency)
        credited = self.attempt(
            refusals, lambda: self.ledger.issue_credit_note(invoice_id, money, "price adjusted")
        )
        if credited is not None:
            invoice.credited += amount
            invoice.settle_if_paid()

    @precondition(lambda self: self.invoices)
    @rule(data=st.data())
    def request_closing_document(self, data: st.DataObject) -> None:
        """An act of completed work for a settled invoice, once, for what card, bank and
        company balance paid and was not refunded (R-C7); none for bonuses or cash."""
        invoice_id = self.pick(data, list(self.invoices), "invoice")
        invoice = self.invoices[invoice_id]
        documentable = sum(
            max(payment.amount - payment.fee - payment.refunded, 0)
            for payment in invoice.payments.values()
            if payment.source in DOCUMENTED_SOURCES
        )
        refused = invoice.status != "settled" or invoice.documented or documentable <= 0
        requested = self.attempt(
            {"closing_document_not_allowed"} if refused else set(),
            lambda: self.ledger.request_closing_document(invoice_id),
        )
        if requested is not None:
            assert requested.data["amount_minor"] == documentable
            invoice.documented = True

    # --- what must hold after every step ----------------------------------------------

    @invariant()
    def the_ledger_agrees_with_the_model(self) -> None:
        self.runner.catch_up()
        with self.ledger.reads.connection() as conn:
            self.check_journal(conn)
            self.check_invoice_read_model(conn)
        # The aggregates the last step wrote (one left alone cannot have changed).
        changed = self.written_since_last_check()
        for partner_id, partner in self.partners.items():
            if partner_id in changed:
                account = self.ledger.partner_account(partner_id)
                assert account.balance == Money(partner.balance, partner.currency)
            if bonus_wallet_id(partner_id) in changed:
                wallet = self.ledger.load(BonusWallet, bonus_wallet_id(partner_id))
                assert wallet is not None
                assert wallet.balance == Money(partner.bonus, partner.currency)
        for invoice_id, invoice in self.invoices.items():
            if invoice_id not in changed:
                continue
            found = self.ledger.invoice(invoice_id)
            assert (
                found.status.value,
                found.total.amount_minor,
                found.paid.amount_minor,
                found.credited.amount_minor,
                found.refunded.amount_minor,
                found.outstanding.amount_minor,
            ) == self.expected_invoice(invoice), invoice_id

    def written_since_last_check(self) -> set[UUID]:
        with self.ledger.reads.connection() as conn:
            rows = conn.execute(
                f"SELECT DISTINCT originator_id FROM {EVENTS_TABLE} WHERE notification_id > %s",
                (self.checked_position,),
            ).fetchall()
            head = conn.execute(f"SELECT max(notification_id) FROM {EVENTS_TABLE}").fetchone()
        self.checked_position = int(head[0]) if head and head[0] is not None else 0
        return {UUID(str(row[0])) for row in rows}

    @staticmethod
    def expected_invoice(invoice: ModelInvoice) -> tuple[str, int, int, int, int, int]:
        return (
            invoice.status,
            invoice.total,
            invoice.paid,
            invoice.credited,
            invoice.refunded,
            invoice.outstanding,
        )

    def check_journal(self, conn: Any) -> None:
        """R-X2: debits equal credits per currency; every account's running total is the sum
        of its entries; the partners' and paying clients' accounts hold what the model says."""
        for currency, (debits, credits) in balances.trial_balance(conn).items():
            assert debits == credits, (currency, debits, credits)
        summed = {
            (row.account_kind, row.owner_id, row.currency): row.balance_minor
            for row in balances.balances(conn)
        }
        running = {
            (kind, None if owner == balances.VENDOR else owner, currency): int(debit - credit)
            for kind, owner, currency, debit, credit in conn.execute(
                "SELECT account_kind, owner_id, currency, debit_minor, credit_minor "
                "FROM account_balances"
            )
        }
        assert running == summed
        expected: dict[tuple[str, UUID | None, str], int] = {}
        for partner_id, partner in self.partners.items():
            expected[("prepaid_balance", partner_id, partner.currency)] = -partner.balance
            expected[("bonus_liability", partner_id, partner.currency)] = -partner.bonus
        for invoice in self.invoices.values():
            key = ("receivable", invoice.payer_id, invoice.currency)
            expected[key] = expected.get(key, 0) + invoice.receivable
        held = {key: summed.get(key, 0) for key in expected}
        assert held == expected

    def check_invoice_read_model(self, conn: Any) -> None:
        rows = conn.execute(
            "SELECT invoice_id, status, total_minor, paid_minor, credited_minor, refunded_minor, "
            "outstanding_minor, number FROM invoices"
        ).fetchall()
        read = {row[0]: tuple(row[1:7]) for row in rows}
        assert read == {i: self.expected_invoice(inv) for i, inv in self.invoices.items()}
        numbers: dict[str, list[int]] = {}
        for *_, number in rows:  # INV-2026-000042: gapless per yearly series (R-X3)
            series, _, sequence = number.rpartition("-")
            numbers.setdefault(series, []).append(int(sequence))
        for sequence in numbers.values():
            assert sorted(sequence) == list(range(1, len(sequence) + 1))


def test_the_ledger_agrees_with_a_plain_model_of_balances_and_invoices(
    postgres_server: Database, database_copies: DatabaseCopies
) -> None:
    """R-X2, R-X3, R-X5, R-X6, R-C2, R-C3, R-C4, R-C5, R-H2, R-H6, R-O2, R-O7: random runs of
    every money command, and of refused ones, keep the ledger, its read models and a plain
    model in step."""

    class Machine(LedgerMachine):
        server = postgres_server
        copies = database_copies

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            print_blob=True,
        ),
    )
