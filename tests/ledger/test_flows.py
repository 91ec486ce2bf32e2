"""Billing flows through the ledger on PostgreSQL, driven by a simulated clock and the tick."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money
from domain.payment_methods import CardDetails, PaymentSource
from domain.values import Payer
from ledger import schedule
from ledger.application import Ledger
from ledger.billing_clock import due, tick
from ledger.clock import SimulatedClock
from ledger.database import Database

VISA = CardDetails("4242424242424242", 12, 2030, "Ada Lovelace", "123", "10001")
DECLINING = CardDetails("4000000000000002", 12, 2030, "Ada Lovelace", "123", "10001")


def setup_partner(ledger: Ledger, card: CardDetails | None = VISA) -> UUID:
    partner = ledger.open_partner_account(
        name="Acme", currency="USD", time_zone="America/New_York", key="open"
    ).aggregate_id
    assert partner is not None
    if card is not None:
        ledger.add_payment_method(partner, card, make_default=True, key="card")
        ledger.set_account_autopay(partner, PaymentSource.CARD, key="autopay")
    return partner


def invoices(database: Database) -> list[str]:
    with database.connect() as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT convert_from(state, 'UTF8')::jsonb->>'number' FROM ledger_events "
                "WHERE topic LIKE %s ORDER BY notification_id",
                ("%Invoice.Issued",),
            )
        ]


def test_r_c1_activating_a_line_bills_it_and_autopay_charges_the_card(
    ledger: Ledger, database: Database
) -> None:
    partner = setup_partner(ledger)
    client = ledger.register_client(partner, name="Bistro", key="client").aggregate_id
    assert client is not None
    line = ledger.create_line(partner, client, "service-plan", key="line").aggregate_id
    assert line is not None

    result = ledger.activate_line(line, date(2026, 1, 31), key="activate")

    invoice = ledger.invoice(UUID(result.data["invoice_id"]))
    assert invoice.status is InvoiceStatus.SETTLED
    assert invoice.total == Money(3900 + 117, "USD")  # the plan, and the 3 % card fee (R-O7)
    assert result.data["charge"]["charge_status"] == "succeeded"
    assert ledger.line(line).open_invoices == {}


def test_r_o2_the_clock_renews_on_the_anniversary_and_returns_to_the_31st(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = setup_partner(ledger)
    client = ledger.register_client(partner, name="Bistro", key="client").aggregate_id
    assert client is not None
    line = ledger.create_line(partner, client, "service-plan", key="line").aggregate_id
    assert line is not None
    ledger.activate_line(line, date(2026, 1, 31), key="activate")

    clock.set(datetime(2026, 4, 1, 12, tzinfo=UTC))
    report = tick(ledger, clock.now())

    assert report.done["renew"] == 2
    subscription = ledger.line(line)
    assert subscription.current_period is not None
    assert (subscription.current_period.start, subscription.current_period.end) == (
        date(2026, 3, 31),
        date(2026, 4, 30),
    )
    assert invoices(database) == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
    assert tick(ledger, clock.now()).total == 0


def test_r_h2_a_declined_autopay_is_recorded_and_the_partner_gets_a_week_of_grace(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    partner = setup_partner(ledger, DECLINING)
    client = ledger.register_client(partner, name="Bistro", key="client").aggregate_id
    assert client is not None
    line = ledger.create_line(partner, client, "service-plan", key="line").aggregate_id
    assert line is not None
    result = ledger.activate_line(line, date(2026, 1, 31), key="activate")
    assert result.data["charge"]["decline_code"] == "card_declined"

    invoice = ledger.invoice(UUID(result.data["invoice_id"]))
    assert (invoice.status, invoice.is_outstanding) == (InvoiceStatus.OPEN, True)
    account = ledger.partner_account(partner)
    assert account.status.value == "in_grace"

    clock.set(datetime(2026, 2, 8, 6, tzinfo=UTC))  # 7 days later, 01:00 in New York
    tick(ledger, clock.now())
    assert ledger.partner_account(partner).status.value == "paused"


def test_the_schedule_names_the_next_work_of_each_aggregate(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    partner = setup_partner(ledger, None)
    client = ledger.register_client(
        partner, name="Bistro", email="owner@bistro.example", unified_billing=False, key="client"
    ).aggregate_id
    assert client is not None
    line = ledger.create_line(
        partner, client, "service-plan", payer=Payer.CLIENT, key="line"
    ).aggregate_id
    assert line is not None
    result = ledger.activate_line(line, date(2026, 1, 31), key="activate")
    invoice = UUID(result.data["invoice_id"])

    later = clock.now() + timedelta(days=60)
    kinds = {(kind, subject) for kind, subject, _ in due(ledger, later)}
    assert ("renew", line) in kinds
    assert ("mark_overdue", invoice) in kinds
    assert ledger.invoice(invoice).expected_source is PaymentSource.BANK_TRANSFER
    assert isinstance(ledger.load(Invoice, invoice), Invoice)


def test_the_schedule_answers_when_each_piece_of_work_is_due_in_the_partners_zone(
    ledger: Ledger, database: Database
) -> None:
    """The next due instants: a business day begins at midnight where the partner is."""
    due_on: dict[str, date] = {}
    lines: dict[str, UUID] = {}
    for zone in ("Asia/Tokyo", "America/New_York"):
        partner = ledger.open_partner_account(
            name=zone, currency="USD", time_zone=zone, key=f"open/{zone}"
        ).aggregate_id
        assert partner is not None
        client = ledger.register_client(
            partner, name="Bistro", unified_billing=False, key=f"client/{zone}"
        ).aggregate_id
        assert client is not None
        line = ledger.create_line(partner, client, "service-plan", key=f"line/{zone}").aggregate_id
        assert line is not None
        ledger.activate_line(line, date(2026, 1, 31), key=f"activate/{zone}")
        lines[zone] = line
        due_on[zone] = ledger.line(line).current_period.end  # type: ignore[union-attr]

    with database.connect() as conn:
        upcoming = schedule.upcoming(conn)
        tokyo = schedule.upcoming(conn, subject_id=lines["Asia/Tokyo"])
        first = schedule.next_due_at(conn)
    renewals = [d for d in upcoming if d.kind == "renew"]
    assert [d.subject_id for d in renewals] == [lines["Asia/Tokyo"], lines["America/New_York"]]
    assert renewals[0].due_on == renewals[1].due_on == due_on["Asia/Tokyo"]
    midnight = datetime.combine(due_on["Asia/Tokyo"], datetime.min.time())
    assert renewals[0].due_at == midnight.replace(tzinfo=ZoneInfo("Asia/Tokyo"))
    assert renewals[1].due_at == midnight.replace(tzinfo=ZoneInfo("America/New_York"))
    assert renewals[1].due_at - renewals[0].due_at == timedelta(hours=14)
    assert [d.due_at for d in upcoming] == sorted(d.due_at for d in upcoming)
    assert first == upcoming[0].due_at
    assert {d.subject_id for d in tokyo} == {lines["Asia/Tokyo"]}
    assert all(d.partner_id == tokyo[0].partner_id for d in tokyo)
