"""Each rate of the billing policy read on the business date it applies to (issue 13), on
PostgreSQL: cashback at the rate in force on the client's payment date, named by its version,
and a refund taking back what the payment earned, not what today's rate would; the duration
discount at the rate in force on the period's first day, its line naming that version.

A Moscow partner sells messaging lines at 1 500.00 RUB a month (tests/ledger/scenarios); the
clock starts on 2026-01-31 at 09:30 UTC (12:30 in Moscow).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from domain.bonus_wallet import BonusWallet
from domain.calendar import Term
from domain.values import InvoiceLine, InvoiceLineKind, Payer
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.database import Database
from tests.ledger.scenarios.otter_chatapp_support import logged_events, worded
from tests.ledger.scenarios.test_chatapp import (
    LINE,
    LINE_FEE,
    VISA,
    buy,
    client,
    open_partner,
    rub,
    wallet,
)

CHANGE_DAY = date(2026, 2, 2)
CHANGE_DAY_IN_MOSCOW = datetime(2026, 2, 2, 6, tzinfo=UTC)  # 09:00 in Moscow


def test_r_c4_cashback_is_earned_at_the_rate_on_the_payments_date_and_refunded_as_earned(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    ledger.schedule_policy_change({"cashback_rate": "0.05"}, CHANGE_DAY)
    _, before = buy(
        ledger, partner, client(ledger, partner, "Йога"), "yoga", payer=Payer.CLIENT, card=VISA
    )
    clock.set(CHANGE_DAY_IN_MOSCOW)
    buy(ledger, partner, client(ledger, partner, "Фитнес"), "gym", payer=Payer.CLIENT, card=VISA)

    credits = [e for e in logged_events(ledger, database) if isinstance(e, BonusWallet.Credited)]
    assert [(e.amount, e.policy_version) for e in credits] == [
        (rub(LINE // 10), 0),  # 10 %, version 0
        (rub(LINE // 20), 1),  # 5 % from the change
    ]
    # Refunded in full after the change, the earlier payment gives back the 10 % it earned.
    [paid_before] = [UUID(key) for key in ledger.invoice(before.id).payments]
    ledger.refund(before.id, paid_before, rub(LINE + LINE_FEE), "Closed")
    assert wallet(ledger, partner).clawed_back == rub(LINE // 10)
    assert wallet(ledger, partner).balance == rub(LINE // 20)


def test_r_c3_the_duration_discount_is_the_one_in_force_on_the_periods_first_day(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    partner = open_partner(ledger)
    ledger.schedule_policy_change({"duration_discount:twelve_months": "0.15"}, CHANGE_DAY)
    _, before = buy(
        ledger, partner, client(ledger, partner, "Кафе"), "cafe", term=Term.TWELVE_MONTHS
    )
    clock.set(CHANGE_DAY_IN_MOSCOW)
    _, after = buy(ledger, partner, client(ledger, partner, "Бар"), "bar", term=Term.TWELVE_MONTHS)

    def discount(lines: list[InvoiceLine]) -> list[tuple[str, int, int | None]]:
        return [
            (worded(line), -line.amount.amount_minor, line.policy_version)
            for line in lines
            if line.kind is InvoiceLineKind.DISCOUNT
        ]

    # Each discount line names the policy version whose rate made it (issue 13).
    assert discount(before.lines) == [("Discount for a 12-month term (10 %)", 12 * LINE // 10, 0)]
    assert discount(after.lines) == [
        ("Discount for a 12-month term (15 %)", 12 * LINE * 15 // 100, 1)
    ]
