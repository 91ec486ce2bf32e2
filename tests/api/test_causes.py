"""Who did it: every event an HTTP command writes records the key that issued it (its id and
role, never its secret) and the request id, including the events a command's payment
workflow writes from another thread (issue 14; ledger/audit_chain.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from api.keys import KEY_PATTERN
from api.runtime import Runtime
from ledger.application import EVENTS_TABLE

ACME = {"name": "Acme Resellers", "currency": "USD", "time_zone": "America/New_York"}
CARD = {
    "kind": "card",
    "number": "4242424242424242",
    "expiry_month": 12,
    "expiry_year": 2030,
    "holder": "Ada Lovelace",
    "cvv": "123",
    "postal_code": "10001",
}


def key_id(key: str) -> str:
    found = KEY_PATTERN.match(key)
    assert found is not None
    return found["key_id"]


def causes(runtime: Runtime, partner_id: str) -> list[dict[str, Any]]:
    with runtime.database.connect() as conn:
        rows = conn.execute(
            f"SELECT cause FROM {EVENTS_TABLE} WHERE chain = %s ORDER BY chain_seq",
            (partner_id,),
        ).fetchall()
    return [row[0] for row in rows]


def test_r_x4_events_record_the_key_and_request_that_caused_them_and_no_secret(
    runtime: Runtime,
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    admin_key = make_key("admin")
    admin = client_for(admin_key)
    opened = admin.post("/v1/partners", json=ACME, headers={"X-Request-Id": "open-acme-1"})
    assert opened.status_code == 201, opened.text
    partner_id = opened.json()["id"]
    partner_key = make_key("partner", partner_id)
    partner = client_for(partner_key)
    card = partner.post(
        f"/v1/partners/{partner_id}/payment-methods",
        json={"method": CARD},
        headers={"X-Request-Id": "card-1"},
    )
    assert card.status_code in (200, 201), card.text
    top_up = partner.post(
        f"/v1/partners/{partner_id}/top-ups",
        json={"amount": {"amount_minor": 5_000, "currency": "USD"}, "source": "card"},
        headers={"X-Request-Id": "top-up-1"},
    )
    assert top_up.status_code in (200, 201, 202), top_up.text

    recorded = causes(runtime, partner_id)
    by_admin = {"kind": "api_key", "key_id": key_id(admin_key), "role": "admin"}
    by_partner = {"kind": "api_key", "key_id": key_id(partner_key), "role": "partner"}
    assert recorded[0] == {**by_admin, "request_id": "open-acme-1"}
    later = recorded[1:]
    assert {cause["request_id"] for cause in later} == {"card-1", "top-up-1"}
    assert all(
        {**cause, "request_id": None} == {**by_partner, "request_id": None} for cause in later
    )
    secrets = (admin_key, partner_key, CARD["number"], CARD["cvv"])
    assert not any(secret in str(cause) for cause in recorded for secret in secrets)
