"""Many writers at once, on the same aggregates, through two processes' writers (issue 11).

Real threads send commands through two `Ledger`s on one database (two writers with their own
caches, as two `ledgerline serve` processes have), in seeded orders:

- many writers on one partner account and its invoices: one winner per version, no lost
  update; the end state, and every answer on the way, equal a sequential model of the
  accepted commands in log order; the refused are refused with their codes and wrote nothing;
- readers tailing the log by notification id while writers write (and batches fail) see
  strictly increasing positions and, at the end, exactly the stored set;
- a partner paying from its balance while top-ups, refunds and cashback land on it: no
  deadlock, money conserved (trial balance zero, each balance the sum of its entries), every
  command committed and answered, or refused and written nowhere.

Each test costs a fraction of a second of CPU; LEDGERLINE_SOAK=1 runs five times the seeds
and commands (`SCALE`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
import pytest

from domain.bonus_wallet import BonusWallet
from domain.errors import BillingError
from domain.values import bonus_wallet_id
from ledger.application import EVENTS_TABLE, Ledger
from ledger.database import Database
from projections.balances import Balances, balances, trial_balance
from tests.ledger.concurrency_support import (
    BALANCE,
    BANK,
    JOIN_TIMEOUT_S,
    READ_PAGE,
    SCALE,
    TAIL_IDLE_S,
    Order,
    assert_written_exactly_by_the_answered,
    client_invoices,
    logged_keys,
    payments,
    refunds,
    send_all,
    top_ups,
    usd,
    versions,
)
from tests.ledger.payments_support import SIGNATURES, open_partner
from tests.ledger.test_writer import WriteScribble
from tests.projections.support import live_runner


@pytest.mark.parametrize("seed", range(1, 1 + 2 * SCALE))
def test_many_writers_on_one_account_and_its_invoices_equal_a_sequential_model(
    ledger: Ledger, second_process: Ledger, database: Database, seed: int
) -> None:
    partner, _, invoices = open_partner(ledger, lines=4 * SCALE)
    # Enough for two invoices from the start: the first payments race each other at once.
    ledger.top_up(partner, usd(2 * SIGNATURES), BANK, reference="W0")
    first_version = ledger.partner_account(partner).version
    logged_before = logged_keys(database)
    rng = random.Random(seed)
    orders = top_ups(partner, 8 * SCALE, rng) + payments(invoices, BALANCE, times=3)

    outcomes = send_all(orders, (ledger, second_process), seed)

    # The accepted commands, replayed one at a time in log order: each top-up answered the
    # balance after it, and no payment overdrew the balance or paid an invoice twice.
    balance = 2 * SIGNATURES
    paid: set[UUID | None] = set()
    for order, result in outcomes.in_log_order():
        if order.kind == "top_up":
            balance += order.amount_minor
            assert result.data["balance_minor"] == balance, "an answer from a lost update"
        else:
            assert result.aggregate_id not in paid, "an invoice paid twice"
            assert balance >= SIGNATURES, "a payment overdrew the balance"
            paid.add(result.aggregate_id)
            balance -= SIGNATURES
    assert ledger.partner_account(partner).balance == usd(balance)
    assert second_process.partner_account(partner).balance == usd(balance)
    # One winner per version: the account's versions follow each other, one per accepted
    # command (a top-up or a payment writes one event on the account).
    assert versions(database, partner) == list(range(1, first_version + len(outcomes.answered) + 1))
    assert set(outcomes.refused.values()) <= {"insufficient_balance", "invoice_already_settled"}
    assert outcomes.refused, "no payment lost a race"
    assert_written_exactly_by_the_answered(database, logged_before, outcomes)
    assert paid, "no payment won"
    for invoice in paid:  # and paid once more, after the race: refused
        assert invoice is not None
        assert ledger.invoice(invoice).outstanding == usd(0)
        with pytest.raises(BillingError) as again:
            ledger.pay_invoice(invoice, BALANCE, amount=usd(SIGNATURES))
        assert again.value.code == "invoice_already_settled"


def tail(read_after: Callable[[int], list[int]], stop: threading.Event) -> list[int]:
    """Every position read, page after page, each page after the last position seen, until
    told to stop and the log has nothing more."""
    seen: list[int] = []
    while True:
        stopping = stop.is_set()
        page = read_after(seen[-1] if seen else 0)
        seen.extend(page)
        if stopping and not page:
            return seen
        if not page:
            stop.wait(TAIL_IDLE_S)


def test_readers_tailing_the_log_see_every_position_once_in_order_while_writers_write(
    ledger: Ledger, second_process: Ledger, database: Database
) -> None:
    """Two readers use the event store's notification API (as the `/v1` replays read the
    log); one reads like the projection runner, the head first and then up to it. Writers on
    both processes open partners and top up, and some send a command the database refuses
    (a NUL in its text), whose batch rolls back. The writer numbers the log itself (the head
    it read under the lock, plus one: ledger/audit_chain.py), so a batch rolled back leaves no
    gap in the positions, as a sequence would."""
    partners = [open_partner(ledger)[0] for _ in range(2)]
    rng = random.Random(11)
    orders = [order for p in partners for order in top_ups(p, 8 * SCALE, rng)]
    failing = [
        Order(
            f"scribble/{n}",
            "fail",
            0,
            lambda lg, key, n=n: lg.execute(WriteScribble(text=f"\x00{n}"), key),
        )
        for n in range(3)
    ]

    def by_library(after: int) -> list[int]:
        page = ledger.store.recorder.select_notifications(
            after, READ_PAGE, inclusive_of_start=False
        )
        return [notification.id for notification in page]

    def by_head(conn: psycopg.Connection[Any]) -> Callable[[int], list[int]]:
        def read(after: int) -> list[int]:
            head = conn.execute(f"SELECT max(notification_id) FROM {EVENTS_TABLE}").fetchone()
            rows = conn.execute(
                f"SELECT notification_id FROM {EVENTS_TABLE} WHERE notification_id > %s "
                "AND notification_id <= %s ORDER BY notification_id",
                (after, head[0] if head else 0),
            ).fetchall()
            return [int(row[0]) for row in rows]

        return read

    stop = threading.Event()
    seen: dict[str, list[int]] = {}
    with database.connect(autocommit=True) as conn:
        readers = {"library-1": by_library, "library-2": by_library, "head": by_head(conn)}
        threads = [
            threading.Thread(target=lambda n=name, r=read: seen.__setitem__(n, tail(r, stop)))
            for name, read in readers.items()
        ]
        for thread in threads:
            thread.start()
        try:
            outcomes = send_all(orders + failing, (ledger, second_process), 11)
        finally:
            stop.set()
            for thread in threads:
                thread.join(JOIN_TIMEOUT_S)
        stored = [
            int(row[0])
            for row in conn.execute(f"SELECT notification_id FROM {EVENTS_TABLE} ORDER BY 1")
        ]
    assert set(seen) == set(readers), "a reader failed"
    for name, positions in seen.items():
        # The stored positions increase strictly: equal lists mean none out of order, none
        # skipped, none repeated.
        assert positions == stored, f"{name} read the log out of order, or skipped or repeated"
    assert set(outcomes.refused) == {order.key for order in failing}
    assert len(outcomes.answered) == len(orders)
    assert stored == list(range(1, stored[-1] + 1)), "a rolled back batch left a gap"


@pytest.mark.parametrize("seed", range(1, 1 + 2 * SCALE))
def test_r_x2_paying_from_the_balance_while_top_ups_refunds_and_cashback_land_conserves_money(
    ledger: Ledger, second_process: Ledger, database: Database, seed: int
) -> None:
    """The partner pays invoices from its balance (each twice: one must lose) while top-ups
    arrive, a balance payment is refunded in parts (more parts than it paid: some must be
    refused) and its client pays its own invoices by bank, earning the partner cashback."""
    partner, _, invoices = open_partner(ledger, lines=3 * SCALE)
    ledger.top_up(partner, usd(SIGNATURES), BANK, reference="W0")
    refunded, *to_pay = invoices
    payment = UUID(ledger.pay_invoice(refunded, BALANCE).data["payment_id"])
    paid_by_client = client_invoices(ledger, partner, 2 * SCALE)
    logged_before = logged_keys(database)
    rng = random.Random(seed)
    orders = [
        *top_ups(partner, 4 * SCALE, rng),
        *payments(to_pay, BALANCE, times=2),
        *refunds(refunded, payment, count=6, amount_minor=SIGNATURES // 5),
        *payments(paid_by_client, BANK, times=2),
    ]

    outcomes = send_all(orders, (ledger, second_process), seed)

    assert_written_exactly_by_the_answered(database, logged_before, outcomes)
    assert set(outcomes.refused.values()) <= {
        "insufficient_balance",
        "invoice_already_settled",
        "refund_exceeds_payment",
    }
    assert len(outcomes.accepted("refund")) == 5, "the payment refunded in full, not more"
    paid_from_balance = [o for o in outcomes.accepted("pay") if "company_balance" in o.key]
    expected_balance = (
        sum(order.amount_minor for order in outcomes.accepted("top_up"))
        - SIGNATURES * len(paid_from_balance)
        + sum(order.amount_minor for order in outcomes.accepted("refund"))
    )
    account = ledger.partner_account(partner)
    assert account.balance == usd(expected_balance)
    wallet = ledger.load(BonusWallet, bonus_wallet_id(partner))
    assert wallet is not None
    assert wallet.balance.is_positive(), "no cashback landed"

    runner = live_runner(database, Balances())
    runner.catch_up()
    runner.close()
    with database.connect() as conn:
        totals = trial_balance(conn)
        mine = {
            (b.account_kind, b.owner_id): b.balance_minor
            for b in balances(conn, partner_id=partner)
        }
    assert totals
    assert all(debit == credit for debit, credit in totals.values()), totals
    # Liabilities: credit balances, shown as debits minus credits.
    assert -mine[("prepaid_balance", partner)] == account.balance.amount_minor
    assert -mine[("bonus_liability", partner)] == wallet.balance.amount_minor
