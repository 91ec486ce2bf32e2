"""Renewals and starts name their period and are billed on the partner's today (issue 10).

A renewal names the period it renews, the line's next; each period of a line is invoiced at
most once, whoever asks, with whatever key, however concurrently (R-C1, R-X5). Invoices are
issued on the partner's today by the clock (R-X7), so within a series numbers follow issue
dates (R-X3); a start in the future waits for the billing clock, a start far back is refused.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.errors import BillingError
from domain.invoice import Invoice
from domain.subscription_line import START_BACKDATED_DAYS_MAX, LineStatus, SubscriptionLine
from domain.values import Location
from ledger.application import EVENTS_TABLE, Ledger
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock

NEW_YORK = "America/New_York"
CONCURRENT_ROUNDS = 8
"""Rounds of an API renewal racing the billing clock: each is a fresh chance to bill twice."""


def partner_and_client(ledger: Ledger) -> tuple[UUID, UUID]:
    partner = ledger.open_partner_account(name="Acme", currency="USD", time_zone=NEW_YORK)
    assert partner.aggregate_id is not None
    client = ledger.register_client(partner.aggregate_id, name="Whitfield", unified_billing=False)
    assert client.aggregate_id is not None
    return partner.aggregate_id, client.aggregate_id


def new_line(ledger: Ledger) -> UUID:
    partner, client = partner_and_client(ledger)
    shop = (Location(uuid4(), "Downtown"),)
    created = ledger.create_line(partner, client, "pos-location", locations=shop)
    assert created.aggregate_id is not None
    return created.aggregate_id


def active_line(ledger: Ledger) -> UUID:
    line = new_line(ledger)
    ledger.activate_line(line)
    return line


def events_written(ledger: Ledger) -> int:
    with ledger.database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    return int(row[0])


def invoices_of(ledger: Ledger, line_id: UUID) -> list[Invoice]:
    """The line's invoices, in the order they were issued."""
    with ledger.database.connect() as conn:
        rows = conn.execute(
            f"SELECT originator_id FROM {EVENTS_TABLE} WHERE topic LIKE %s "
            "ORDER BY notification_id",
            ("%Invoice.Issued",),
        ).fetchall()
    found = [ledger.invoice(UUID(str(row[0]))) for row in rows]
    return [invoice for invoice in found if line_id in invoice.line_ids]


def refusal(call: object) -> BillingError:
    assert callable(call)
    with pytest.raises(BillingError) as refused:
        call()
    return refused.value


def local(day: date) -> datetime:
    """Noon in New York on `day`, as the clock's UTC instant."""
    return datetime(day.year, day.month, day.day, 17, tzinfo=UTC)


def test_r_x7_r_c1_a_renewal_naming_another_day_is_refused_and_writes_nothing(
    ledger: Ledger,
) -> None:
    line = active_line(ledger)
    before = events_written(ledger)
    refused = refusal(lambda: ledger.renew_line(line, date(2999, 12, 31), key="renew/2999"))
    assert (refused.code, refused.fields["next_period_start"]) == ("period_not_next", "2026-02-28")
    assert events_written(ledger) == before
    assert [invoice.number for invoice in invoices_of(ledger, line)] == ["INV-2026-000001"]


