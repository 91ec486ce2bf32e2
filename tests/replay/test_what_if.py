"""What-if (issue 14): the history re-decided under proposed policy values, compared per partner
with the live read models, which it never writes, nor the log.

A Moscow partner (tests/ledger/scenarios/test_chatapp.py: messaging lines at 1 500.00 RUB a
month) with, over two simulated months of the billing clock (31 Jan to 31 Mar 2026):
- "bar", its own monthly line: the first invoice paid by card (3 % fee, R-O7), the two renewals
  from the company balance by autopay (R-C2);
- "cafe", a twelve-month line paid from the company balance: 18 000.00 less the 10 % duration
  discount (R-C3) = 16 200.00;
- "yoga", a client's monthly line paid by the client's card, three times: each 1 500.00 plus
  the 45.00 fee, each earning the partner 10 % cashback on the price (R-C4).
Each test builds it once (about half a second) and runs what-ifs on it (a tenth of a second
each); the random history costs about a second more: it walks refunds, credit notes, voids,
partial payments and transfers, which the story does not.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from domain.calendar import Term
from domain.errors import InvalidValue, PartnerNotFound, UnknownProduct
from domain.values import Payer
from ledger.application import Ledger
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock
from ledger.database import Database
from projections.balances import Balances
from projections.cashback import Cashback
from projections.invoices import InvoiceHistory
from replay.what_if import WhatIf, proposal, what_if
from tests.histories import make_history
from tests.ledger.scenarios.test_chatapp import (
    BALANCE,
    CARD,
    LINE,
    LINE_FEE,
    VISA,
    buy,
    client,
    open_partner,
    rub,
)
from tests.projections.support import live_runner

TOP_UP = 2_000_000
TWELVE_PRICE = 12 * LINE
MONTH_ENDS = (datetime(2026, 2, 28, 6, tzinfo=UTC), datetime(2026, 3, 31, 6, tzinfo=UTC))
"""09:00 in Moscow on each renewal day: the billing clock runs then."""
CHANGE_DAY = date(2026, 2, 2)


def story(ledger: Ledger, clock: SimulatedClock, key: str = "p1") -> UUID:
    """The partner of the module docstring; its read models caught up."""
    partner = open_partner(ledger, key=key)
    ledger.add_payment_method(partner, VISA, make_default=True)
    _, bar = buy(ledger, partner, client(ledger, partner, "Бар"), f"{key}/bar")
    ledger.pay_invoice(bar.id, CARD)
    ledger.set_account_autopay(partner, BALANCE)
    ledger.top_up(partner, rub(TOP_UP), BALANCE.BANK_TRANSFER, reference="ПП № 1")
    buy(ledger, partner, client(ledger, partner, "Кафе"), f"{key}/cafe", term=Term.TWELVE_MONTHS)
    yoga = client(ledger, partner, "Йога")
    buy(ledger, partner, yoga, f"{key}/yoga", payer=Payer.CLIENT, card=VISA)
    return partner


def caught_up(database: Database) -> None:
    runner = live_runner(database, Balances(), InvoiceHistory(), Cashback())
    runner.catch_up()
    runner.close()


def billed(ledger: Ledger, clock: SimulatedClock, database: Database) -> UUID:
    partner = story(ledger, clock)
    for day in MONTH_ENDS:
        clock.set(day)
        tick(ledger, day)
    caught_up(database)
    return partner


def differences(result: WhatIf) -> dict[str, int]:
    [found] = result.differences
    return {figure.name: figure.difference_minor for figure in found.figures}


def test_r_o7_r_c4_r_c3_with_nothing_changed_the_history_replays_to_the_live_read_models(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = billed(ledger, clock, database)
    for partner_id in (None, partner):
        result = what_if(database, proposal({}), partner_id=partner_id)
        assert (result.empty, result.events_redecided, result.partners) == (True, 0, 1)
    # The same rates proposed again decide the same amounts: still no difference.
    same = {"card_fee_rate": "0.03", "cashback_rate": "0.10"}
    assert what_if(database, proposal({**same, "duration_discount:twelve_months": "0.1"})).empty


def test_r_o7_a_lower_card_fee_changes_the_fees_and_what_was_paid_and_nothing_else(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = billed(ledger, clock, database)
    result = what_if(database, proposal({"card_fee_rate": "0.025"}))
    # Four card payments of 1 500.00: each fee 37.50 instead of 45.00 (R-O7). Cashback is on
    # the price only, so it stays (R-C4); the balance paid no fee, so it stays.
    fees = 4 * (LINE * 25 // 1000 - LINE_FEE)
    assert differences(result) == {
        "invoiced_minor": fees,
        "card_fees_minor": fees,
        "paid_minor": fees,
    }
    [found] = result.differences
    assert found.partner_id == partner
    assert [i.total.difference_minor for i in found.invoices] == [-750] * 4
    assert [i.outstanding.what_if_minor for i in found.invoices] == [0] * 4


def test_r_c3_r_c4_a_discount_moves_the_balance_and_a_cashback_rate_the_wallet(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    billed(ledger, clock, database)
    discount = what_if(database, proposal({"duration_discount:twelve_months": "0.15"}))
    # 15 % of 18 000.00 instead of 10 %: 900.00 less to pay, and the company balance that
    # paid it keeps the 900.00 (R-C3, R-C2).
    more = TWELVE_PRICE * 5 // 100
    assert differences(discount) == {
        "invoiced_minor": -more,
        "discounts_minor": more,
        "paid_minor": -more,
        "company_balance_minor": more,
    }
    cashback = what_if(database, proposal({"cashback_rate": "0.07"}))
    # Three client payments of 1 500.00 earn 105.00 each instead of 150.00 (R-C4).
    less = 3 * (LINE * 7 // 100 - LINE // 10)
    assert differences(cashback) == {"cashback_minor": less, "bonus_wallet_minor": less}


def test_r_o7_from_a_date_on_only_later_amounts_are_decided_again(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    billed(ledger, clock, database)
    later = what_if(database, proposal({"card_fee_rate": "0.025"}, date(2026, 3, 1)))
    # Only the client's renewal of 31 March was paid by card from 1 March on.
    assert differences(later) == {
        "invoiced_minor": -750,
        "card_fees_minor": -750,
        "paid_minor": -750,
    }
    assert what_if(database, proposal({"card_fee_rate": "0.025"}, date(2026, 4, 1))).empty


def test_r_o7_r_c4_a_fee_and_cashback_the_recorded_policy_did_not_make_are_added(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    """The policy dropped the card fee and the cashback from 2 February (version 1); a
    what-if of keeping them puts back the client's two renewals' fees and cashback."""
    ledger.schedule_policy_change({"card_fee_rate": "0", "cashback_rate": "0"}, CHANGE_DAY)
    billed(ledger, clock, database)
    kept = proposal({"card_fee_rate": "0.03", "cashback_rate": "0.1"}, CHANGE_DAY)
    result = what_if(database, kept)
    assert differences(result) == {
        "invoiced_minor": 2 * LINE_FEE,
        "card_fees_minor": 2 * LINE_FEE,
        "paid_minor": 2 * LINE_FEE,
        "cashback_minor": 2 * LINE // 10,
        "bonus_wallet_minor": 2 * LINE // 10,
    }
    assert result.events_redecided == 2 + 2 + 2  # two fee lines, two payments, two credits


def test_r_o7_r_c4_a_proposed_price_reprices_the_periods_from_its_date_and_what_follows(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    billed(ledger, clock, database)
    dearer = proposal({}, date(2026, 2, 28), {"messaging-line@RUB": str(LINE + 10_000)})
    result = what_if(database, dearer)
    # The periods from 28 February on: the bar's two renewals, paid from the balance, and the
    # client's two, paid by card with the 3 % fee (48.00 instead of 45.00) and earning 10 %
    # cashback (160.00 instead of 150.00). The twelve months from 31 January keep their price.
    assert differences(result) == {
        "invoiced_minor": 4 * 10_000 + 2 * 300,
        "card_fees_minor": 2 * 300,
        "paid_minor": 4 * 10_000 + 2 * 300,
        "cashback_minor": 2 * 1_000,
        "company_balance_minor": -2 * 10_000,
        "bonus_wallet_minor": 2 * 1_000,
    }
    assert result.prices == {"messaging-line@RUB": LINE + 10_000}
    with pytest.raises(UnknownProduct):
        what_if(database, proposal({}, None, {"messaging-line@PLN": "100"}))


def test_a_partner_limits_the_what_if_to_its_own_history(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    first = story(ledger, clock)
    second = story(ledger, clock, key="p2")
    caught_up(database)
    lower = proposal({"card_fee_rate": "0.025"})
    everyone = what_if(database, lower)
    assert (everyone.partners, [d.partner_id for d in everyone.differences]) == (
        2,
        sorted([first, second], key=str),
    )
    alone = what_if(database, lower, partner_id=second)
    assert (alone.partners, [d.partner_id for d in alone.differences]) == (1, [second])
    assert alone.differences[0].figures == next(
        d.figures for d in everyone.differences if d.partner_id == second
    )
    with pytest.raises(PartnerNotFound):
        what_if(database, lower, partner_id=uuid4())


def fingerprint(database: Database) -> dict[str, str]:
    """The log, every table of every schema but the temporary ones (the live read models,
    their generations, the ledger's own), and the list of relations, each as a digest."""
    with database.connect() as conn:
        tables = conn.execute(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'v') "
            "AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' ORDER BY 1"
        ).fetchall()
        digests = {
            "relations": str(tables),
            "ledger_events": str(
                conn.execute(
                    "SELECT count(*), md5(string_agg(e::text, ',' ORDER BY notification_id)) "
                    "FROM ledger_events e"
                ).fetchone()
            ),
        }
        for (table,) in tables:
            digests[table] = str(
                conn.execute(
                    f"SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) "
                    f"FROM {table} t"
                ).fetchone()
            )
    return digests


