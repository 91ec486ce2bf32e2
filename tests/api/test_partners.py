"""`/v1/partners` over real HTTP: accounts, their setup, payment methods and reads, who may
do what, idempotency and problem responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from api.runtime import Runtime
from domain.invoice import InvoiceStatus
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.values import TAX_ID_MAX_LENGTH, Payer
from ledger.application import EVENTS_TABLE
from ledger.payments.simulator import SimulatedGateway
from tests.support import NOT_CATALOGUE

PROBLEM = "application/problem+json"
ACME = {"name": "Acme Resellers", "currency": "USD", "time_zone": "America/New_York"}


def event_count(runtime: Runtime) -> int:
    with runtime.database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE} WHERE {NOT_CATALOGUE}").fetchone()
    assert row is not None
    return int(row[0])


def test_opening_a_partner_answers_201_with_id_location_and_position(http: httpx.Client) -> None:
    response = http.post("/v1/partners", json=ACME)

    assert response.status_code == 201
    body = response.json()
    partner_id = UUID(body["id"])
    assert response.headers["location"] == f"/v1/partners/{partner_id}"
    assert body["position"] >= 1


@pytest.mark.parametrize("anchor", ["calendar", "anniversary"])
def test_r_o2_a_partner_is_opened_with_the_billing_anchor_asked_for(
    http: httpx.Client, runtime: Runtime, anchor: str
) -> None:
    response = http.post("/v1/partners", json={**ACME, "anchor": anchor})
    assert response.status_code == 201
    assert runtime.ledger.partner_account(UUID(response.json()["id"])).anchor.value == anchor


def test_an_unknown_billing_anchor_is_a_422_problem(http: httpx.Client) -> None:
    response = http.post("/v1/partners", json={**ACME, "anchor": "fortnightly"})
    assert (response.status_code, response.json()["code"]) == (422, "validation_failed")


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


def test_issue_11_without_a_cipher_key_a_name_that_looks_sealed_reads_back_as_given(
    http: httpx.Client,
) -> None:
    """The envelope's prefix is only ever opened with a key (ledger/sealing.py `reveal`)."""
    name = "enc:v1:Acme"
    created = http.post("/v1/partners", json={**ACME, "name": name}).json()

    response = http.get(
        f"/v1/partners/{created['id']}", params={"min_position": created["position"]}
    )

    assert (response.status_code, response.json()["name"]) == (200, name)


def test_a_position_not_reached_in_time_answers_503_projection_behind(
    http: httpx.Client, runtime: Runtime
) -> None:
    created = http.post("/v1/partners", json=ACME).json()
    seen = http.get(
        f"/v1/partners/{created['id']}",
        params={"min_position": created["position"], "wait_ms": 5000},
    )
    assert seen.status_code == 200
    # Hold the read model's position row, as a slow batch would, while another write lands.
    with runtime.database.connect() as conn, conn.transaction():
        conn.execute(
            "SELECT position FROM projection_generations WHERE projection = 'partners' "
            "AND live FOR UPDATE"
        )
        later = http.post("/v1/partners", json={**ACME, "name": "Later"}).json()
        response = http.get(
            f"/v1/partners/{created['id']}",
            params={"min_position": later["position"], "wait_ms": 50},
        )
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "1"
    problem = response.json()
    assert problem["code"] == "projection_behind"
    assert problem["wanted_position"] == later["position"]
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
        # R-X1: the lev left ISO 4217 (Bulgaria adopted the euro); old amounts still read.
        ({**ACME, "currency": "BGN"}, "currency_withdrawn", None),
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


# --- helpers (tests/api/test_clients.py uses them too) -----------------------------------------

CARD = {
    "kind": "card",
    "number": "5555 5555 5555 4444",
    "expiry_month": 12,
    "expiry_year": 2030,
    "holder": "Jane Doe",
    "cvv": "739",
    "postal_code": "10118",
}
CARD_DIGITS = "5555555555554444"
VISA = {**CARD, "number": "4242424242424242", "cvv": "123"}
DECLINING = {**CARD, "number": "4000 0000 0000 0002", "cvv": "123"}
ACH = {
    "kind": "ach",
    "routing_number": "110000000",
    "account_number": "000123456789",
    "name_on_account": "Acme Resellers LLC",
}
PROFILE = {
    "entity": "Acme Resellers LLC",
    "address": {
        "lines": ["350 Fifth Avenue", "Suite 4100"],
        "city": "New York",
        "postal_code": "10118",
        "country": "US",
    },
    "billing_email": "billing@acme.example",
}
LINE_MINOR = 2000
"""The messaging line's monthly price in USD (ledger/catalogue.toml)."""
MakeKey = Callable[..., str]
ClientFor = Callable[[str | None], httpx.Client]