def test_r_x7_an_early_renewal_is_invoiced_on_the_partners_today(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    line = active_line(ledger)  # 31 January: the next period starts on 28 February
    clock.set(local(date(2026, 2, 10)))
    renewed = ledger.renew_line(line, date(2026, 2, 28), key="renew/early")
    assert (renewed.data["period_start"], renewed.data["period_end"]) == (
        "2026-02-28",
        "2026-03-31",
    )
    invoice = ledger.invoice(UUID(renewed.data["invoice_id"]))
    assert (invoice.number, invoice.issued_on) == ("INV-2026-000002", date(2026, 2, 10))


def test_r_c1_r_x5_a_period_is_renewed_once_whatever_the_key(ledger: Ledger) -> None:
    line = active_line(ledger)
    first = ledger.renew_line(line, date(2026, 2, 28), key="renew/1")
    before = events_written(ledger)
    for retry in ("renew/2", "renew/3"):  # a client retrying after a timeout, with new keys
        refused = refusal(lambda key=retry: ledger.renew_line(line, date(2026, 2, 28), key=key))
        assert refused.code == "period_already_renewed"
        assert (refused.fields["invoice_id"], refused.fields["invoice_number"]) == (
            first.data["invoice_id"],
            first.data["invoice_number"],
        )
    assert events_written(ledger) == before
    assert len(invoices_of(ledger, line)) == 2  # the first period's and the renewal's
    assert ledger.renew_line(line, date(2026, 2, 28), key="renew/1").replayed


def test_r_c1_paying_ahead_names_the_periods_one_after_another(ledger: Ledger) -> None:
    line = active_line(ledger)
    skipped = refusal(lambda: ledger.renew_line(line, date(2026, 3, 31), key="skip"))
    assert (skipped.code, skipped.fields["next_period_start"]) == ("period_not_next", "2026-02-28")
    ledger.renew_line(line, date(2026, 2, 28), key="feb")
    ledger.renew_line(line, date(2026, 3, 31), key="mar")
    periods = [item.period for invoice in invoices_of(ledger, line) for item in invoice.lines]
    assert [(p.start, p.end) for p in periods if p is not None] == [
        (date(2026, 1, 31), date(2026, 2, 28)),
        (date(2026, 2, 28), date(2026, 3, 31)),
        (date(2026, 3, 31), date(2026, 4, 30)),
    ]
    assert {invoice.issued_on for invoice in invoices_of(ledger, line)} == {date(2026, 1, 31)}


def test_r_x7_a_start_more_than_a_month_back_is_refused(ledger: Ledger) -> None:
    line = new_line(ledger)
    before = events_written(ledger)
    refused = refusal(lambda: ledger.activate_line(line, date(2019, 3, 1), key="old"))
    earliest = date(2026, 1, 31) - timedelta(days=START_BACKDATED_DAYS_MAX)
    assert (refused.code, refused.fields["earliest"]) == ("date_out_of_range", str(earliest))
    assert events_written(ledger) == before
    assert ledger.line(line).status is LineStatus.DRAFT


def test_r_x7_a_start_a_little_back_bills_from_then_on_an_invoice_issued_today(
    ledger: Ledger,
) -> None:
    line = new_line(ledger)
    activated = ledger.activate_line(line, date(2026, 1, 5), key="late")
    assert (activated.data["period_start"], activated.data["period_end"]) == (
        "2026-01-05",
        "2026-02-05",
    )
    invoice = ledger.invoice(UUID(activated.data["invoice_id"]))
    assert (invoice.number, invoice.issued_on) == ("INV-2026-000001", date(2026, 1, 31))


def test_r_x7_r_x3_a_future_start_waits_for_the_billing_clock_and_numbers_follow_dates(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    later = new_line(ledger)
    scheduled = ledger.activate_line(later, date(2026, 2, 10), key="later")
    assert (scheduled.data["status"], scheduled.data["starts_on"]) == ("draft", "2026-02-10")
    assert "invoice_id" not in scheduled.data
    assert invoices_of(ledger, later) == []

    clock.set(local(date(2026, 2, 1)))
    now = active_line(ledger)  # issued on 1 February, before the later line's day
    assert tick(ledger, local(date(2026, 2, 9))).done["activate"] == 0

    assert tick(ledger, local(date(2026, 2, 10))).done["activate"] == 1
    line = ledger.line(later)
    assert line.status is LineStatus.ACTIVE
    assert line.current_period is not None
    assert line.current_period.start == date(2026, 2, 10)
    issued = [
        (i.number, i.issued_on) for i in [*invoices_of(ledger, now), *invoices_of(ledger, later)]
    ]
    assert issued == [("INV-2026-000001", date(2026, 2, 1)), ("INV-2026-000002", date(2026, 2, 10))]


def race(ledger: Ledger, clock: SimulatedClock, line: UUID, due: date) -> list[str]:
    """Renew the period starting on `due` and run the billing clock at once, from two threads;
    what each did."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def renew_by_api() -> None:
        barrier.wait()
        try:
            ledger.renew_line(line, due, key=f"api/{due}")
            outcomes.append("api")
        except BillingError as refused:
            outcomes.append(refused.code)

    def run_the_clock() -> None:
        barrier.wait()
        outcomes.append(f"clock renewed {tick(ledger, clock.now()).done['renew']}")

    threads = [threading.Thread(target=renew_by_api), threading.Thread(target=run_the_clock)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_r_c1_r_x5_api_renewals_racing_the_billing_clock_bill_each_period_once(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    line = active_line(ledger)
    for _ in range(CONCURRENT_ROUNDS):
        current = ledger.line(line).current_period
        assert current is not None
        due = current.end  # the next period starts, and the clock renews, on this day
        clock.set(local(due))
        outcomes = race(ledger, clock, line, due)
        renewed = ledger.line(line).current_period
        assert renewed is not None
        assert renewed.start == due, outcomes
        assert sorted(outcomes) in (
            ["api", "clock renewed 0"],
            ["clock renewed 1", "period_already_renewed"],
        ), outcomes
    periods = [item.period for invoice in invoices_of(ledger, line) for item in invoice.lines]
    starts = [p.start for p in periods if p is not None]
    assert len(starts) == len(set(starts)) == CONCURRENT_ROUNDS + 1


def test_r_c1_a_line_remembers_each_period_and_its_invoice(ledger: Ledger) -> None:
    line = active_line(ledger)
    renewed = ledger.renew_line(line, date(2026, 2, 28), key="feb")
    loaded = ledger.line(line)
    assert isinstance(loaded, SubscriptionLine)
    assert sorted(loaded.started_periods) == ["2026-01-31", "2026-02-28"]
    invoiced = loaded.invoice_of(date(2026, 3, 1))
    assert invoiced is not None
    assert str(invoiced[0]) == renewed.data["invoice_id"]
