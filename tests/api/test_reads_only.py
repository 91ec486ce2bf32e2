"""A read-only instance (`ledgerline serve --reads-only`, issue 16): reads of the same database as
the writing instance, in a process of their own, and no command.

Served over real HTTP beside the test's own (writing) app, on the same database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from uuid import uuid4

import httpx
import pytest
from fastapi.routing import APIRoute

from api.app import create_app
from api.middleware import READ_METHODS
from api.runtime import Runtime
from ledger.clock import SimulatedClock
from ledger.settings import Settings
from tests.support import START, event_count, served

PARAMETER = re.compile(r"\{[^}]+\}")


@pytest.fixture
def read_only(settings: Settings, runtime: Runtime) -> Iterator[Runtime]:
    """A second runtime on the test's database (`runtime` made its tables), serving reads only;
    no background work of its own, as `ledgerline serve --reads-only` starts none."""
    started = Runtime.start(
        settings.model_copy(update={"reads_only": True}), clock=SimulatedClock(START)
    )
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def reader(read_only: Runtime, make_key: Callable[..., str]) -> Iterator[httpx.Client]:
    """An admin's client of the read-only instance."""
    key = make_key("admin")
    with (
        served(read_only) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client,
    ):
        yield client


def test_a_read_only_instance_answers_every_command_421_and_writes_nothing(
    runtime: Runtime, read_only: Runtime, reader: httpx.Client
) -> None:
    commands = [
        (method, PARAMETER.sub(str(uuid4()), route.path))
        for route in create_app(read_only).routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods - READ_METHODS)
    ]
    assert len(commands) > 30  # every command route of the API, not a sample
    before = event_count(runtime)
    for method, path in commands:
        answer = reader.request(
            method, path, json={"name": "Acme"}, headers={"Idempotency-Key": str(uuid4())}
        )
        assert answer.status_code == 421, (method, path)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "read_only_instance", (method, path)
    assert event_count(runtime) == before


def test_a_read_only_instance_reads_what_the_writing_one_wrote(
    http: httpx.Client, reader: httpx.Client
) -> None:
    opened = http.post("/v1/partners", json={"name": "Acme", "currency": "USD", "time_zone": "UTC"})
    assert opened.status_code == 201
    partner = opened.json()["id"]
    top_up = {
        "amount": {"amount_minor": 12_345, "currency": "USD"},
        "source": "bank_transfer",
        "reference": "Wire",
    }
    topped = http.post(f"/v1/partners/{partner}/top-ups", json=top_up)
    assert topped.status_code == 201
    after = {"min_position": topped.json()["position"]}
    for read in ("", "/balance", "/wallet", "/invoices", "/activity"):
        there = reader.get(f"/v1/partners/{partner}{read}", params=after)
        here = http.get(f"/v1/partners/{partner}{read}", params=after)
        assert there.status_code == 200, read
        assert there.json() == here.json(), read
    balance = reader.get(f"/v1/partners/{partner}/balance", params=after).json()
    assert balance["company_balance"]["amount_minor"] == 12_345
    assert reader.get("/readyz").status_code == 200
