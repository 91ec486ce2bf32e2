"""What the concurrency tests share: commands as orders, dealt to threads on two processes'
ledgers, and what each caller heard."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

import psycopg

from domain.errors import BillingError
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.values import Payer
from ledger.application import EVENTS_TABLE, Ledger
from ledger.command_records import CommandResult
from ledger.database import Database
from tests.ledger.payments_support import SIGNATURES
from tests.support import SOAK

SCALE = 5 if SOAK else 1
"""LEDGERLINE_SOAK=1: five times the seeds, commands and invoices."""
THREADS = 8
JOIN_TIMEOUT_S = 60.0
"""A thread still running after this is stuck (a deadlock), not slow."""
READ_PAGE = 10
"""Notifications a tailing reader asks for at once (the library's section size)."""
TAIL_IDLE_S = 0.001
"""How long a tailing reader that found nothing new waits before it looks again (the runner
waits for a NOTIFY instead; a millisecond keeps the readers close behind without spinning)."""
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
