"""`/v1/partners` over real HTTP: open, read your write, and problem responses."""

from __future__ import annotations

from uuid import UUID, uuid4

import httpx
import pytest

from api.runtime import Runtime
from ledger.application import EVENTS_TABLE

PROBLEM = "application/problem+json"
ACME = {"name": "Acme Resellers", "currency": "USD", "time_zone": "America/New_York"}


def event_count(runtime: Runtime) -> int:
    with runtime.database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    return int(row[0])


def test_opening_a_partner_answers_201_with_id_location_and_position(http: httpx.Client) -> None:
    response = http.post("/v1/partners", json=ACME)

    assert response.status_code == 201
    body = response.json()
    partner_id = UUID(body["id"])
    assert response.headers["location"] == f"/v1/partners/{partner_id}"
    assert body["position"] >= 1


def test_a_client_reads_its_own_write_by_waiting_for_the_position(http: httpx.Client) -> None:
    created = http.post("/v1/partners", json=ACME).json()

    response = http.get(
        f"/v1/partners/{created['id']}", params={"min_position": created["position"]}
    )

    assert response.status_code == 200
    assert response.json() == {
        "id": created["id"],
        "name": "Acme Resellers",
        "currency": "USD",
        "time_zone": "America/New_York",
        "opened_at": "2026-01-31T09:30:00Z",
        "position": created["position"],
    }


def test_a_position_not_reached_in_time_answers_503_projection_behind(
    http: httpx.Client,
) -> None:
    created = http.post("/v1/partners", json=ACME).json()
    seen = http.get(
        f"/v1/partners/{created['id']}",
        params={"min_position": created["position"], "wait_ms": 5000},
    )
    assert seen.status_code == 200
    response = http.get(
        f"/v1/partners/{created['id']}",
        params={"min_position": created["position"] + 1000, "wait_ms": 50},
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "1"
    problem = response.json()
    assert problem["code"] == "projection_behind"
    assert problem["wanted_position"] == created["position"] + 1000
    assert problem["reached_position"] >= created["position"]


def test_the_wait_is_bounded(http: httpx.Client) -> None:
    response = http.get(f"/v1/partners/{uuid4()}", params={"min_position": 1, "wait_ms": 60_000})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "wait_ms"]


def test_an_unknown_partner_is_a_404_problem(http: httpx.Client) -> None:
    missing = uuid4()
    response = http.get(f"/v1/partners/{missing}")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {
        "type": "urn:ledgerline:problem:partner_not_found",
        "title": "Partner not found",
        "status": 404,
        "code": "partner_not_found",
        "detail": f"No partner account {missing}.",
        "partner_id": str(missing),
    }


@pytest.mark.parametrize(
    ("body", "code", "failing"),
    [
        ({**ACME, "currency": "usd"}, "validation_failed", ["body", "currency"]),
        ({**ACME, "name": ""}, "validation_failed", ["body", "name"]),
        ({"name": "Acme", "currency": "USD"}, "validation_failed", ["body", "time_zone"]),
        ({**ACME, "card_number": "4242424242424242"}, "validation_failed", ["body", "card_number"]),
        ({**ACME, "currency": "XYZ"}, "currency_unknown", None),
        ({**ACME, "time_zone": "Mars/Olympus"}, "time_zone_unknown", None),
        ({**ACME, "name": "   "}, "invalid_value", None),
    ],
)
def test_bad_input_is_a_422_problem_and_writes_nothing(
    http: httpx.Client, runtime: Runtime, body: dict[str, str], code: str, failing: list[str] | None
) -> None:
    response = http.post("/v1/partners", json=body)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == 422
    if failing is not None:
        assert [error["loc"] for error in problem["errors"]] == [failing]
    assert "4242424242424242" not in response.text
    assert event_count(runtime) == 0


def test_malformed_json_is_a_422_problem(http: httpx.Client, runtime: Runtime) -> None:
    response = http.post(
        "/v1/partners", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert event_count(runtime) == 0


def test_unknown_routes_and_methods_are_problems(http: httpx.Client) -> None:
    assert http.get("/v1/nothing-here").json()["code"] == "not_found"
    response = http.delete("/v1/partners")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM


def test_every_response_carries_a_request_id(http: httpx.Client) -> None:
    generated = http.get(f"/v1/partners/{uuid4()}").headers["x-request-id"]
    assert len(generated) == 32
    echoed = http.get("/v1/nothing", headers={"x-request-id": "portal-7f3a"})
    assert echoed.headers["x-request-id"] == "portal-7f3a"
    unsafe = http.get("/v1/nothing", headers={"x-request-id": "x" * 500})
    assert unsafe.headers["x-request-id"] != "x" * 500


def test_openapi_and_docs_are_served(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    assert {"/v1/partners", "/v1/partners/{partner_id}"} <= set(spec["paths"])
    assert http.get("/docs").status_code == 200
