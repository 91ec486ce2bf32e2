"""ChatApp partner lines for read-model tests: a Moscow integrator buying lines in RUB (seed 001).

The clock starts on 2026-01-31 09:30 UTC, 12:30 in Moscow; a messaging line costs 1 500 RUB a
month and bills on the day it starts.
"""

from __future__ import annotations

from uuid import UUID

from domain.calendar import Term
from domain.invoice import Invoice
from domain.money import Money
from domain.payment_methods import CardDetails
from domain.values import Payer
from ledger.application import Ledger
from ledger.database import Database
from projections.base import Projection
from tests.projections.support import live_runner

MOSCOW = "Europe/Moscow"
VISA = CardDetails("4242424242424242", 12, 2030, "Ivan Petrov", "123", "125009")
LINE = 150000
"""1 500.00 RUB: a messaging line for a month."""
LINE_FEE = 4500
"""3 % of it, added as its own line when a card pays (R-O7)."""
TWELVE = 1620000
"""12 x 1 500.00 less the 10 % duration discount (R-C3)."""


def rub(minor: int) -> Money:
    return Money(minor, "RUB")


def open_partner(ledger: Ledger, key: str, name: str) -> UUID:
    partner = ledger.open_partner_account(
        name=name, currency="RUB", time_zone=MOSCOW, key=f"{key}/open"
    ).aggregate_id
    assert partner is not None
    return partner


def client(ledger: Ledger, partner: UUID, name: str) -> UUID:
    registered = ledger.register_client(
        partner, name=name, email=None, unified_billing=False, key=f"{partner}/client/{name}"
    ).aggregate_id
    assert registered is not None
    return registered


def buy(
    ledger: Ledger,
    partner: UUID,
    client_id: UUID,
    key: str,
    *,
    term: Term = Term.MONTHLY,
    payer: Payer = Payer.PARTNER,
) -> Invoice:
    """R-C1: the partner buys a line for a client; it starts today and its first period bills."""
    line = ledger.create_line(
        partner, client_id, "messaging-line", term=term, payer=payer, key=f"{key}/line"
    ).aggregate_id
    assert line is not None
    result = ledger.activate_line(line, key=f"{key}/activate")
    return ledger.invoice(UUID(result.data["invoice_id"]))


def catch_up(database: Database, projection: Projection) -> None:
    """Bring the read model's live generation up to the head of the log."""
    runner = live_runner(database, projection, batch_size=23)
    try:
        runner.catch_up()
    finally:
        runner.close()
