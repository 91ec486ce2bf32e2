"""What `ledgerline serve` runs besides the API: the billing clock in the background."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from api.runtime import Runtime, clock_for
from ledger.clock import SimulatedClock, SystemClock
from ledger.settings import ClockKind, Environment, Settings
from tests.support import START

WAIT_S = 10.0


@pytest.fixture
def background(settings: Settings) -> Iterator[tuple[Runtime, SimulatedClock]]:
    clock = SimulatedClock(START)
    fast = settings.model_copy(update={"tick_interval_s": 0.05})
    runtime = Runtime.start(fast, clock=clock)
    try:
        yield runtime, clock
    finally:
        runtime.close()


def test_the_billing_clock_runs_by_itself_in_serve(
    background: tuple[Runtime, SimulatedClock],
) -> None:
    runtime, clock = background
    ledger = runtime.ledger
    partner = ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC")
    assert partner.aggregate_id is not None
    client = ledger.register_client(partner.aggregate_id, name="Bistro").aggregate_id
    assert client is not None
    line = ledger.create_line(partner.aggregate_id, client, "service-plan").aggregate_id
    assert line is not None
    ledger.activate_line(line, date(2026, 1, 31))
    runtime.start_billing_clock()

    clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    deadline = time.monotonic() + WAIT_S
    while ledger.line(line).current_period.start != date(2026, 2, 28):  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the billing clock did not renew the line"
        time.sleep(0.05)


def test_the_clock_is_the_systems_unless_simulated() -> None:
    assert isinstance(clock_for(Settings(environment=Environment.PRODUCTION)), SystemClock)
    simulated = clock_for(
        Settings(environment=Environment.DEVELOPMENT, clock=ClockKind.SIMULATED, clock_start=START)
    )
    assert isinstance(simulated, SimulatedClock)
    assert simulated.now() == START
