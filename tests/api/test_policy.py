"""`/v1/policy` over real HTTP (issue 13): the vendor schedules a card-fee change, every key
reads the version in force and those scheduled, and a card payment on or after the change's
date pays its fee at the new rate. A change in the past or today, a rate the rules refuse or
sent as a JSON number, is a 422 problem that writes nothing; only admin keys change the policy.

Lines sell e-mail signatures at 25.00 USD a month: a card adds 3 % (0.75 USD) until the change
and 2.5 % (0.63 USD, half-up) from it. The clock starts on 2026-01-31 at 09:30 UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from api.runtime import Runtime
from ledger.clock import SimulatedClock
from tests.ledger.payments_support import ACH, SIGNATURES, VISA, open_partner
from tests.support import event_count

PROBLEM = "application/problem+json"
CHANGE = {"effective_from": "2026-02-02", "card_fee_rate": "0.025"}
Client = Callable[[str | None], httpx.Client]
MakeKey = Callable[..., str]


def test_r_o7_a_card_fee_change_over_http_applies_to_payments_from_its_date(
    runtime: Runtime,
    http: httpx.Client,
    client_for: Client,
    make_key: MakeKey,
    clock: SimulatedClock,
) -> None:
    partner, _, (invoice_id,) = open_partner(runtime.ledger, ACH, VISA)
    own = client_for(make_key("partner", partner))

    scheduled = http.post("/v1/policy/changes", json=CHANGE)

    assert scheduled.status_code == 201, scheduled.text
    assert scheduled.headers["location"] == "/v1/policy/versions"
    assert {k: scheduled.json()[k] for k in ("version", "effective_from", "changes")} == {
        "version": 1,
        "effective_from": "2026-02-02",
        "changes": {"card_fee_rate": "0.025"},
    }
    read_after = {"min_position": scheduled.json()["position"], "wait_ms": 5000}
    today = own.get("/v1/policy", params=read_after).json()
    assert (today["on"], today["in_force"]["version"]) == ("2026-01-31", 0)
    assert today["in_force"]["card_fee_percent"] == "3"
    assert [(v["version"], v["card_fee_percent"]) for v in today["scheduled"]] == [(1, "2.5")]
    then = own.get("/v1/policy", params={"on": "2026-02-02"}).json()
    assert (then["in_force"]["version"], then["in_force"]["card_fee_rate"]) == (1, "0.025")
    assert then["in_force"]["cashback_rate"] == today["in_force"]["cashback_rate"]
    assert then["scheduled"] == []
    versions = own.get("/v1/policy/versions", params={"limit": 1}).json()
    assert [v["version"] for v in versions["items"]] == [0]
    rest = own.get("/v1/policy/versions", params={"cursor": versions["next_cursor"]}).json()
    assert ([v["version"] for v in rest["items"]], rest["next_cursor"]) == ([1], None)

    clock.set(datetime(2026, 2, 2, 12, tzinfo=UTC))  # the change's day, in UTC (the partner's)
    paid = own.post(f"/v1/invoices/{invoice_id}/payments", json={"source": "card"})

    assert paid.status_code == 201, paid.text
    invoice = own.get(
        f"/v1/invoices/{invoice_id}",
        params={"min_position": paid.json()["position"], "wait_ms": 5000},
    ).json()
    fee = 63
    assert invoice["total"] == {"amount_minor": SIGNATURES + fee, "currency": "USD"}
    # The fee line names the policy version whose rate made it (issue 13).
    assert [
        (line["kind"], line["description"], line["policy_version"]) for line in invoice["lines"]
    ][-1] == ("card_fee", "Card processing fee (2.5 %)", 1)


REFUSED = [
    ({**CHANGE, "effective_from": "2026-01-31"}, "policy_change_not_in_future"),  # today
    ({**CHANGE, "effective_from": "2025-06-01"}, "policy_change_not_in_future"),
    ({**CHANGE, "card_fee_rate": "1.5"}, "invalid_value"),
    ({**CHANGE, "card_fee_rate": 0.025}, "validation_failed"),  # a float is not exact
    ({**CHANGE, "grace_period_days": -1}, "validation_failed"),
    ({**CHANGE, "grace_period_days": 10**30}, "validation_failed"),
    ({"effective_from": "2026-02-02"}, "invalid_value"),  # changes nothing
]


def test_a_refused_policy_change_is_a_422_problem_that_writes_nothing(
    runtime: Runtime, http: httpx.Client
) -> None:
    """One runtime for every refusal: each costs one request, not a server start."""
    before = event_count(runtime)
    for body, code in REFUSED:
        response = http.post("/v1/policy/changes", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["code"] == code, body
    assert event_count(runtime) == before


def test_r_x5_only_admin_keys_change_the_policy_and_a_retry_writes_once(
    runtime: Runtime, http: httpx.Client, client_for: Client, make_key: MakeKey
) -> None:
    partner, _, _ = open_partner(runtime.ledger, ACH)
    before = event_count(runtime)
    for role, partner_id in (("partner", partner), ("finance", None), ("auditor", None)):
        refused = client_for(make_key(role, partner_id)).post("/v1/policy/changes", json=CHANGE)
        assert refused.status_code == 403, (role, refused.text)
    assert event_count(runtime) == before
    headers = {"Idempotency-Key": "fee-2.5"}
    first = http.post("/v1/policy/changes", json=CHANGE, headers=headers)
    written = event_count(runtime)
    again = http.post("/v1/policy/changes", json=CHANGE, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["version"] == first.json()["version"] == 1
    assert event_count(runtime) == written