def usd(minor: int) -> dict[str, Any]:
    return {"amount_minor": minor, "currency": "USD"}


def open_partner(http: httpx.Client, name: str = "Acme Resellers") -> tuple[UUID, int]:
    """A new partner's id and the position to read it after."""
    response = http.post("/v1/partners", json={**ACME, "name": name})
    assert response.status_code == 201
    return UUID(response.json()["id"]), int(response.json()["position"])


def as_partner(client_for: ClientFor, make_key: MakeKey, partner_id: UUID) -> httpx.Client:
    return client_for(make_key("partner", partner_id))


def register(http: httpx.Client, partner_id: UUID, *, unified: bool = False) -> UUID:
    response = http.post(
        f"/v1/partners/{partner_id}/clients",
        json={
            "name": "Blue Bottle Cafe",
            "email": "owner@bluebottle.example",
            "unified_billing": unified,
        },
    )
    assert response.status_code == 201
    return UUID(response.json()["id"])


def issue_invoice(
    runtime: Runtime, partner_id: UUID, client_id: UUID, key: str, *, payer: Payer = Payer.PARTNER
) -> tuple[UUID, UUID]:
    """A line bought for the client and started: its first period is invoiced (R-C1)."""
    line = runtime.ledger.create_line(
        partner_id, client_id, "messaging-line", payer=payer, key=f"{key}/line"
    ).aggregate_id
    assert line is not None
    started = runtime.ledger.activate_line(line, key=f"{key}/activate")
    return line, UUID(started.data["invoice_id"])


def head(runtime: Runtime) -> int:
    """The log's last position: reading after it reads every write made so far."""
    with runtime.database.connect() as conn:
        row = conn.execute(
            f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"
        ).fetchone()
    assert row is not None
    return int(row[0])


def charge_count(runtime: Runtime) -> int:
    """How many charges the simulated processor was asked for."""
    gateway = runtime.ledger.gateway
    assert isinstance(gateway, SimulatedGateway)
    return len(gateway.charges)


def stored_text(runtime: Runtime) -> str:
    """Everything the ledger stored: events (as JSON and raw state), snapshots, answers, mail."""
    queries = (
        f"SELECT event::text || convert_from(state, 'UTF8') FROM {EVENTS_TABLE}",
        "SELECT convert_from(state, 'UTF8') FROM ledger_snapshots",
        "SELECT response::text FROM command_log",
        "SELECT subject || body FROM outbox",
    )
    with runtime.database.connect() as conn:
        return "\n".join(str(row[0]) for q in queries for row in conn.execute(q).fetchall())


def same_404(
    other: httpx.Response, missing: httpx.Response, other_id: UUID, missing_id: UUID
) -> None:
    """Another partner's id answers exactly as an id that does not exist (R-C8)."""
    assert other.status_code == missing.status_code == 404
    assert other.headers["content-type"] == missing.headers["content-type"] == PROBLEM
    assert other.json() == json.loads(missing.text.replace(str(missing_id), str(other_id)))


# --- listing partners ----------------------------------------------------------------------------


def test_admin_finance_and_auditor_list_every_partner_a_page_at_a_time(
    http: httpx.Client, client_for: ClientFor, make_key: MakeKey
) -> None:
    opened = [open_partner(http, f"Partner {n}") for n in range(3)]
    ids = sorted(str(partner_id) for partner_id, _ in opened)
    last = max(position for _, position in opened)
    for role in ("admin", "finance", "auditor"):
        reader = client_for(make_key(role))
        first = reader.get("/v1/partners", params={"limit": 2, "min_position": last})
        assert first.status_code == 200
        assert [p["id"] for p in first.json()["items"]] == ids[:2]
        second = reader.get(
            "/v1/partners", params={"limit": 2, "cursor": first.json()["next_cursor"]}
        )
        assert [p["id"] for p in second.json()["items"]] == ids[2:]
        assert second.json()["next_cursor"] is None


def test_a_partner_key_lists_only_its_own_partner(
    http: httpx.Client, client_for: ClientFor, make_key: MakeKey
) -> None:
    mine, _ = open_partner(http, "Mine")
    _, last = open_partner(http, "Theirs")
    partner = as_partner(client_for, make_key, mine)
    response = partner.get("/v1/partners", params={"min_position": last})
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["items"]] == [str(mine)]


def test_a_cursor_this_list_did_not_give_out_is_a_422_problem(http: httpx.Client) -> None:
    response = http.get("/v1/partners", params={"cursor": "WyJub3QtYS11dWlkIl0="})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_value"


# --- billing profile, clients, budget, autopay ------------------------------------------------


