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
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
import pytest

from domain.bonus_wallet import BonusWallet
from domain.errors import BillingError
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.values import Payer, bonus_wallet_id
from ledger.application import EVENTS_TABLE, Ledger
from ledger.database import Database
from ledger.writer import CommandResult
from projections.balances import Balances, balances, trial_balance
from tests.ledger.payments_support import SIGNATURES, open_partner
from tests.ledger.test_writer import WriteScribble
from tests.projections.support import live_runner
from tests.support import SOAK

SCALE = 5 if SOAK else 1
"""LEDGERLINE_SOAK=1: five times the seeds, commands and invoices."""
THREADS = 8
JOIN_TIMEOUT_S = 60.0
"""A thread still running after this is stuck (a deadlock), not slow."""
READ_PAGE = 10
TAIL_IDLE_S = 0.001
"""How long a tailing reader that found nothing new waits before it looks again (the runner
waits for a NOTIFY instead; a millisecond keeps the readers close behind without spinning)."""
"""Notifications a tailing reader asks for at once (the library's section size)."""
BANK = PaymentSource.BANK_TRANSFER
BALANCE = PaymentSource.COMPANY_BALANCE

Call = Callable[[Ledger, str], CommandResult]
"""A command sent on either process's ledger, under an idempotency key."""


def usd(amount_minor: int) -> Money:
    return Money(amount_minor, "USD")


@dataclass(frozen=True)
class Order:
    """One command to send: its idempotency key, its kind, its amount, and the call."""

    key: str
    kind: str
    amount_minor: int
    call: Call


@dataclass
class Outcomes:
    """What each command's caller heard: its result, or its refusal's code."""

    answered: dict[str, tuple[Order, CommandResult]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    """Errors that are no refusal (a unique violation from a stale cache, a lost lock)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, order: Order, ledger: Ledger) -> None:
        try:
            result = order.call(ledger, order.key)
        except BillingError as refusal:
            with self.lock:
                self.refused[order.key] = refusal.code
            return
        except psycopg.DataError:  # what the database refuses to store (the NUL scribbles)
            with self.lock:
                self.refused[order.key] = "refused_by_the_database"
            return
        except Exception as error:  # anything else is a failure: send_all reports it
            with self.lock:
                self.failed[order.key] = repr(error)
            return
        with self.lock:
            self.answered[order.key] = (order, result)

    def in_log_order(self) -> list[tuple[Order, CommandResult]]:
        return sorted(self.answered.values(), key=lambda answer: answer[1].position)

    def accepted(self, kind: str) -> list[Order]:
        return [order for order, _ in self.answered.values() if order.kind == kind]


def send_all(orders: list[Order], ledgers: tuple[Ledger, ...], seed: int) -> Outcomes:
    """The orders shuffled (seeded), dealt to THREADS threads that start together, each
    thread on one of the ledgers; every thread must finish within JOIN_TIMEOUT_S."""
    shuffled = list(orders)
    random.Random(seed).shuffle(shuffled)
    outcomes = Outcomes()
    barrier = threading.Barrier(THREADS)

    def send(share: list[Order], ledger: Ledger) -> None:
        barrier.wait()
        for order in share:
            outcomes.send(order, ledger)

    threads = [
        threading.Thread(target=send, args=(shuffled[n::THREADS], ledgers[n % len(ledgers)]))
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a writer is stuck: a deadlock"
    assert not outcomes.failed, outcomes.failed
    assert len(outcomes.answered) + len(outcomes.refused) == len(orders)
    return outcomes


def logged_keys(database: Database) -> set[str]:
    with database.connect() as conn:
        return {str(row[0]) for row in conn.execute("SELECT key FROM command_log")}


def versions(database: Database, aggregate_id: UUID) -> list[int]:
    """The aggregate's versions in the order the log holds them."""
    with database.connect() as conn:
        rows = conn.execute(
            f"SELECT originator_version FROM {EVENTS_TABLE} WHERE originator_id = %s "
            "ORDER BY notification_id",
            (aggregate_id,),
        ).fetchall()
    return [int(row[0]) for row in rows]


def top_ups(partner: UUID, count: int, rng: random.Random) -> list[Order]:
    def top_up(amount: int, n: int) -> Call:
        return lambda lg, key: lg.top_up(partner, usd(amount), BANK, reference=f"W{n}", key=key)

    amounts = [rng.randrange(1_000, 5_000, 100) for _ in range(count)]
    return [
        Order(f"top-up/{partner}/{n}", "top_up", a, top_up(a, n)) for n, a in enumerate(amounts)
    ]


def payments(invoices: list[UUID], source: PaymentSource, times: int) -> list[Order]:
    """Each invoice paid `times` times in full: all but one must be refused."""

    def pay(invoice: UUID) -> Call:
        return lambda lg, key: lg.pay_invoice(invoice, source, amount=usd(SIGNATURES), key=key)

    return [
        Order(f"pay/{source.value}/{n}/{invoice}", "pay", SIGNATURES, pay(invoice))
        for n in range(times)
        for invoice in invoices
    ]


def assert_written_exactly_by_the_answered(
    database: Database, logged_before: set[str], outcomes: Outcomes
) -> None:
    """Every answered command is in the command log, and nothing else new is: a refused
    command wrote nothing."""
    assert logged_keys(database) - logged_before == set(outcomes.answered)


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
    (a NUL in its text), whose batch rolls back and leaves a gap in the positions."""
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
    assert stored != list(range(1, stored[-1] + 1)), "no batch failed: the log has no gap"


def client_invoices(ledger: Ledger, partner: UUID, count: int) -> list[UUID]:
    """Invoices of a client that pays its own lines: paid, they earn the partner cashback."""
    client = ledger.register_client(partner, name="Bistro", unified_billing=False).aggregate_id
    assert client is not None
    invoices = []
    for _ in range(count):
        line = ledger.create_line(partner, client, "email-signatures", payer=Payer.CLIENT)
        assert line.aggregate_id is not None
        invoices.append(UUID(ledger.activate_line(line.aggregate_id).data["invoice_id"]))
    return invoices


def refunds(invoice: UUID, payment: UUID, count: int, amount_minor: int) -> list[Order]:
    def refund() -> Call:
        return lambda lg, key: lg.refund(invoice, payment, usd(amount_minor), "Goodwill", key=key)

    return [Order(f"refund/{n}", "refund", amount_minor, refund()) for n in range(count)]


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
