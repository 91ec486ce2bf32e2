"""What an orchestrator and Prometheus ask: /healthz, /readyz and /metrics, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from api import keys
from api.problems.responses import RETRY_AFTER_STOPPED_S
from api.runtime import Runtime
from ledger.application import EVENTS_TABLE
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.settings import Environment, Settings
from tests.api.test_amount_bounds_http import top_up
from tests.support import START, free_port, served

ACME = {"name": "Acme", "currency": "USD", "time_zone": "UTC"}
STOPPED_WITHIN_S = 10.0


@pytest.fixture
def idle(database: Database) -> Iterator[Runtime]:
    """A runtime whose read models nobody maintains, with a lag bound of 0 events."""
    settings = Settings(
        database_url=database.url, environment=Environment.TEST, db_pool_size=2, ready_max_lag=0
    )
    runtime = Runtime.start(settings, clock=SimulatedClock(START))
    try:
        yield runtime
    finally:
        runtime.close()


def test_healthz_answers_while_the_process_runs(http: httpx.Client) -> None:
    assert (http.get("/healthz").status_code, http.get("/healthz").json()) == (
        200,
        {"status": "ok"},
    )


def test_readyz_is_ready_when_every_read_model_has_applied_the_log(http: httpx.Client) -> None:
    opened = http.post("/v1/partners", json=ACME).json()
    http.get(f"/v1/partners/{opened['id']}", params={"min_position": opened["position"]})
    ready = http.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["database"]) == ("ready", "ok")
    assert {model["name"] for model in body["projections"]} >= {"partners", "balances"}
    assert all(model["ready"] for model in body["projections"])


def test_readyz_is_503_while_a_background_task_has_stopped(database: Database) -> None:
    """A background task stopped by an error that needs a person (here the mail sender, its
    outbox table gone) makes the process unready, says which task and why, and shows in
    /metrics; before, /readyz said 200 with the task dead (issue 11, item 2)."""
    mail = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    mail.start()
    settings = Settings(
        database_url=database.url,
        environment=Environment.TEST,
        db_pool_size=2,
        smtp_url=f"smtp://127.0.0.1:{mail.port}",
    )
    runtime = Runtime.start(settings, clock=SimulatedClock(START))
    try:
        with runtime.database.connect() as conn:
            conn.execute("DROP TABLE outbox")
        runtime.start_mail()
        stopped_by = time.monotonic() + STOPPED_WITHIN_S  # at its first round, at once
        while runtime.background["mail"].last_error is None and time.monotonic() < stopped_by:
            time.sleep(0.01)
        with served(runtime) as url:
            answer = httpx.get(f"{url}/readyz")
            metrics = httpx.get(f"{url}/metrics").text
    finally:
        runtime.close()
        mail.stop()
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    body = answer.json()
    assert body["code"] == "background_not_running"
    [task] = body["background"]
    assert (task["name"], task["ok"]) == ("mail", False)
    assert "outbox" in task["last_error"]
    assert 'ledgerline_background_up{task="mail"} 0.0' in metrics
    assert "ledgerline_database_up 1.0" in metrics


def test_readyz_is_503_while_a_read_model_is_behind_the_lag_bound(idle: Runtime) -> None:
    idle.ledger.open_partner_account(**ACME)
    with served(idle) as url:
        answer = httpx.get(f"{url}/readyz")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "projections_behind"
    assert answer.headers["retry-after"] == "1"


def test_metrics_count_commands_by_outcome_and_show_projection_lag(
    http: httpx.Client, runtime: Runtime, client_for: Callable[[str | None], httpx.Client]
) -> None:
    http.post("/v1/partners", json=ACME, headers={"Idempotency-Key": "open-acme"})
    http.post("/v1/partners", json=ACME, headers={"Idempotency-Key": "open-acme"})
    http.post("/v1/partners", json={**ACME, "currency": "XYZ"})
    with runtime.database.connect() as conn:
        finance = keys.create_key(conn, keys.Role.FINANCE)[1]
    client_for(finance).post("/v1/partners", json=ACME)
    text = http.get("/metrics").text
    for line in (
        'ledgerline_commands_total{command="open_partner",outcome="accepted"} 1.0',
        'ledgerline_commands_total{command="open_partner",outcome="replayed"} 1.0',
        'ledgerline_commands_total{command="open_partner",outcome="currency_unknown"} 1.0',
        'ledgerline_commands_total{command="open_partner",outcome="forbidden"} 1.0',
    ):
        assert line in text
    assert 'ledgerline_projection_lag_events{projection="partners"}' in text
    assert 'ledgerline_http_request_duration_seconds_bucket{le="0.001"' in text


# --- a read model stopped at an event it cannot apply (issue 11) ----------------------------

STOP_SEEN_S = 5.0
"""How long the test waits for the runner to meet the bad event: it is live within tens of ms."""


def _wait_for_stop(http: httpx.Client) -> httpx.Response:
    deadline = time.monotonic() + STOP_SEEN_S
    while True:
        ready = http.get("/readyz")
        if ready.status_code == 503 or time.monotonic() > deadline:
            return ready
        time.sleep(0.02)


def test_a_read_model_that_cannot_apply_an_event_stops_alone_and_says_so_everywhere(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = http.post("/v1/partners", json=ACME).json()["id"]
    other = http.post("/v1/partners", json={**ACME, "name": "Other"}).json()["id"]
    topped = top_up(http, other, 5_000, "wire-1").json()
    http.get(f"/v1/partners/{other}/balance", params={"min_position": topped["position"]})
    # An event written by a version of the code without today's bounds: only the balances read
    # model reads top-ups, and its amount does not fit the bigint it casts amounts to.
    with runtime.database.connect() as conn:
        row = conn.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state)"
            " SELECT gen_random_uuid(), 1, topic, convert_to(jsonb_set(event,"
            " '{amount,_data_,amount_minor}', '100000000000000000000000')::text, 'UTF8')"
            f" FROM {EVENTS_TABLE} WHERE topic LIKE '%%BalanceToppedUp' RETURNING notification_id"
        ).fetchone()
    assert row is not None
    poisoned = int(row[0])
    later = http.post("/v1/partners", json={**ACME, "name": "Later"}).json()

    ready = _wait_for_stop(http)
    assert ready.status_code == 503
    assert ready.json()["code"] == "read_model_stopped"
    models = {model["name"]: model for model in ready.json()["projections"]}
    stopped = models["balances"]["stopped"]
    assert stopped["position"] == poisoned
    assert stopped["topic"].endswith("PartnerAccount.BalanceToppedUp")
    assert "out of range" in stopped["reason"]
    assert [name for name, model in models.items() if model["stopped"]] == ["balances"]
    # The others carry on: a later command is read at once from another read model.
    assert models["partners"]["position"] >= later["position"]
    assert (
        http.get(f"/v1/partners/{acme}", params={"min_position": later["position"]}).status_code
        == 200
    )
    # A read of the stopped model past its stop answers at once, not after the wait.
    behind = http.get(f"/v1/partners/{acme}/balance", params={"min_position": later["position"]})
    assert (behind.status_code, behind.json()["code"]) == (503, "read_model_stopped")
    assert behind.json()["stopped_at_position"] == poisoned
    assert behind.headers["retry-after"] == str(RETRY_AFTER_STOPPED_S)
    # Without a position, the balance it last had (another partner's reads carry on).
    assert (
        http.get(f"/v1/partners/{other}/balance").json()["company_balance"]["amount_minor"] == 5_000
    )

    text = http.get("/metrics").text
    assert 'ledgerline_projection_stopped{projection="balances"} 1.0' in text
    assert 'ledgerline_projection_stopped{projection="partners"} 0.0' in text
    status = http.get("/v1/projections/status").json()["projections"]
    assert {model["name"]: (model["stopped"] or {}).get("position") for model in status}[
        "balances"
    ] == poisoned
