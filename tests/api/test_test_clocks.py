"""Test clocks over HTTP (issue 15): a partner on a clock lives three months through advances
alone; an advance still running answers 202 and resumes on the next start; deployments that
refuse test clocks say so on every route.

The three months are the CraftJack grace story (tests/ledger/scenarios/test_craftjack.py and
its HTTP telling, test_r_l4_r_x2_…): the same figures, with the contractor on a test clock
instead of the server's clock moved by hand, and then two more months of it. The server's own
clock stands months away all along, so every instant the partner's events record is the test
clock's. About a second and a half of work, most of it the story's fifty requests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest

from api.app import create_app
from api.runtime import Runtime
from ledger.application import EVENTS_TABLE
from ledger.clock import SimulatedClock
from ledger.settings import Environment, Settings, TestClocksChoice
from tests.api.scenarios.support import (
    ClientFor,
    Json,
    MakeKey,
    Story,
    minor,
    pay_offline,
)
from tests.api.scenarios.test_craftjack_http import (
    DECLINING,
    Contractor,
    account,
    bills,
    invoices,
    lead,
    set_up,
    summary,
)
from tests.ledger.scenarios.craftjack_support import local
from tests.support import START, SwitchedApp

SERVERS_TIME = datetime(2026, 9, 1, 12, tzinfo=UTC)
"""Where the server's own clock stands: after everything the test clock goes through."""
READY_TIMEOUT_S = 30.0
"""How long a resumed advance is waited for (it takes well under a second)."""


def advance(story: Story, clock_id: str, to: datetime, **params: Any) -> Json:
    """Move the clock to `to` over HTTP and wait for it (201); the reads after see its work."""
    response = story.admin.client.post(
        f"/v1/test-clocks/{clock_id}/advance",
        json={"frozen_time": to.isoformat()},
        headers={"Idempotency-Key": f"advance/{to.isoformat()}"},
        params=params,
    )
    assert response.status_code == 201, response.text
    answer: Json = response.json()
    assert answer["status"] == "ready"
    assert datetime.fromisoformat(answer["frozen_time"]) == to
    story.saw(int(answer["position"]))
    return answer


def sign_up_on(story: Story, clock_id: str) -> Contractor:
    """The contractor of the CraftJack story, on the test clock, with a declining card."""
    admin = story.admin
    answer = admin.post(
        "/v1/partners",
        {
            "name": "Rivera Roofing",
            "currency": "USD",
            "time_zone": "America/Los_Angeles",
            "test_clock": clock_id,
        },
        key="cj/open",
    )
    partner = UUID(answer["id"])
    return set_up(partner, story.partner_key(partner), DECLINING)


def deliver(story: Story, clock_id: str, contractor: Contractor, number: int, at: datetime) -> Json:
    """The clock moves to `at` (an advance), then the vendor records lead `number`."""
    advance(story, clock_id, at)
    body = lead(number, at, None)
    return story.admin.post(f"/v1/lines/{contractor.line}/leads", body, key=f"cj/lead/{number}")


def recorded_at(story: Story, partner: UUID) -> list[datetime]:
    """When each of the partner's events was recorded, as its audit chain holds them."""
    with story.runtime.database.connect() as conn:
        rows = conn.execute(
            f"SELECT recorded_at FROM {EVENTS_TABLE} WHERE chain = %s ORDER BY chain_seq",
            (partner,),
        ).fetchall()
    return [row[0] for row in rows]


