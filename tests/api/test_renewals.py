"""Renewals and starts over real HTTP (issue 10): a renewal names its period, is billed once
and on the partner's today; dates a caller gives are bounded (R-C1, R-X5, R-X7)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from uuid import UUID

import httpx

from api.runtime import Runtime
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock
from tests.api.test_lines import (
    PROBLEM,
    active_line,
    create_line,
    event_count,
    open_partner,
    register_client,
)
from tests.ledger.test_renewals import invoices_of

CONCURRENT_ROUNDS = 6
"""Rounds of an HTTP renewal racing the billing clock: each is a fresh chance to bill twice."""


def local(day: date) -> datetime:
    """Noon in New York on `day`, as the clock's UTC instant."""
    return datetime(day.year, day.month, day.day, 17, tzinfo=UTC)


def line_invoices(runtime: Runtime, line: str) -> list[tuple[str, str]]:
    """Number and issue date of every invoice of the line, as the event store holds them."""
    found = invoices_of(runtime.ledger, UUID(line))
    return [(invoice.number, invoice.issued_on.isoformat()) for invoice in found]


def test_r_x7_a_renewal_dated_2999_is_a_422_problem_and_writes_nothing(
    runtime: Runtime, http: httpx.Client
) -> None:
    partner = open_partner(runtime)
    line = active_line(http, partner, register_client(runtime, partner))
    before = event_count(runtime)
    refused = http.post(f"/v1/lines/{line}/renew", json={"on": "2999-12-31"})
    assert (refused.status_code, refused.headers["content-type"]) == (422, PROBLEM)
    assert (refused.json()["code"], refused.json()["next_period_start"]) == (
        "period_not_next",
        "2026-02-28",
    )
    assert event_count(runtime) == before


def test_r_c1_r_x5_retried_renewals_with_new_keys_bill_one_period_once(
    runtime: Runtime, http: httpx.Client, clock: SimulatedClock
) -> None:
    partner = open_partner(runtime)
    line = active_line(http, partner, register_client(runtime, partner))
    clock.set(local(date(2026, 2, 2)))  # renewing early is fine: the period starts on 28 Feb
    # `on`, the field's older name, as the client sent it.
    first = http.post(f"/v1/lines/{line}/renew", json={"on": "2026-02-28"})
    assert first.status_code == 201, first.text
    assert (first.json()["period_start"], first.json()["invoice_number"]) == (
        "2026-02-28",
        "INV-2026-000002",
    )
    before = event_count(runtime)
    for _ in range(2):  # each retry carries its own Idempotency-Key
        again = http.post(f"/v1/lines/{line}/renew", json={"on": "2026-02-28"})
        assert (again.status_code, again.json()["code"]) == (409, "period_already_renewed")
        assert again.json()["invoice_id"] == first.json()["invoice_id"]
        assert again.json()["invoice_number"] == "INV-2026-000002"
    assert event_count(runtime) == before
    invoice = runtime.ledger.invoice(UUID(first.json()["invoice_id"]))
    assert invoice.issued_on == date(2026, 2, 2)  # the partner's today, not a date given
    # Paying ahead: the period after, named next.
    ahead = http.post(f"/v1/lines/{line}/renew", json={"period_start": "2026-03-31"})
    assert (ahead.status_code, ahead.json()["period_end"]) == (201, "2026-04-30")


def test_r_x7_starts_far_back_are_refused_and_future_ones_wait_for_the_clock(
    runtime: Runtime, http: httpx.Client, clock: SimulatedClock
) -> None:
    partner = open_partner(runtime)
    client = register_client(runtime, partner)
    old = create_line(http, partner, client)
    before = event_count(runtime)
    refused = http.post(f"/v1/lines/{old}/activate", json={"start_on": "2019-03-01"})
    assert (refused.status_code, refused.json()["code"]) == (422, "date_out_of_range")
    assert refused.json()["earliest"] == "2025-12-31"  # 31 days back (a month, at most)
    assert event_count(runtime) == before

    later = create_line(http, partner, client)
    waiting = http.post(f"/v1/lines/{later}/activate", json={"start_on": "2026-02-10"})
    assert waiting.status_code == 201, waiting.text
    assert (waiting.json()["status"], waiting.json()["starts_on"]) == ("draft", "2026-02-10")
    assert waiting.json()["invoice_id"] is None
    clock.set(local(date(2026, 2, 1)))
    today = active_line(http, partner, client)
    tick(runtime.ledger, local(date(2026, 2, 10)))
    assert http.get(f"/v1/lines/{later}").json()["status"] == "active"
    assert [*line_invoices(runtime, today), *line_invoices(runtime, later)] == [
        ("INV-2026-000001", "2026-02-01"),
        ("INV-2026-000002", "2026-02-10"),
    ]


def race(
    runtime: Runtime, http: httpx.Client, clock: SimulatedClock, line: str, due: str
) -> list[int]:
    """Renew over HTTP the period starting on `due` while the billing clock runs, from two
    threads; the renewal's status code."""
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def renew() -> None:
        barrier.wait()
        answers.append(http.post(f"/v1/lines/{line}/renew", json={"on": due}).status_code)

    def run_the_clock() -> None:
        barrier.wait()
        tick(runtime.ledger, clock.now())

    threads = [threading.Thread(target=renew), threading.Thread(target=run_the_clock)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_r_c1_r_x5_http_renewals_racing_the_billing_clock_bill_each_period_once(
    runtime: Runtime, http: httpx.Client, clock: SimulatedClock
) -> None:
    partner = open_partner(runtime)
    line = active_line(http, partner, register_client(runtime, partner))
    for _ in range(CONCURRENT_ROUNDS):
        due = http.get(f"/v1/lines/{line}").json()["current_period"]["end"]
        clock.set(local(date.fromisoformat(due)))
        answers = race(runtime, http, clock, line, due)
        assert answers in ([201], [409]), answers
        period = http.get(f"/v1/lines/{line}").json()["current_period"]
        assert period["start"] == due
    assert len(line_invoices(runtime, line)) == CONCURRENT_ROUNDS + 1
