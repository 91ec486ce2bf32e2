"""`GET /v1/partners/{id}/balance` answers every figure from the balances read model, as of
its `as_of_position` (issue 16: the announced top-ups were read from the partner's account in
the event store, as of now). Over real HTTP, with the read models applied by hand between
commands, so the log is ahead of them when the balance is read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from api import keys
from api.app import create_app
from api.runtime import Runtime
from domain.money import Money
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.settings import Environment, Settings
from projections.balances import Balances
from replay.rebuild import rebuild, swap
from tests.support import START, SwitchedApp


@pytest.fixture
def held_back(
    database: Database, http_server: tuple[SwitchedApp, str]
) -> Iterator[tuple[Runtime, httpx.Client]]:
    """A served runtime whose read models move only when the test applies the log, and an
    admin's client."""
    settings = Settings(database_url=database.url, environment=Environment.TEST, db_pool_size=2)
    runtime = Runtime.start(settings, clock=SimulatedClock(START))
    switch, url = http_server
    switch.app = create_app(runtime)
    with runtime.database.connect() as conn:
        _, key = keys.create_key(conn, keys.Role.ADMIN, label="test")
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
            yield runtime, client
    finally:
        switch.app = None
        runtime.close()


def _apply_the_log(runtime: Runtime) -> None:
    for runner in runtime.projectors:
        runner.catch_up()


def _balance(client: httpx.Client, partner: UUID) -> tuple[int, int, int]:
    """The company balance, the announced top-ups and the position they are as of."""
    answer = client.get(f"/v1/partners/{partner}/balance")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return (
        body["company_balance"]["amount_minor"],
        body["announced_top_ups"]["amount_minor"],
        body["as_of_position"],
    )


def test_r_c2_r_h2_the_announced_top_ups_are_read_as_of_the_balances_position(
    held_back: tuple[Runtime, httpx.Client],
) -> None:
    """A transfer announced, or confirmed, after the read model's position is not in the
    answer yet, as the money it moves is not: the figures always add up as of one position."""
    runtime, client = held_back
    ledger = runtime.ledger
    partner = ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC")
    assert partner.aggregate_id is not None
    acme = partner.aggregate_id
    first = ledger.announce_top_up(acme, Money(100_00, "USD"), "Wire 1")
    _apply_the_log(runtime)
    assert _balance(client, acme) == (0, 100_00, first.position)

    ledger.announce_top_up(acme, Money(50_00, "USD"), "Wire 2")
    assert _balance(client, acme) == (0, 100_00, first.position)
    confirmed = ledger.confirm_top_up(acme, UUID(first.data["top_up_id"]))
    assert _balance(client, acme) == (0, 100_00, first.position)

    _apply_the_log(runtime)
    assert _balance(client, acme) == (100_00, 50_00, confirmed.position)


def test_a_read_model_an_earlier_version_built_answers_503_until_rebuilt(
    held_back: tuple[Runtime, httpx.Client],
) -> None:
    """After an upgrade that changed a read model's rules, its live generation (built by the
    earlier version) lacks what the new reads ask for: a read answers 503
    `read_model_needs_rebuild`, naming it, not a 500; once rebuilt it answers as before."""
    runtime, client = held_back
    partner = runtime.ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC")
    assert partner.aggregate_id is not None
    runtime.ledger.announce_top_up(partner.aggregate_id, Money(100_00, "USD"), "Wire 1")
    _apply_the_log(runtime)
    with runtime.database.connect() as conn:  # the generation version 3 built
        [schema] = conn.execute(
            "SELECT 'rm_balances_' || generation FROM projection_generations "
            "WHERE projection = 'balances' AND live"
        ).fetchone() or [None]
        conn.execute(f"DROP TABLE {schema}.announced_top_ups CASCADE")  # and its view
        conn.execute("UPDATE projection_generations SET version = 3 WHERE projection = 'balances'")

    refused = client.get(f"/v1/partners/{partner.aggregate_id}/balance")
    assert refused.status_code == 503, refused.text
    problem = refused.json()
    assert (problem["code"], problem["projections"]) == ("read_model_needs_rebuild", ["balances"])
    assert "ledgerline projections rebuild balances" in problem["detail"]
    # A read of another read model is not refused for it.
    assert client.get(f"/v1/partners/{partner.aggregate_id}/banner").status_code == 200

    rebuilt = rebuild(runtime.database, Balances())
    swap(runtime.database, Balances(), rebuilt.generation)
    assert _balance(client, partner.aggregate_id)[:2] == (0, 100_00)
