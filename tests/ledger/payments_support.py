"""What the payment tests share, at the ledger level and over HTTP: partners that sell e-mail
signatures at 25.00 USD a month (a card adds its 3 % fee, 0.75 USD), their methods, and a
debit made on a New York Sunday evening."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from domain.payment_methods import BankAccountDetails, CardDetails, PaymentSource
from ledger.application import Ledger
from ledger.clock import SimulatedClock

SIGNATURES = 25_00
CARD_FEE = 75
VISA = CardDetails("4242424242424242", 12, 2030, "Ada Lovelace", "123", "10001")
DECLINING = CardDetails("4000000000000002", 12, 2030, "Ada Lovelace", "123", "10001")
ACH = BankAccountDetails("110000000", "000123456789", "Acme Resellers LLC")

SUNDAY_EVENING_IN_NEW_YORK = datetime(2026, 3, 2, 2, 9, tzinfo=UTC)  # Sun 1 Mar, 21:09 EST
"""Already Monday in UTC."""
TUESDAY_EARLY_IN_NEW_YORK = datetime(2026, 3, 3, 5, 30, tzinfo=UTC)  # Tue 3 Mar, 00:30 EST


def open_partner(
    ledger: Ledger,
    *methods: CardDetails | BankAccountDetails,
    lines: int = 1,
    autopay: PaymentSource | None = None,
    time_zone: str = "UTC",
) -> tuple[UUID, list[UUID], list[UUID]]:
    """A partner (its first method the default), and `lines` lines billed today: unpaid, or
    charged by autopay."""
    partner = ledger.open_partner_account(
        name="Acme", currency="USD", time_zone=time_zone
    ).aggregate_id
    assert partner is not None
    method_ids = [
        UUID(ledger.add_payment_method(partner, method, make_default=n == 0).data["method_id"])
        for n, method in enumerate(methods)
    ]
    if autopay is not None:
        ledger.set_account_autopay(partner, autopay)
    client = ledger.register_client(partner, name="Bistro", unified_billing=False).aggregate_id
    assert client is not None
    invoices = []
    for _ in range(lines):
        line = ledger.create_line(partner, client, "email-signatures").aggregate_id
        assert line is not None
        invoices.append(UUID(ledger.activate_line(line).data["invoice_id"]))
    return partner, method_ids, invoices


def billed_on_a_new_york_sunday(ledger: Ledger, clock: SimulatedClock) -> tuple[UUID, UUID]:
    """A New York partner paying by bank account, and its invoice issued on Sunday evening."""
    clock.set(SUNDAY_EVENING_IN_NEW_YORK)
    partner, _, (invoice_id,) = open_partner(ledger, ACH, time_zone="America/New_York")
    return partner, invoice_id
