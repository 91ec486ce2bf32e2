"""Issue 11, item 1 over real HTTP: a top-up that would take a balance over its bound is a 422
problem that writes nothing, and every read model keeps answering with the right figures.

Before the bounds, the second of two such top-ups answered 500 with its event committed, and
the balances read model stopped for every partner (R-X1, R-X2)."""

from __future__ import annotations

from uuid import UUID

import httpx

from api.runtime import Runtime
from domain.money import AMOUNT_MAX_MINOR, BALANCE_MAX_MINOR
from tests.api.test_partners import ACME, PROBLEM, event_count


def usd(minor: int) -> dict[str, object]:
    return {"amount_minor": minor, "currency": "USD"}


def top_up(http: httpx.Client, partner_id: str, minor: int, key: str) -> httpx.Response:
    return http.post(
        f"/v1/partners/{partner_id}/top-ups",
        json={"amount": usd(minor), "source": "bank_transfer", "reference": key},
        headers={"Idempotency-Key": key},
    )


def test_r_x1_a_top_up_past_the_balance_bound_is_a_422_that_writes_nothing_and_reads_still_answer(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id = http.post("/v1/partners", json=ACME).json()["id"]
    first = top_up(http, partner_id, BALANCE_MAX_MINOR - 100, "wire-1")
    assert first.status_code == 201
    events = event_count(runtime)

    second = top_up(http, partner_id, 200, "wire-2")
    retried = top_up(http, partner_id, 200, "wire-2")

    for refused in (second, retried):
        assert refused.status_code == 422
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["code"] == "amount_too_large"
        assert refused.json()["limit_minor"] == BALANCE_MAX_MINOR
    assert event_count(runtime) == events
    at = {"min_position": first.json()["position"]}
    balance = http.get(f"/v1/partners/{partner_id}/balance", params=at)
    trial = http.get("/v1/ledger/trial-balance", params=at)
    assert balance.status_code == trial.status_code == 200
    assert balance.json()["company_balance"] == usd(BALANCE_MAX_MINOR - 100)
    assert trial.json()["balanced"] is True
    assert trial.json()["currencies"][0]["debits"] == usd(BALANCE_MAX_MINOR - 100)
    assert runtime.ledger.partner_account(UUID(partner_id)).balance.amount_minor == (
        BALANCE_MAX_MINOR - 100
    )


def test_r_x1_full_balances_of_many_partners_sum_beyond_one_amount_in_the_trial_balance(
    http: httpx.Client,
) -> None:
    partners = [
        http.post("/v1/partners", json={**ACME, "name": f"P{n}"}).json()["id"] for n in (1, 2, 3)
    ]
    # A reference by position, not by id: a random UUID's digits can pass the card-number
    # check (one in a few hundred), and a reference holding a card number is refused (R-X4).
    answers = [top_up(http, p, BALANCE_MAX_MINOR, f"wire-{n}") for n, p in enumerate(partners)]
    last = answers[-1]
    assert last.status_code == 201

    trial = http.get("/v1/ledger/trial-balance", params={"min_position": last.json()["position"]})

    assert trial.status_code == 200
    usd_totals = trial.json()["currencies"][0]
    assert usd_totals["debits"] == usd_totals["credits"] == usd(3 * BALANCE_MAX_MINOR)
    clearing = [a for a in trial.json()["accounts"] if a["account_kind"] == "cash_clearing"]
    assert clearing[0]["debits"] == usd(3 * BALANCE_MAX_MINOR)


def test_r_x1_the_openapi_document_states_the_amount_bound(http: httpx.Client) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]

    assert schemas["PositiveMoney"]["properties"]["amount_minor"]["maximum"] == AMOUNT_MAX_MINOR
    assert schemas["MoneyModel"]["properties"]["amount_minor"]["maximum"] == AMOUNT_MAX_MINOR


def test_r_x1_an_amount_above_the_bound_is_refused_by_the_schema(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id = http.post("/v1/partners", json=ACME).json()["id"]
    events = event_count(runtime)

    response = top_up(http, partner_id, AMOUNT_MAX_MINOR + 1, "wire-big")

    assert (response.status_code, response.json()["code"]) == (422, "validation_failed")
    assert event_count(runtime) == events