def test_r_l4_r_x7_a_partner_on_a_test_clock_lives_three_months_of_grace_over_http_alone(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    clock.set(SERVERS_TIME)
    story = Story(runtime, clock, client_for, make_key)
    made = story.admin.post(
        "/v1/test-clocks", {"name": "CraftJack", "frozen_time": START.isoformat()}, key="clock"
    )
    clock_id = made["id"]
    assert (made["status"], datetime.fromisoformat(made["frozen_time"])) == ("ready", START)
    contractor = sign_up_on(story, clock_id)
    own, partner = contractor.own, contractor.partner
    assert story.admin.get(f"/v1/test-clocks/{clock_id}")["partners"] == [str(partner)]

    for number in range(1, 7):
        sixth = deliver(story, clock_id, contractor, number, local(2, 2, 8 + number))
    assert (sixth["charge"]["charge_status"], sixth["charge"]["decline_code"]) == (
        "declined",
        "card_declined",
    )
    first = sixth["invoice_id"]
    grace = account(contractor)
    assert (grace["status"], grace["grace_ends_on"]) == ("in_grace", "2026-02-09")
    deliver(story, clock_id, contractor, 7, local(2, 4, 10))  # leads keep coming in grace

    # Friday's run: 3500, declined too (no fee is owed on a charge that failed).
    friday = advance(story, clock_id, local(2, 6))
    assert (friday["done"], friday["steps"]) == ({"invoice_leads": 1}, 1)
    second = invoices(contractor)[1]
    assert summary(second)[:6] == ("INV-2026-000002", "2026-02-06", "2026-02-06", 3500, 1, 0)
    advance(story, clock_id, local(2, 8, 23, 59))
    assert account(contractor)["status"] == "in_grace"
    assert minor(own.get(f"/v1/partners/{partner}/balance")["receivable"]) == 24500

    # A week after the missed payment.
    assert advance(story, clock_id, local(2, 9))["done"] == {"expire_grace": 1}
    assert account(contractor)["pause_reasons"] == ["payment_overdue"]
    paused = story.admin.refused(
        f"/v1/lines/{contractor.line}/leads",
        lead(8, local(2, 9), None),
        key="cj/lead/8/refused",
        status=409,
    )
    assert (paused["code"], paused["reasons"]) == ("account_paused", ["payment_overdue"])

    advance(story, clock_id, local(2, 10, 11))
    wire = {"source": "bank_transfer", "reference": "wire 1"}
    assert pay_offline(own, first, wire, key="cj/wire/1")["status"] == "settled"
    assert minor(own.get(f"/v1/partners/{partner}/balance")["receivable"]) == 3500
    pay_offline(own, second["id"], {"source": "bank_transfer", "reference": "wire 2"}, key="w2")
    settled = account(contractor)
    assert (settled["status"], settled["pause_reasons"], settled["banner"]) == ("active", [], None)
    deliver(story, clock_id, contractor, 8, local(2, 10, 12))  # leads flow again

    # Two more months: lead 8 goes on Friday's run, declined; a week of grace, then paused.
    rest = advance(story, clock_id, local(4, 30, 12))
    assert rest["done"] == {"invoice_leads": 1, "expire_grace": 1}
    assert bills(contractor) == [
        ("INV-2026-000001", "2026-02-02", "2026-02-02", 21000, 6, 0, "settled"),
        ("INV-2026-000002", "2026-02-06", "2026-02-06", 3500, 1, 0, "settled"),
        ("INV-2026-000003", "2026-02-13", "2026-02-13", 3500, 1, 0, "open"),
    ]
    assert invoices(contractor)[2]["last_decline_code"] == "card_declined"
    late = account(contractor)
    assert (late["status"], late["pause_reasons"]) == ("paused", ["payment_overdue"])
    books = story.trial_balance("USD")
    assert (books["receivable"], books["cash_clearing"], books["revenue_leads"]) == (
        3500,
        24500,
        -28000,
    )
    # Every instant the partner's events record is the test clock's, none the server's.
    instants = recorded_at(story, partner)
    assert instants[0] == START
    assert all(START <= at <= local(4, 30, 12) for at in instants)
    assert instants == sorted(instants)
    read = story.finance.get(f"/v1/test-clocks/{clock_id}")
    assert (read["status"], read["target"]) == ("ready", None)
    assert datetime.fromisoformat(read["frozen_time"]) == local(4, 30, 12)


@pytest.fixture
def second_runtime(settings: Settings) -> Iterator[list[Runtime]]:
    """Runtimes a test starts on its database after the first (a restart), closed after it."""
    started: list[Runtime] = []
    yield started
    for runtime in started:
        runtime.close()


def test_an_advance_still_running_answers_202_refuses_a_second_resumes_on_the_next_start(
    runtime: Runtime,
    clock: SimulatedClock,
    client_for: ClientFor,
    make_key: MakeKey,
    http_server: tuple[SwitchedApp, str],
    settings: Settings,
    second_runtime: list[Runtime],
) -> None:
    """The first runtime is stopping (its advances stop before their first step), as a server
    shut down in the middle of an advance; the next one started on the database resumes it.
    Then the clock is deleted, with its partner."""
    story = Story(runtime, clock, client_for, make_key)
    made = story.admin.post(
        "/v1/test-clocks", {"name": "Restart", "frozen_time": START.isoformat()}, key="clock"
    )
    clock_id = made["id"]
    contractor = sign_up_on(story, clock_id)
    runtime.ledger.test_clocks.stop()  # as close() does: advances stop at their next step

    path = f"/v1/test-clocks/{clock_id}/advance"
    body = {"frozen_time": local(2, 28).isoformat()}
    running = story.admin.client.post(
        path, json=body, params={"wait_ms": 0}, headers={"Idempotency-Key": "long"}
    )
    assert running.status_code == 202, running.text
    assert (running.json()["status"], running.json()["done"]) == ("advancing", None)
    read = story.admin.get(f"/v1/test-clocks/{clock_id}")
    assert (read["status"], datetime.fromisoformat(read["target"])) == ("advancing", local(2, 28))
    again = story.admin.client.post(path, json=body, headers={"Idempotency-Key": "again"})
    assert (again.status_code, again.json()["code"]) == (409, "test_clock_busy")

    restarted = Runtime.start(settings, clock=SimulatedClock(START))
    second_runtime.append(restarted)
    restarted.start_projectors()
    http_server[0].app = create_app(restarted)
    assert restarted.resume_test_clocks() == [UUID(clock_id)]
    deadline = time.monotonic() + READY_TIMEOUT_S
    while story.admin.get(f"/v1/test-clocks/{clock_id}")["status"] != "ready":
        assert time.monotonic() < deadline, "the resumed advance did not finish"
        time.sleep(0.05)
    # The request sent again answers what the advance did: no lead was delivered, nothing due.
    replayed = story.admin.client.post(path, json=body, headers={"Idempotency-Key": "long"})
    assert replayed.status_code == 201, replayed.text
    assert (replayed.json()["done"], replayed.json()["steps"]) == ({}, 0)
    assert replayed.headers["idempotent-replayed"] == "true"

    # Deleted, the clock takes its partner with it: the account is closed, its history kept.
    for _ in range(2):  # deleting it again answers the same
        deleted = story.admin.client.delete(f"/v1/test-clocks/{clock_id}")
        assert (deleted.status_code, deleted.json()["status"]) == (200, "deleted"), deleted.text
    story.saw(int(deleted.json()["position"]))
    state = contractor.own.get(f"/v1/partners/{contractor.partner}/state")
    assert state["status"] == "closed"
    assert story.admin.get(f"/v1/test-clocks/{clock_id}")["status"] == "deleted"


def test_test_clocks_are_refused_where_the_settings_refuse_them_production_by_default(
    runtime: Runtime, http: httpx.Client, database: Any
) -> None:
    assert not Settings(environment=Environment.PRODUCTION).test_clocks_allowed
    sandbox = Settings(environment=Environment.PRODUCTION, test_clocks=TestClocksChoice.ALLOW)
    assert sandbox.test_clocks_allowed
    made = http.post("/v1/test-clocks", json={"name": "x", "frozen_time": START.isoformat()})
    assert made.status_code == 201, made.text
    clock_id = made.json()["id"]

    runtime.settings = runtime.settings.model_copy(update={"test_clocks": TestClocksChoice.REFUSE})
    body = {"frozen_time": local(3, 1).isoformat()}
    opening = {"name": "A", "currency": "USD", "time_zone": "UTC", "test_clock": clock_id}
    for response in (
        http.post("/v1/test-clocks", json={"name": "y", "frozen_time": START.isoformat()}),
        http.get("/v1/test-clocks"),
        http.get(f"/v1/test-clocks/{clock_id}"),
        http.post(f"/v1/test-clocks/{clock_id}/advance", json=body),
        http.delete(f"/v1/test-clocks/{clock_id}"),
        http.post("/v1/partners", json=opening),
    ):
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "test_clocks_not_allowed"
    # A partner on no clock is opened as ever.
    plain = {"name": "A", "currency": "USD", "time_zone": "UTC"}
    assert http.post("/v1/partners", json=plain).status_code == 201