def test_r_o1_a_partner_records_its_own_billing_profile(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    partner = as_partner(client_for, make_key, partner_id)

    response = partner.post(f"/v1/partners/{partner_id}/billing-profile", json=PROFILE)

    assert response.status_code == 201
    assert response.headers["location"] == f"/v1/partners/{partner_id}"
    assert response.json()["id"] == str(partner_id)
    account = runtime.ledger.partner_account(partner_id)
    assert (account.entity, account.billing_email) == ("Acme Resellers LLC", "billing@acme.example")
    assert account.address is not None
    assert account.address.lines == ("350 Fifth Avenue", "Suite 4100")


def test_issue_17_the_billing_profile_records_a_tax_id_and_a_bad_one_writes_nothing(
    http: httpx.Client, runtime: Runtime
) -> None:
    """The customer's tax id (issue 17): recorded with the profile as it is to be printed,
    shown in the partner's state; a bad one is refused with a stable code and writes nothing;
    a later profile without one removes it. One partner, a few requests."""
    partner_id, _ = open_partner(http)
    path = f"/v1/partners/{partner_id}/billing-profile"
    recorded = http.post(path, json={**PROFILE, "tax_id": " PL  525-200-00-00 "})
    assert recorded.status_code == 201, recorded.text

    def tax_id(position: int) -> object:
        """As the partner's state shows it once the read models have applied `position`."""
        state = http.get(
            f"/v1/partners/{partner_id}/state", params={"min_position": position, "wait_ms": 5000}
        )
        assert state.status_code == 200, state.text
        return state.json()["billing_profile"]["tax_id"]

    assert tax_id(recorded.json()["position"]) == "PL 525-200-00-00"
    events = event_count(runtime)
    for bad, code in [
        ("7" * (TAX_ID_MAX_LENGTH + 1), "tax_id_invalid"),
        ("   ", "tax_id_invalid"),
        ("INN: 7707083893", "tax_id_invalid"),  # a colon is no part of a tax id
        ("VAT-ID", "tax_id_invalid"),  # no digit
        ("4242 4242 4242 4242", "card_number_in_text"),  # R-X4
    ]:
        refused = http.post(path, json={**PROFILE, "tax_id": bad})
        assert (refused.status_code, refused.json()["code"]) == (422, code), bad
        assert refused.headers["content-type"] == "application/problem+json"
    assert event_count(runtime) == events
    assert tax_id(recorded.json()["position"]) == "PL 525-200-00-00"

    cleared = http.post(path, json=PROFILE)
    assert cleared.status_code == 201
    assert tax_id(cleared.json()["position"]) is None


def test_r_x5_a_replayed_command_answers_as_the_first_and_writes_nothing(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    path = f"/v1/partners/{partner_id}/billing-profile"
    first = http.post(path, json=PROFILE, headers={"Idempotency-Key": "profile-1"})
    events = event_count(runtime)

    again = http.post(path, json=PROFILE, headers={"Idempotency-Key": "profile-1"})

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert event_count(runtime) == events
    other = http.post(
        path,
        json={**PROFILE, "entity": "Another LLC"},
        headers={"Idempotency-Key": "profile-1"},
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert event_count(runtime) == events


def test_r_o4_registering_clients_in_unified_billing_or_paying_themselves(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    unified = register(http, partner_id, unified=True)
    own = register(http, partner_id, unified=False)

    clients = runtime.ledger.partner_account(partner_id).clients
    assert (clients[str(unified)].unified_billing, clients[str(own)].unified_billing) == (
        True,
        False,
    )
    response = http.post(f"/v1/partners/{partner_id}/clients", json={"name": "Solo"})
    assert response.headers["location"] == f"/v1/clients/{response.json()['id']}"


def test_r_l3_a_budget_lowered_to_nothing_left_is_set_and_can_be_removed(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    path = f"/v1/partners/{partner_id}/budget"

    response = http.post(path, json={"amount": usd(100000)})

    assert response.status_code == 201
    assert response.json()["status"] == "active"
    assert runtime.ledger.partner_account(partner_id).budget is not None
    removed = http.post(path, json={"amount": None})
    assert removed.status_code == 201
    assert runtime.ledger.partner_account(partner_id).budget is None
    wrong = http.post(path, json={"amount": usd(-5)})
    assert wrong.json()["errors"][0]["loc"] == ["body", "amount", "amount_minor"]


def test_r_c6_account_autopay_is_set_and_turned_off(http: httpx.Client, runtime: Runtime) -> None:
    partner_id, _ = open_partner(http)
    path = f"/v1/partners/{partner_id}/autopay"

    assert http.post(path, json={"source": "company_balance"}).status_code == 201
    assert runtime.ledger.partner_account(partner_id).autopay is PaymentSource.COMPANY_BALANCE
    assert http.post(path, json={"source": None}).status_code == 201
    assert runtime.ledger.partner_account(partner_id).autopay is None
    bonus = http.post(path, json={"source": "bonus"})
    assert (bonus.status_code, bonus.json()["code"]) == (422, "validation_failed")


# --- top-ups (R-C2) -----------------------------------------------------------------------------


def test_r_c2_top_ups_by_bank_transfer_and_by_card_fill_the_company_balance(
    http: httpx.Client,
) -> None:
    partner_id, _ = open_partner(http)
    card = http.post(f"/v1/partners/{partner_id}/payment-methods", json={"method": VISA})
    assert card.status_code == 201
    path = f"/v1/partners/{partner_id}/top-ups"

    bank = http.post(
        path, json={"amount": usd(50000), "source": "bank_transfer", "reference": "Wire 17"}
    )
    charged = http.post(path, json={"amount": usd(20000), "source": "card"})

    assert bank.status_code == charged.status_code == 201
    assert bank.headers["location"] == f"/v1/partners/{partner_id}/balance"
    assert bank.json()["balance"] == usd(50000)
    assert charged.json()["balance"] == usd(70000)
    balance = http.get(
        f"/v1/partners/{partner_id}/balance", params={"min_position": charged.json()["position"]}
    )
    assert balance.json()["company_balance"] == usd(70000)


def test_r_x5_a_card_top_up_replayed_charges_once_and_another_amount_is_refused(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    http.post(f"/v1/partners/{partner_id}/payment-methods", json={"method": VISA})
    path = f"/v1/partners/{partner_id}/top-ups"
    body = {"amount": usd(20000), "source": "card"}
    first = http.post(path, json=body, headers={"Idempotency-Key": "top-up-1"})
    charges, events = charge_count(runtime), event_count(runtime)

    again = http.post(path, json=body, headers={"Idempotency-Key": "top-up-1"})
    other = http.post(
        path, json={**body, "amount": usd(30000)}, headers={"Idempotency-Key": "top-up-1"}
    )

    assert (again.json(), again.headers["idempotent-replayed"]) == (first.json(), "true")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert charge_count(runtime) == charges
    assert event_count(runtime) == events


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (usd(-100), "validation_failed"),
        (usd(0), "validation_failed"),
        ({"amount_minor": 100, "currency": "XYZ"}, "currency_unknown"),
        ({"amount_minor": 100, "currency": "EUR"}, "currency_mismatch"),
        ({"amount_minor": 1.5, "currency": "USD"}, "validation_failed"),
    ],
)
def test_a_top_up_of_a_bad_amount_is_a_422_problem_and_writes_nothing(
    http: httpx.Client, runtime: Runtime, amount: dict[str, Any], code: str
) -> None:
    partner_id, _ = open_partner(http)
    events = event_count(runtime)
    response = http.post(
        f"/v1/partners/{partner_id}/top-ups", json={"amount": amount, "source": "bank_transfer"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code
    assert event_count(runtime) == events


def test_a_declined_card_top_up_is_a_409_problem_and_records_nothing(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    http.post(f"/v1/partners/{partner_id}/payment-methods", json={"method": DECLINING})
    events = event_count(runtime)
    response = http.post(
        f"/v1/partners/{partner_id}/top-ups", json={"amount": usd(1000), "source": "card"}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "payment_declined"
    assert response.json()["decline_code"] == "card_declined"
    assert event_count(runtime) == events


# --- payment methods (R-O1, R-O6, R-H5, R-X4) ----------------------------------------------------


def test_r_x4_a_card_is_shown_by_brand_last_4_and_expiry_and_its_number_and_cvv_are_kept_nowhere(
    http: httpx.Client,
    runtime: Runtime,
    client_for: ClientFor,
    make_key: MakeKey,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    partner_id, _ = open_partner(http)
    partner = as_partner(client_for, make_key, partner_id)

    added = partner.post(
        f"/v1/partners/{partner_id}/payment-methods", json={"method": CARD, "make_default": True}
    )
    refused = partner.post(
        f"/v1/partners/{partner_id}/payment-methods",
        json={"method": {**CARD, "number": "5555 5555 5555 4445"}},
    )
    listed = partner.get(f"/v1/partners/{partner_id}/payment-methods")

    assert added.status_code == 201
    body = added.json()
    method_id = body["method"]["method_id"]
    assert body["id"] == method_id
    assert added.headers["location"] == f"/v1/partners/{partner_id}/payment-methods"
    assert body["method"] == {
        "method_id": method_id,
        "kind": "card",
        "brand": "mastercard",
        "last4": "4444",
        "expiry_month": 12,
        "expiry_year": 2030,
        "routing_number": None,
    }
    assert listed.json()["items"] == [{**body["method"], "is_default": True}]
    assert (refused.status_code, refused.json()["code"]) == (422, "card_invalid")
    captured = capfd.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "request_completed" in logs  # the capture does see the server's log lines
    answers = added.text + refused.text + listed.text
    stored = stored_text(runtime)
    for text in (answers, stored, logs):
        for digits in (CARD_DIGITS, "5555 5555 5555 4444", "5555555555554445"):
            assert digits not in text
        assert "cvv" not in text.lower()
        assert '"739"' not in text
    assert "4444" in stored  # what may be kept is kept: the last 4 digits


def test_r_o1_r_x4_a_bank_account_is_shown_by_routing_number_and_last_4_only(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)

    added = http.post(f"/v1/partners/{partner_id}/payment-methods", json={"method": ACH})

    assert added.status_code == 201
    method = added.json()["method"]
    assert (method["kind"], method["routing_number"], method["last4"]) == (
        "ach",
        "110000000",
        "6789",
    )
    assert method["brand"] is None
    for text in (added.text, stored_text(runtime)):
        assert "000123456789" not in text


def test_r_c2_bank_invoices_need_nothing_stored_and_make_invoice_autopay(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)

    added = http.post(
        f"/v1/partners/{partner_id}/payment-methods", json={"method": {"kind": "bank_invoice"}}
    )

    assert added.status_code == 201
    assert added.json()["method"]["method_id"] is None
    assert added.json()["method"]["kind"] == "bank_invoice"
    account = runtime.ledger.partner_account(partner_id)
    assert account.autopay is PaymentSource.BANK_TRANSFER
    assert account.payment_methods == {}


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ({**CARD, "number": "4242 4242 4242 4241"}, "card_invalid"),
        ({**CARD, "number": "4242-abcd"}, "card_invalid"),
        ({**CARD, "expiry_year": 2025}, "card_expired"),
        ({**CARD, "cvv": "12"}, "cvv_invalid"),
        ({**CARD, "expiry_month": 13}, "validation_failed"),
        ({**ACH, "routing_number": "110000001"}, "routing_number_invalid"),
        ({**ACH, "account_number": "12"}, "account_number_invalid"),
        ({"kind": "paypal"}, "validation_failed"),
        ({**CARD, "holder": "Jane 4242 4242 4242 4242"}, "card_number_in_text"),
    ],
)
def test_a_bad_payment_method_is_a_422_problem_that_echoes_no_number(
    http: httpx.Client, runtime: Runtime, method: dict[str, Any], code: str
) -> None:
    partner_id, _ = open_partner(http)
    events = event_count(runtime)

    response = http.post(f"/v1/partners/{partner_id}/payment-methods", json={"method": method})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code
    for secret in ("4242 4242 4242 424", "4242424242424", "000123456789", '"739"'):
        assert secret not in response.text
    assert event_count(runtime) == events


def test_r_x5_a_card_added_twice_under_one_key_is_one_method_and_another_card_is_refused(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    path = f"/v1/partners/{partner_id}/payment-methods"
    first = http.post(path, json={"method": CARD}, headers={"Idempotency-Key": "card-1"})
    events = event_count(runtime)

    again = http.post(path, json={"method": CARD}, headers={"Idempotency-Key": "card-1"})
    other = http.post(path, json={"method": VISA}, headers={"Idempotency-Key": "card-1"})

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert event_count(runtime) == events
    assert len(runtime.ledger.partner_account(partner_id).payment_methods) == 1
    profile = http.post(
        f"/v1/partners/{partner_id}/billing-profile",
        json=PROFILE,
        headers={"Idempotency-Key": "card-1"},
    )
    assert profile.json()["code"] == "idempotency_key_reused"


def test_r_o6_a_partner_makes_another_method_its_default(
    http: httpx.Client, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    partner = as_partner(client_for, make_key, partner_id)
    path = f"/v1/partners/{partner_id}/payment-methods"
    card = partner.post(path, json={"method": CARD}).json()["id"]
    bank = partner.post(path, json={"method": ACH}).json()["id"]

    response = partner.post(f"{path}/{bank}/make-default")

    assert response.status_code == 201
    assert response.json()["id"] == bank
    defaults = {m["method_id"]: m["is_default"] for m in partner.get(path).json()["items"]}
    assert defaults == {card: False, bank: True}
    missing = partner.post(f"{path}/{uuid4()}/make-default")
    assert (missing.status_code, missing.json()["code"]) == (404, "payment_method_not_found")


def failed_invoice(http: httpx.Client, runtime: Runtime, partner_id: UUID) -> tuple[str, UUID]:
    """A partner whose default card is declined owes a failed invoice (R-H2)."""
    method_id = http.post(
        f"/v1/partners/{partner_id}/payment-methods", json={"method": DECLINING}
    ).json()["id"]
    client_id = register(http, partner_id)
    _, invoice_id = issue_invoice(runtime, partner_id, client_id, "failing")
    charge = runtime.ledger.charge_invoice(invoice_id, key="failing/charge")
    assert charge.data["charge_status"] == "declined"
    return method_id, invoice_id


def test_r_h5_r_l5_replacing_the_card_charges_what_is_outstanding_to_the_new_one(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    partner = as_partner(client_for, make_key, partner_id)
    method_id, invoice_id = failed_invoice(http, runtime, partner_id)
    banner = partner.get(
        f"/v1/partners/{partner_id}/banner", params={"min_position": head(runtime)}
    )
    owing = banner.json()["banner"]
    assert owing["total"] == usd(LINE_MINOR)
    # A payment the partner missed starts a week of grace (R-L4).
    assert (banner.json()["status"], banner.json()["grace_ends_on"]) == ("in_grace", "2026-02-07")
    assert [(i["kind"], i["decline_code"]) for i in owing["lines"][0]["invoices"]] == [
        ("failed", "card_declined")
    ]

    response = partner.post(
        f"/v1/partners/{partner_id}/payment-methods/{method_id}/replace",
        json={"method": VISA, "outstanding": "charge_all"},
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["method"]["last4"], body["outstanding"]) == ("4242", "charge_all")
    assert body["id"] != method_id
    assert runtime.ledger.invoice(invoice_id).status is InvoiceStatus.SETTLED
    account = runtime.ledger.partner_account(partner_id)
    assert list(account.payment_methods) == [body["id"]]
    assert str(account.default_method_id) == body["id"]
    after = partner.get(f"/v1/partners/{partner_id}/banner", params={"min_position": head(runtime)})
    assert (after.json()["banner"], after.json()["status"]) == (None, "active")


def test_r_h5_replacing_the_card_may_mark_what_is_outstanding_paid_instead(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    method_id, invoice_id = failed_invoice(http, runtime, partner_id)
    charges = charge_count(runtime)
    path = f"/v1/partners/{partner_id}/payment-methods/{method_id}/replace"
    body = {"method": VISA, "outstanding": "mark_paid"}

    response = http.post(path, json=body, headers={"Idempotency-Key": "replace-1"})
    again = http.post(path, json=body, headers={"Idempotency-Key": "replace-1"})

    assert response.status_code == 201
    assert runtime.ledger.invoice(invoice_id).status is InvoiceStatus.SETTLED
    assert charge_count(runtime) == charges  # nothing charged to the new card
    assert (again.json(), again.headers["idempotent-replayed"]) == (response.json(), "true")
    other = http.post(path, json={**body, "method": CARD}, headers={"Idempotency-Key": "replace-1"})
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


def test_a_replacement_refused_marks_nothing_paid(http: httpx.Client, runtime: Runtime) -> None:
    partner_id, _ = open_partner(http)
    method_id, invoice_id = failed_invoice(http, runtime, partner_id)

    response = http.post(
        f"/v1/partners/{partner_id}/payment-methods/{method_id}/replace",
        json={"method": {**VISA, "expiry_year": 2025}, "outstanding": "mark_paid"},
    )

    assert (response.status_code, response.json()["code"]) == (422, "card_expired")
    assert runtime.ledger.invoice(invoice_id).status is InvoiceStatus.OPEN


# --- what a partner reads ------------------------------------------------------------------------


def client_paid_line(http: httpx.Client, runtime: Runtime, partner_id: UUID, key: str) -> UUID:
    """A client paying its own line by bank: the partner earns cashback on it (R-C4)."""
    client_id = register(http, partner_id)
    _, invoice_id = issue_invoice(runtime, partner_id, client_id, key, payer=Payer.CLIENT)
    runtime.ledger.pay_invoice(invoice_id, PaymentSource.BANK_TRANSFER, key=f"{key}/pay")
    return client_id


def test_r_c2_r_c5_the_balance_shows_company_balance_receivable_and_bonus_wallet(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    http.post(
        f"/v1/partners/{partner_id}/top-ups",
        json={"amount": usd(10000), "source": "bank_transfer"},
    )
    issue_invoice(runtime, partner_id, register(http, partner_id), "owed")
    client_paid_line(http, runtime, partner_id, "cashback")

    response = http.get(
        f"/v1/partners/{partner_id}/balance", params={"min_position": head(runtime)}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["partner_id"] == str(partner_id)
    assert body["company_balance"] == usd(10000)
    assert body["receivable"] == usd(LINE_MINOR)
    assert body["bonus_wallet"] == usd(LINE_MINOR // 10)  # 10 % cashback (R-C4)
    assert body["as_of_position"] >= head(runtime)


def test_r_c4_r_c5_the_wallet_shows_its_balance_and_newest_credits_and_spends(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    client_paid_line(http, runtime, partner_id, "earned")
    _, spent_on = issue_invoice(runtime, partner_id, register(http, partner_id), "spend")
    runtime.ledger.pay_invoice(
        spent_on, PaymentSource.BONUS, amount=Money(50, "USD"), key="spend/bonus"
    )

    response = http.get(f"/v1/partners/{partner_id}/wallet", params={"min_position": head(runtime)})

    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == usd(LINE_MINOR // 10 - 50)
    assert [(e["kind"], e["amount"]) for e in body["recent"]] == [
        ("spent", usd(50)),
        ("credited", usd(LINE_MINOR // 10)),
    ]


def test_r_c4_cashback_by_client_and_month_a_page_at_a_time(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    first = client_paid_line(http, runtime, partner_id, "first")
    second = client_paid_line(http, runtime, partner_id, "second")
    at = {"min_position": head(runtime)}

    page = http.get(f"/v1/partners/{partner_id}/cashback", params={**at, "limit": 1})
    rest = http.get(
        f"/v1/partners/{partner_id}/cashback",
        params={"limit": 1, "cursor": page.json()["next_cursor"]},
    )

    assert page.status_code == 200
    body = page.json()
    assert (body["earned"], body["available"], body["spent"]) == (
        usd(2 * LINE_MINOR // 10),
        usd(2 * LINE_MINOR // 10),
        usd(0),
    )
    rows = body["items"] + rest.json()["items"]
    assert sorted(r["client_id"] for r in rows) == sorted([str(first), str(second)])
    assert {(r["month"], r["reason"], r["earned"]["amount_minor"]) for r in rows} == {
        ("2026-01-01", "cashback", LINE_MINOR // 10)
    }
    assert rest.json()["next_cursor"] is None


def test_r_o5_the_partners_invoices_newest_first_a_page_at_a_time(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id)
    _, older = issue_invoice(runtime, partner_id, client_id, "one")
    _, newer = issue_invoice(runtime, partner_id, client_id, "two")
    path = f"/v1/partners/{partner_id}/invoices"

    first = http.get(path, params={"limit": 1, "min_position": head(runtime)})
    second = http.get(path, params={"limit": 1, "cursor": first.json()["next_cursor"]})

    assert first.status_code == second.status_code == 200
    assert [i["id"] for i in first.json()["items"] + second.json()["items"]] == [
        str(newer),
        str(older),
    ]
    invoice = first.json()["items"][0]
    assert (invoice["payer"], invoice["payer_id"], invoice["client_id"]) == (
        "partner",
        str(partner_id),
        str(client_id),
    )
    assert invoice["total"] == invoice["outstanding"] == usd(LINE_MINOR)
    assert second.json()["next_cursor"] is None


def test_r_c7_closing_documents_of_paid_lines_a_page_at_a_time(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id)
    acts = []
    for key in ("one", "two"):
        _, invoice_id = issue_invoice(runtime, partner_id, client_id, key)
        runtime.ledger.pay_invoice(invoice_id, PaymentSource.BANK_TRANSFER, key=f"{key}/pay")
        acts.append(runtime.ledger.request_closing_document(invoice_id, key=f"{key}/act").data)
    path = f"/v1/partners/{partner_id}/closing-documents"

    first = http.get(path, params={"limit": 1, "min_position": head(runtime)})
    second = http.get(path, params={"limit": 1, "cursor": first.json()["next_cursor"]})
    others = http.get(path, params={"client_id": str(uuid4())})

    documents = first.json()["items"] + second.json()["items"]
    assert [d["number"] for d in documents] == [a["document_number"] for a in acts]
    assert documents[0]["amount"] == usd(LINE_MINOR)
    assert documents[0]["client_id"] == str(client_id)
    assert [line["kind"] for line in documents[0]["lines"]] == ["product"]
    assert others.json() == {"items": [], "next_cursor": None}


def test_r_h7_the_activity_of_the_partners_lines_in_log_order(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    line, _ = issue_invoice(runtime, partner_id, register(http, partner_id), "feed")
    other, _ = open_partner(http, "Other")
    issue_invoice(runtime, other, register(http, other), "elsewhere")
    path = f"/v1/partners/{partner_id}/activity"

    first = http.get(path, params={"limit": 2, "min_position": head(runtime)})
    rest = http.get(path, params={"limit": 200, "cursor": first.json()["next_cursor"]})

    entries = first.json()["items"] + rest.json()["items"]
    assert {e["line_id"] for e in entries} == {str(line)}
    positions = [e["position"] for e in entries]
    assert positions == sorted(positions)
    assert len(entries) > 2
    assert entries[0]["kind"] == "SubscriptionLine.Created"
    assert all(e["text"] for e in entries)


def test_r_l4_the_banner_of_a_partner_that_owes_nothing_is_empty(http: httpx.Client) -> None:
    partner_id, position = open_partner(http)
    response = http.get(f"/v1/partners/{partner_id}/banner", params={"min_position": position})
    assert response.json() == {
        "partner_id": str(partner_id),
        "status": "active",
        "grace_ends_on": None,
        "pause_reasons": [],
        "banner": None,
    }


# --- who may do what ------------------------------------------------------------------------------

COMMANDS: list[tuple[str, Any]] = [
    ("billing-profile", PROFILE),
    ("payment-methods", {"method": CARD}),
    ("top-up-announcements", {"amount": usd(100), "reference": "W1"}),
    ("clients", {"name": "Blue Bottle Cafe"}),
    ("budget", {"amount": usd(100)}),
    ("autopay", {"source": None}),
]
READS = [
    "",
    "/balance",
    "/wallet",
    "/invoices",
    "/cashback",
    "/closing-documents",
    "/banner",
    "/activity",
    "/payment-methods",
    "/state",
    "/schedule",
    "/clients",
    "/e-mails",
]


@pytest.mark.parametrize(("command", "body"), COMMANDS)
def test_r_c8_another_partners_id_answers_a_command_as_a_missing_one_and_changes_nothing(
    http: httpx.Client,
    runtime: Runtime,
    client_for: ClientFor,
    make_key: MakeKey,
    command: str,
    body: Any,
) -> None:
    mine, _ = open_partner(http, "Mine")
    theirs, _ = open_partner(http, "Theirs")
    partner = as_partner(client_for, make_key, mine)
    events = event_count(runtime)
    missing = uuid4()

    other = partner.post(f"/v1/partners/{theirs}/{command}", json=body)
    nowhere = partner.post(f"/v1/partners/{missing}/{command}", json=body)

    same_404(other, nowhere, theirs, missing)
    assert event_count(runtime) == events
    assert partner.post(f"/v1/partners/{mine}/{command}", json=body).status_code == 201


def test_r_c8_another_partners_id_answers_every_read_as_a_missing_one(
    http: httpx.Client, client_for: ClientFor, make_key: MakeKey
) -> None:
    mine, _ = open_partner(http, "Mine")
    theirs, position = open_partner(http, "Theirs")
    partner = as_partner(client_for, make_key, mine)
    missing = uuid4()
    for read in READS:
        other = partner.get(f"/v1/partners/{theirs}{read}", params={"min_position": position})
        nowhere = partner.get(f"/v1/partners/{missing}{read}", params={"min_position": position})
        same_404(other, nowhere, theirs, missing)
        assert other.json()["code"] == "partner_not_found", read
        mine_read = partner.get(f"/v1/partners/{mine}{read}", params={"min_position": position})
        assert mine_read.status_code == 200, read
    replace = partner.post(
        f"/v1/partners/{theirs}/payment-methods/{uuid4()}/replace", json={"method": CARD}
    )
    assert replace.status_code == 404


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_finance_and_auditors_read_everything_and_issue_no_command(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey, role: str
) -> None:
    partner_id, position = open_partner(http)
    reader = client_for(make_key(role))
    events = event_count(runtime)

    for command, body in COMMANDS:
        refused = reader.post(f"/v1/partners/{partner_id}/{command}", json=body)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), command
    assert reader.post("/v1/partners", json=ACME).status_code == 403
    method = f"/v1/partners/{partner_id}/payment-methods/{uuid4()}"
    assert reader.post(f"{method}/make-default").status_code == 403
    assert reader.post(f"{method}/replace", json={"method": CARD}).status_code == 403
    for read in READS:
        response = reader.get(f"/v1/partners/{partner_id}{read}", params={"min_position": position})
        assert response.status_code == 200, read
    assert event_count(runtime) == events


def test_only_the_vendor_opens_partner_accounts(
    http: httpx.Client, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    response = as_partner(client_for, make_key, partner_id).post("/v1/partners", json=ACME)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


@pytest.mark.parametrize("key", [None, "ll_0123456789abcdef_" + "x" * 43, "not-a-key"])
def test_no_key_or_a_wrong_key_is_401_for_reads_and_commands(
    http: httpx.Client, client_for: ClientFor, key: str | None
) -> None:
    partner_id, _ = open_partner(http)
    anonymous = client_for(key)
    for response in (
        anonymous.get("/v1/partners"),
        anonymous.get(f"/v1/partners/{partner_id}/balance"),
        anonymous.post(f"/v1/partners/{partner_id}/payment-methods", json={"method": CARD}),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_command_without_an_idempotency_key_is_a_422_problem_naming_the_header(
    http: httpx.Client, base_url: str, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    response = httpx.post(
        f"{base_url}/v1/partners/{partner_id}/top-ups",
        json={"amount": usd(100), "source": "bank_transfer"},
        headers={"Authorization": f"Bearer {make_key('admin')}"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
