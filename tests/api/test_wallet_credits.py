"""`POST /v1/partners/{id}/wallet/credits` over real HTTP: the vendor's promotion or goodwill
credit fills a partner's bonus wallet (R-C5), once per Idempotency-Key (R-X5); a refused
amount is a 422 problem that writes nothing; only the vendor's admin keys may credit."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from api.runtime import Runtime
from domain.bonus_wallet import VENDOR_CREDIT_MAX_MAJOR
from ledger.application import EVENTS_TABLE
from tests.api.test_partners import (
    PROBLEM,
    ClientFor,
    MakeKey,
    as_partner,
    event_count,
    head,
    open_partner,
    usd,
)

GOODWILL = {"amount": usd(5000), "reason": "goodwill", "note": "Sorry for the outage of 12 March"}
MOST_USD_MINOR = VENDOR_CREDIT_MAX_MAJOR * 100


def test_r_c5_the_vendor_credits_bonuses_the_partner_then_holds(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    path = f"/v1/partners/{partner_id}/wallet/credits"

    first = http.post(path, json=GOODWILL)
    second = http.post(path, json={**GOODWILL, "reason": "promotion", "note": "Spring launch"})

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.headers["location"] == f"/v1/partners/{partner_id}/wallet"
    assert first.json()["wallet_balance"] == usd(5000)
    assert second.json()["wallet_balance"] == usd(10000)
    assert first.json()["credit_id"] != second.json()["credit_id"]
    partner = as_partner(client_for, make_key, partner_id)
    wallet = partner.get(
        f"/v1/partners/{partner_id}/wallet", params={"min_position": second.json()["position"]}
    ).json()
    assert wallet["balance"] == usd(10000)
    assert [(e["kind"], e["amount"]) for e in wallet["recent"]] == [("credited", usd(5000))] * 2
    balance = partner.get(
        f"/v1/partners/{partner_id}/balance", params={"min_position": second.json()["position"]}
    ).json()
    assert balance["bonus_wallet"] == usd(10000)
    # Each credit keeps its reason and note in the partner's history (R-X6).
    with runtime.database.connect() as conn:
        rows = conn.execute(
            f"SELECT event -> 'reason' ->> '_data_', event ->> 'note' FROM {EVENTS_TABLE} "
            "WHERE topic LIKE %s ORDER BY notification_id",
            ("%BonusWallet.Credited",),
        ).fetchall()
    assert [tuple(row) for row in rows] == [
        ("goodwill", "Sorry for the outage of 12 March"),
        ("promotion", "Spring launch"),
    ]


def test_r_x5_a_credit_sent_again_answers_the_same_and_writes_nothing(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    path = f"/v1/partners/{partner_id}/wallet/credits"
    key = {"Idempotency-Key": "goodwill-march"}
    first = http.post(path, json=GOODWILL, headers=key)
    events = event_count(runtime)

    again = http.post(path, json=GOODWILL, headers=key)
    other = http.post(path, json={**GOODWILL, "amount": usd(6000)}, headers=key)

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert event_count(runtime) == events


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (usd(0), "amount_not_positive"),
        (usd(-500), "amount_not_positive"),
        ({"amount_minor": 5000, "currency": "EUR"}, "currency_mismatch"),
        ({"amount_minor": 5000, "currency": "XYZ"}, "currency_unknown"),
        (usd(MOST_USD_MINOR + 1), "bonus_credit_too_large"),
    ],
)
def test_a_refused_amount_is_a_422_problem_and_writes_nothing(
    http: httpx.Client, runtime: Runtime, amount: dict[str, Any], code: str
) -> None:
    partner_id, _ = open_partner(http)
    events = event_count(runtime)

    refused = http.post(
        f"/v1/partners/{partner_id}/wallet/credits", json={**GOODWILL, "amount": amount}
    )

    assert (refused.status_code, refused.json()["code"]) == (422, code)
    assert refused.headers["content-type"] == PROBLEM
    assert event_count(runtime) == events
    wallet = http.get(f"/v1/partners/{partner_id}/wallet", params={"min_position": head(runtime)})
    assert wallet.json()["balance"] == usd(0)


def test_the_largest_credit_allowed_is_granted(http: httpx.Client) -> None:
    partner_id, _ = open_partner(http)
    granted = http.post(
        f"/v1/partners/{partner_id}/wallet/credits",
        json={**GOODWILL, "amount": usd(MOST_USD_MINOR)},
    )
    assert granted.status_code == 201
    assert granted.json()["wallet_balance"] == usd(MOST_USD_MINOR)


@pytest.mark.parametrize(
    "body",
    [
        {**GOODWILL, "reason": "cashback"},
        {**GOODWILL, "note": ""},
        {"amount": usd(100), "reason": "goodwill"},
    ],
)
def test_cashback_is_earned_not_granted_and_a_credit_says_why(
    http: httpx.Client, runtime: Runtime, body: dict[str, Any]
) -> None:
    partner_id, _ = open_partner(http)
    events = event_count(runtime)
    refused = http.post(f"/v1/partners/{partner_id}/wallet/credits", json=body)
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_failed")
    assert event_count(runtime) == events


@pytest.mark.parametrize("role", ["partner", "finance", "auditor"])
def test_only_the_vendors_admin_credits_bonuses(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey, role: str
) -> None:
    partner_id, _ = open_partner(http)
    key = make_key(role, partner_id if role == "partner" else None)
    events = event_count(runtime)
    refused = client_for(key).post(f"/v1/partners/{partner_id}/wallet/credits", json=GOODWILL)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert event_count(runtime) == events


def test_a_credit_to_no_partner_is_a_404_and_without_a_key_a_401(
    http: httpx.Client, client_for: ClientFor
) -> None:
    missing = http.post(f"/v1/partners/{uuid4()}/wallet/credits", json=GOODWILL)
    assert (missing.status_code, missing.json()["code"]) == (404, "partner_not_found")
    partner_id, _ = open_partner(http)
    anonymous = client_for(None).post(f"/v1/partners/{partner_id}/wallet/credits", json=GOODWILL)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