def test_a_what_if_writes_neither_the_log_nor_the_live_read_models(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = billed(ledger, clock, database)
    before = fingerprint(database)
    assert "rm_balances_1.journal" in before
    every_rule = {
        "card_fee_rate": "0",
        "cashback_rate": "0.2",
        "duration_discount:twelve_months": "0.5",
    }
    assert not what_if(database, proposal(every_rule), partner_id=partner).empty
    assert fingerprint(database) == before


def test_bad_proposals_are_refused_with_the_value_they_name() -> None:
    for changes, named in (
        ({"grace_period_days": "3"}, "grace_period_days"),
        ({"card_fee_rate": "1.5"}, "card_fee_rate"),
        ({"duration_discount:fortnight": "0.1"}, "duration_discount:fortnight"),
    ):
        with pytest.raises(InvalidValue) as refused:
            proposal(changes)
        assert refused.value.fields["field"] == named
    for prices, named in (
        ({"messaging-line": "100"}, "price"),
        ({"messaging-line@RUB": "1.5"}, "price"),
        ({"messaging-line@RUB": "0"}, "price"),
        ({"messaging-line@RUB": "9" * 4_000}, "price"),
        ({"Messaging Line@RUB": "100"}, "code"),
    ):
        with pytest.raises(InvalidValue) as refused:
            proposal({}, None, prices)
        assert refused.value.fields["field"] == named


def test_r_x2_a_random_history_with_nothing_changed_replays_to_the_live_read_models(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    """Refunds, credit notes, voids, partial payments, bonus payments and transfers (R-E1):
    the re-decision is exact where nothing changed, and runs where much does."""
    made = make_history(ledger, clock, seed=7, steps=150, transfers=True)
    caught_up(database)
    assert len(made.invoices) >= 10
    unchanged = what_if(database, proposal({}))
    assert unchanged.empty
    assert 0 < unchanged.partners <= len(made.partners)
    changed = what_if(database, proposal({"card_fee_rate": "0.01", "cashback_rate": "0.2"}))
    assert changed.events_redecided > 0
    assert not changed.empty
