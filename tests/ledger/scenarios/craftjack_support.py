"""A CraftJack contractor on the ledger (R-L1 … R-L5), and what its scenarios read back.

A pay-per-lead contractor is a partner account that is its own client, with one pay-per-lead
line (product `lead`, USD 35.00 a lead) paid by the partner with card autopay. Every id is
derived from a fixed idempotency key or a lead number, so two ledgers given the same history
name the same partner, line and leads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.persistence import StoredEvent
from psycopg import sql

from domain.invoice import Invoice
from domain.money import Money
from domain.payment_methods import CardDetails, PaymentSource
from domain.postings import AccountKind, Entry, LedgerAccount, entries_for, imbalance
from domain.values import InvoiceLineKind, Payer
from ledger.application import Ledger
from ledger.billing_clock import TickReport, tick
from ledger.catalogue import load_catalogue
from ledger.clock import SimulatedClock
from ledger.command_records import CommandResult
from ledger.database import Database
from ledger.payments.simulator import SimulatedGateway

ZONE = "America/Los_Angeles"
"""The contractor's time zone: UTC-8 all February 2026, so its Friday starts at 08:00 UTC."""
VISA = CardDetails("4242424242424242", 12, 2030, "Rosa Rivera", "123", "90012")
DECLINING = CardDetails("4000000000000002", 12, 2030, "Rosa Rivera", "123", "90012")
EXPIRING = CardDetails("4242424242424242", 1, 2026, "Rosa Rivera", "123", "90012")
"""Valid on signup day (2026-01-31), expired from February on (R-L5)."""
LEADS = uuid5(NAMESPACE_URL, "https://craftjack.example/leads")


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant of 2026 given as the contractor's wall-clock time, in UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


def lead_id(number: int) -> UUID:
    return uuid5(LEADS, f"lead-{number}")


@dataclass(frozen=True)
class Contractor:
    partner_id: UUID
    line_id: UUID
    method_id: UUID
    activation: CommandResult


def sign_up(ledger: Ledger, card: CardDetails = VISA) -> Contractor:
    """Open the contractor's account, card autopay and its active pay-per-lead line."""
    partner = ledger.open_partner_account(
        name="Rivera Roofing", currency="USD", time_zone=ZONE, key="cj/open"
    ).aggregate_id
    assert partner is not None
    method = ledger.add_payment_method(partner, card, make_default=True, key="cj/card")
    ledger.set_account_autopay(partner, PaymentSource.CARD, key="cj/autopay")
    client = ledger.register_client(
        partner, name="Rivera Roofing", unified_billing=False, key="cj/self"
    ).aggregate_id
    assert client is not None
    line = ledger.create_line(
        partner, client, "lead", payer=Payer.PARTNER, key="cj/line"
    ).aggregate_id
    assert line is not None
    activation = ledger.activate_line(line, key="cj/activate")
    return Contractor(partner, line, UUID(method.data["method_id"]), activation)


def deliver(
    ledger: Ledger,
    clock: SimulatedClock,
    contractor: Contractor,
    number: int,
    at: datetime,
    price: Money | None = None,
) -> CommandResult:
    """Lead `number` is delivered at `at` (the clock moves there first)."""
    clock.set(at)
    return ledger.record_lead(
        contractor.line_id, lead_id(number), at, price, key=f"cj/lead/{number}"
    )


def tick_at(ledger: Ledger, clock: SimulatedClock, instant: datetime) -> TickReport:
    """Move the clock to `instant` and do all the work due by then."""
    clock.set(instant)
    return tick(ledger, instant)


def events(ledger: Ledger, originator_id: UUID | None = None) -> list[Any]:
    """Every event in the log (or one aggregate's), decoded, in log order."""
    query = "SELECT originator_id, originator_version, topic, state FROM ledger_events"
    params: tuple[Any, ...] = ()
    if originator_id is not None:
        query, params = f"{query} WHERE originator_id = %s", (originator_id,)
    with ledger.database.connect() as conn:
        rows: list[Any] = conn.execute(f"{query} ORDER BY notification_id", params).fetchall()
    return [
        ledger.mapper.to_domain_event(
            StoredEvent(
                originator_id=UUID(str(row[0])),
                originator_version=int(str(row[1])),
                topic=str(row[2]),
                state=bytes(row[3]),
            )
        )
        for row in rows
    ]


def of_type(decoded: list[Any], cls: type[Any]) -> list[Any]:
    return [event for event in decoded if isinstance(event, cls)]


def invoices(ledger: Ledger) -> list[Invoice]:
    """Every invoice, in the order issued."""
    issued = of_type(events(ledger), Invoice.Issued)
    return [ledger.invoice(event.originator_id) for event in issued]


Bill = tuple[str, date, date, int, int, int, str]
"""An invoice's business fields: number, issued, due, total, leads on it, card fee, status."""


def summary(invoice: Invoice) -> Bill:
    """What a bill is: number, issue and due dates, total, leads on it, card fee, status."""
    leads = [line for line in invoice.lines if line.kind is InvoiceLineKind.LEAD]
    fees = [
        line.amount.amount_minor for line in invoice.lines if line.kind is InvoiceLineKind.CARD_FEE
    ]
    return (
        invoice.number,
        invoice.issued_on,
        invoice.due_on,
        invoice.total.amount_minor,
        len(leads),
        sum(fees),
        invoice.status.value,
    )


def double_entry(ledger: Ledger, partner_id: UUID) -> dict[AccountKind, int]:
    """Check R-X2 over the whole log; return the partner's balances by kind (debit positive).

    Every event's entries balance per currency, and the partner's receivable is exactly what
    its open invoices still owe.
    """
    balances: dict[AccountKind, int] = {}
    every: list[Entry] = []
    for event in events(ledger):
        entries = entries_for(event)
        assert imbalance(entries) == {}, event
        every.extend(entries)
        for entry in entries:
            if entry.account.owner_id in (None, partner_id):
                kind = entry.account.kind
                balances[kind] = balances.get(kind, 0) + entry.signed_minor
    with ledger.database.connect() as conn:
        open_ids = [
            row[0]
            for row in conn.execute(
                "SELECT invoice_id FROM open_invoices WHERE payer_id = %s", (partner_id,)
            ).fetchall()
        ]
    owed = sum(ledger.invoice(UUID(str(i))).outstanding.amount_minor for i in open_ids)
    receivable = LedgerAccount(AccountKind.RECEIVABLE, partner_id)
    assert balances.get(receivable.kind, 0) == owed
    assert imbalance(every) == {}  # the trial balance of the whole log
    return balances


@contextmanager
def second_ledger(server: Database, clock: SimulatedClock) -> Iterator[Ledger]:
    """Another ledger, like the `ledger` fixture's, on a fresh database of its own."""
    name = f"ledgerline_test_{uuid.uuid4().hex[:16]}"
    with server.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    app = Ledger(
        server.with_dbname(name),
        clock,
        SimulatedGateway(),
        catalogue=load_catalogue(),
        public_url="https://billing.example",
        pool_size=2,
    )
    try:
        yield app
    finally:
        app.close()
        with server.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
