"""What `ledgerline serve` runs besides the API: the billing clock in the background, and the
clock and payment gateway it really uses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from api.runtime import (
    GatewayNotChosen,
    Runtime,
    clock_for,
    describe_clock,
    describe_gateway,
    gateway_for,
)
from domain.money import Money
from ledger.clock import SimulatedClock, SystemClock
from ledger.payments.gateway import GatewayUnavailable, NoGateway
from ledger.payments.simulator import SimulatedGateway
from ledger.settings import ClockKind, Environment, GatewayKind, Settings
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


def test_production_takes_simulated_payments_only_when_chosen_by_name() -> None:
    with pytest.raises(GatewayNotChosen, match="LEDGERLINE_PAYMENT_GATEWAY=simulator"):
        gateway_for(Settings(environment=Environment.PRODUCTION))
    chosen = Settings(environment=Environment.PRODUCTION, payment_gateway=GatewayKind.SIMULATOR)
    assert isinstance(gateway_for(chosen), SimulatedGateway)
    for environment in (Environment.DEVELOPMENT, Environment.TEST):
        assert isinstance(gateway_for(Settings(environment=environment)), SimulatedGateway)


def test_a_process_that_takes_no_payments_charges_nothing(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": Environment.PRODUCTION})
    with pytest.raises(GatewayNotChosen):
        Runtime.start(production)  # refused before anything starts
    admin = Runtime.start(settings, takes_payments=False)
    try:
        assert isinstance(admin.ledger.gateway, NoGateway)
        with pytest.raises(GatewayUnavailable):
            admin.ledger.gateway.refund("ch_1", Money(100, "USD"), "key", START)
    finally:
        admin.close()


def test_the_start_up_line_names_the_clock_and_gateway_really_used() -> None:
    assert describe_clock(SimulatedClock(START)) == "simulated at 2026-01-31T09:30:00+00:00"
    assert describe_clock(SystemClock()) == "system"
    assert describe_gateway(SimulatedGateway()) == "simulator"
    assert describe_gateway(NoGateway()).startswith("none")
