"""The billing policy's history on PostgreSQL (issue 13): a scheduled card-fee change applies
to payments from its effective date on and names its version on the fee it made; a change that
is not in the future, or comes from a partner, is refused and writes nothing; a retry under the
same key writes nothing more.

Partners sell e-mail signatures at 25.00 USD a month; a card adds 3 % (0.75 USD) until the
change, 2.5 % (0.625, half-up 0.63 USD) from it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.billing_policy import PolicyHistory
from domain.errors import PolicyChangeNotInFuture, PolicyChangeNotPermitted
from domain.invoice import InvoiceStatus
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.values import Actor
from ledger.application import EVENTS_TABLE, Ledger
from ledger.clock import SimulatedClock
from ledger.database import Database
from tests.ledger.payments_support import ACH, CARD_FEE, SIGNATURES, VISA, open_partner
from tests.ledger.scenarios.otter_chatapp_support import worded

CHANGE_DAY = date(2026, 2, 2)
"""START is 2026-01-31 09:30 UTC: the change starts two days later."""
CARD_FEE_FROM_CHANGE = 63
"""2.5 % of 25.00 USD: 0.625, rounded half-up (R-X1)."""


def event_count(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    return int(row[0])


def fee_versions(database: Database) -> list[tuple[str, int]]:
    """Each card fee recorded, in order: its amount and the policy version that made it."""
    with database.connect() as conn:
        rows: list[Any] = conn.execute(
            f"SELECT event -> 'line' -> '_data_' -> 'amount' -> '_data_' ->> 'amount_minor', "
            f"(event ->> 'policy_version')::int FROM {EVENTS_TABLE} "
            "WHERE topic LIKE %s ORDER BY notification_id",
            ("%Invoice.CardFeeAdded",),
        ).fetchall()
    return [(str(amount), int(version)) for amount, version in rows]


def test_r_o7_a_card_fee_change_applies_only_to_payments_on_or_after_its_date(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner, _, (before_id, after_id) = open_partner(ledger, ACH, VISA, lines=2)
    scheduled = ledger.schedule_policy_change({"card_fee_rate": "0.025"}, CHANGE_DAY, key="fee-2.5")
    assert scheduled.data == {
        "version": 1,
        "effective_from": "2026-02-02",
        "changes": {"card_fee_rate": "0.025"},
    }

    # The day before the change, in the partner's calendar: still 3 %.
    clock.set(datetime(2026, 2, 1, 23, 59, tzinfo=UTC))
    ledger.pay_invoice(before_id, PaymentSource.CARD)
    clock.set(datetime(2026, 2, 2, 0, 0, tzinfo=UTC))
    ledger.pay_invoice(after_id, PaymentSource.CARD)

    before, after = ledger.invoice(before_id), ledger.invoice(after_id)
    assert (before.status, before.total) == (
        InvoiceStatus.SETTLED,
        Money(SIGNATURES + CARD_FEE, "USD"),
    )
    assert (after.status, after.total) == (
        InvoiceStatus.SETTLED,
        Money(SIGNATURES + CARD_FEE_FROM_CHANGE, "USD"),
    )
    assert worded(after.lines[-1]) == "Card processing fee (2.5 %)"
    # An auditor traces each fee to the version of the policy that made it.
    assert fee_versions(database) == [(str(CARD_FEE), 0), (str(CARD_FEE_FROM_CHANGE), 1)]
    assert ledger.policy_today(partner).card_fee_rate == Decimal("0.025")
    assert ledger.policy_on(date(2026, 2, 1)).version == 0


def test_r_x5_the_same_change_under_the_same_key_is_written_once(
    ledger: Ledger, database: Database
) -> None:
    first = ledger.schedule_policy_change({"grace_period_days": "10"}, CHANGE_DAY, key="grace")
    written = event_count(database)
    again = ledger.schedule_policy_change({"grace_period_days": "10"}, CHANGE_DAY, key="grace")
    assert again.replayed
    assert again.data == first.data
    assert event_count(database) == written
    history = ledger.policy_history()
    assert isinstance(history, PolicyHistory)
    assert [change.version for change in history.changes] == [1]


@pytest.mark.parametrize(
    ("day", "actor", "refusal"),
    [
        (date(2026, 1, 31), Actor(), PolicyChangeNotInFuture),  # today
        (date(2025, 12, 1), Actor(), PolicyChangeNotInFuture),  # the past
        (CHANGE_DAY, Actor(UUID(int=7)), PolicyChangeNotPermitted),  # a partner
    ],
)
def test_a_refused_policy_change_writes_nothing(
    ledger: Ledger, database: Database, day: date, actor: Actor, refusal: type[Exception]
) -> None:
    before = event_count(database)
    with pytest.raises(refusal):
        ledger.schedule_policy_change({"card_fee_rate": "0.025"}, day, actor=actor)
    assert event_count(database) == before
    assert ledger.policy_history() is None


def scheduled_work(database: Database, subject_id: UUID) -> set[tuple[str, date]]:
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT kind, due_on FROM schedule WHERE subject_id = %s", (subject_id,)
        ).fetchall()
    return {(str(kind), due_on) for kind, due_on in rows}


def test_r_c6_a_new_invoice_ahead_period_moves_the_dates_of_renewals_it_is_in_force_on(
    ledger: Ledger, database: Database
) -> None:
    _, _, (invoice_id,) = open_partner(ledger, ACH)
    [line_id] = ledger.invoice(invoice_id).line_ids
    ledger.set_line_autopay(line_id, PaymentSource.BANK_TRANSFER)
    renewal = date(2026, 2, 28)
    assert scheduled_work(database, line_id) == {
        ("renew", renewal),
        ("invoice_ahead", date(2026, 2, 23)),  # 5 days ahead, version 0
    }

    ledger.schedule_policy_change({"invoice_autopay_lead_days": "10"}, date(2026, 2, 10))
    # In force on the renewal date: the line's invoice goes out 10 days ahead, at once.
    assert ("invoice_ahead", date(2026, 2, 18)) in scheduled_work(database, line_id)
    ledger.schedule_policy_change({"invoice_autopay_lead_days": "2"}, date(2026, 3, 1))
    # Not in force on this renewal's date: this invoice keeps its day.
    assert ("invoice_ahead", date(2026, 2, 18)) in scheduled_work(database, line_id)
