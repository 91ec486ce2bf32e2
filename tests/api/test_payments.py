"""Paying invoices over real HTTP: from the source asked for (R-C2, R-O7), no decline for a
method that does not exist (R-H4, R-L4), everything pending charged at once to a new card
(R-H5, R-L5), and offline money that only the vendor confirms (R-H2).

Partners, clients and lines are set up through the ledger (`runtime.ledger`); the payments
under test go through the API. Lines sell e-mail signatures at 25.00 USD a month; a card adds
its 3 % fee, 0.75 USD.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx

from api.runtime import Runtime
from domain.payment_methods import PaymentSource
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock
from ledger.payments.simulator import SimulatedGateway
from tests.ledger.payments_support import (
    ACH,
    CARD_FEE,
    DECLINING,
    SIGNATURES,
    TUESDAY_EARLY_IN_NEW_YORK,
    VISA,
    billed_on_a_new_york_sunday,
    open_partner,
)
from tests.support import event_count

PROBLEM = "application/problem+json"
NEW_CARD = {
    "kind": "card",
    "number": "5555 5555 5555 4444",
    "expiry_month": 12,
    "expiry_year": 2030,
    "holder": "Ada Lovelace",
    "cvv": "321",
    "postal_code": "10001",
}

Client = Callable[[str | None], httpx.Client]
MakeKey = Callable[..., str]


def usd(amount_minor: int) -> dict[str, Any]:
    return {"amount_minor": amount_minor, "currency": "USD"}


def read_invoice(http: httpx.Client, invoice_id: UUID, position: int) -> dict[str, Any]:
    response = http.get(
        f"/v1/invoices/{invoice_id}", params={"min_position": position, "wait_ms": 5000}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


# --- the source asked for is the one charged (R-C2, R-O7) -------------------------------------


def test_r_c2_r_o7_direct_debit_asked_for_debits_the_bank_account_with_no_card_fee(
    runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    partner, _, (invoice_id,) = open_partner(runtime.ledger, VISA, ACH)
    own = client_for(make_key("partner", partner))

    response = own.post(f"/v1/invoices/{invoice_id}/payments", json={"source": "direct_debit"})

    assert response.status_code == 201, response.text
    assert response.json()["charge_status"] == "pending"
    invoice = read_invoice(own, invoice_id, response.json()["position"])
    assert invoice["total"] == usd(SIGNATURES)  # no card fee line on a debit
    assert [line["kind"] for line in invoice["lines"]] == ["product"]


def test_r_c2_a_method_of_the_other_kind_is_a_422_problem_and_nothing_is_written(
    runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    partner, (card, ach), (invoice_id,) = open_partner(runtime.ledger, VISA, ACH)
    own = client_for(make_key("partner", partner))
    before = event_count(runtime)

    card_with_ach = own.post(
        f"/v1/invoices/{invoice_id}/payments", json={"source": "card", "method_id": str(ach)}
    )
    debit_with_card = own.post(
        f"/v1/invoices/{invoice_id}/payments",
        json={"source": "direct_debit", "method_id": str(card)},
    )

    body = problem(card_with_ach, 422, "payment_method_kind_mismatch")
    assert (body["source"], body["method_kind"]) == ("card", "direct_debit")
    problem(debit_with_card, 422, "payment_method_kind_mismatch")
    assert event_count(runtime) == before


# --- no decline for a method that does not exist (R-H4, R-L4) ---------------------------------


def test_r_h4_r_l4_a_manual_charge_with_no_payment_method_is_a_409_and_writes_nothing(
    runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    partner, _, (invoice_id,) = open_partner(runtime.ledger)
    own = client_for(make_key("partner", partner))
    before = event_count(runtime)

    response = own.post(f"/v1/invoices/{invoice_id}/charge", json={})

    problem(response, 409, "no_payment_method")
    assert event_count(runtime) == before
    assert runtime.ledger.partner_account(partner).status.value == "active"


# --- a new card: everything pending charged at once, or marked paid (R-H5, R-L5) --------------


def test_r_h5_r_l5_charge_all_to_a_new_card_is_one_charge_of_the_total(
    runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    partner, (declining,), invoices = open_partner(
        runtime.ledger, DECLINING, lines=2, autopay=PaymentSource.CARD
    )
    own = client_for(make_key("partner", partner))
    gateway = runtime.ledger.gateway
    assert isinstance(gateway, SimulatedGateway)
    made = len(gateway.charges)

    response = own.post(
        f"/v1/partners/{partner}/payment-methods/{declining}/replace",
        json={"method": NEW_CARD, "outstanding": "charge_all"},
    )

    assert response.status_code == 201, response.text
    [charge] = list(gateway.charges.values())[made:]
    assert charge.amount.amount_minor == 2 * (SIGNATURES + CARD_FEE)
    for invoice_id in invoices:
        invoice = read_invoice(own, invoice_id, response.json()["position"])
        assert (invoice["status"], invoice["total"]) == ("settled", usd(SIGNATURES + CARD_FEE))
        [payment] = invoice["payments"]
        assert payment["amount"] == usd(SIGNATURES + CARD_FEE)


def test_r_h5_mark_paid_is_one_command_with_the_replacement(
    runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    partner, (declining,), invoices = open_partner(
        runtime.ledger, DECLINING, lines=2, autopay=PaymentSource.CARD
    )
    own = client_for(make_key("partner", partner))

    response = own.post(
        f"/v1/partners/{partner}/payment-methods/{declining}/replace",
        json={"method": NEW_CARD, "outstanding": "mark_paid"},
        headers={"Idempotency-Key": "card-update"},
    )

    assert response.status_code == 201, response.text
    for invoice_id in invoices:
        assert read_invoice(own, invoice_id, response.json()["position"])["status"] == "settled"
    with runtime.database.connect() as conn:
        commands = conn.execute(
            "SELECT command FROM command_log WHERE key LIKE %s", ("%card-update%",)
        ).fetchall()
    assert commands == [("replace_payment_method",)]  # marked paid in the same transaction


# --- offline money pays only once the vendor received it (R-C2, R-H2) -------------------------


def test_r_h2_a_partner_announces_a_bank_transfer_and_only_the_vendor_confirms_it(
    runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    partner, _, (invoice_id,) = open_partner(runtime.ledger)
    own = client_for(make_key("partner", partner))
    finance = client_for(make_key("finance"))
    before = event_count(runtime)

    declared = own.post(
        f"/v1/invoices/{invoice_id}/payments",
        json={"source": "bank_transfer", "reference": "Wire 1"},
    )
    problem(declared, 403, "forbidden")
    assert event_count(runtime) == before

    announced = own.post(
        f"/v1/invoices/{invoice_id}/payment-announcements",
        json={"source": "bank_transfer", "reference": "Wire 1"},
    )
    assert announced.status_code == 201, announced.text
    payment_id = announced.json()["payment_id"]
    assert (announced.json()["status"], announced.json()["outstanding"]) == (
        "open",
        usd(SIGNATURES),
    )
    confirm = f"/v1/invoices/{invoice_id}/payment-announcements/{payment_id}/confirm"
    problem(own.post(confirm), 403, "forbidden")

    confirmed = finance.post(confirm)

    assert confirmed.status_code == 201, confirmed.text
    invoice = read_invoice(own, invoice_id, confirmed.json()["position"])
    assert invoice["status"] == "settled"
    assert [(p["source"], p["reference"]) for p in invoice["payments"]] == [
        ("bank_transfer", "Wire 1")
    ]


def test_r_h2_an_announced_payment_shows_on_the_invoice_waiting_then_confirmed(
    runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    partner, _, (invoice_id,) = open_partner(runtime.ledger)
    own = client_for(make_key("partner", partner))
    finance = client_for(make_key("finance"))
    auditor = client_for(make_key("auditor"))

    announced = own.post(
        f"/v1/invoices/{invoice_id}/payment-announcements",
        json={"source": "cheque", "amount": usd(SIGNATURES), "reference": "Cheque 0042"},
    )
    assert announced.status_code == 201, announced.text
    position = announced.json()["position"]
    waiting = read_invoice(own, invoice_id, position)
    [announcement] = waiting["announced_payments"]
    assert announcement == {
        "payment_id": announced.json()["payment_id"],
        "source": "cheque",
        "amount": usd(SIGNATURES),
        "reference": "Cheque 0042",
        "announced_on": "2026-01-31",
        "status": "waiting",
        "confirmed_on": None,
    }
    assert (waiting["status"], waiting["paid"], waiting["outstanding"]) == (
        "open",
        usd(0),
        usd(SIGNATURES),
    )
    assert waiting["payments"] == []
    assert read_invoice(auditor, invoice_id, position)["announced_payments"] == [announcement]
    # The vendor learns which announcement to confirm from the invoice itself.
    [to_confirm] = read_invoice(finance, invoice_id, position)["announced_payments"]

    confirmed = finance.post(
        f"/v1/invoices/{invoice_id}/payment-announcements/{to_confirm['payment_id']}/confirm"
    )

    assert confirmed.status_code == 201, confirmed.text
    settled = read_invoice(own, invoice_id, confirmed.json()["position"])
    assert settled["announced_payments"] == [
        {**announcement, "status": "confirmed", "confirmed_on": "2026-01-31"}
    ]
    assert (settled["status"], settled["paid"], settled["outstanding"]) == (
        "settled",
        usd(SIGNATURES),
        usd(0),
    )
    assert [(p["payment_id"], p["source"], p["amount"]) for p in settled["payments"]] == [
        (to_confirm["payment_id"], "cheque", usd(SIGNATURES))
    ]


def test_r_c2_a_partner_cannot_credit_its_balance_it_announces_a_transfer_kept_apart(
    runtime: Runtime, client_for: Client, make_key: MakeKey, http: httpx.Client
) -> None:
    partner, _, _ = open_partner(runtime.ledger, lines=0)
    own = client_for(make_key("partner", partner))
    before = event_count(runtime)
    ten_million = usd(1_000_000_000)

    declared = own.post(
        f"/v1/partners/{partner}/top-ups",
        json={"amount": ten_million, "source": "bank_transfer", "reference": "W1"},
    )
    problem(declared, 403, "forbidden")
    assert event_count(runtime) == before

    announced = own.post(
        f"/v1/partners/{partner}/top-up-announcements",
        json={"amount": ten_million, "reference": "W1"},
    )
    assert announced.status_code == 201, announced.text
    assert (announced.json()["balance"], announced.json()["announced"]) == (usd(0), ten_million)
    balance = own.get(
        f"/v1/partners/{partner}/balance",
        params={"min_position": announced.json()["position"], "wait_ms": 5000},
    ).json()
    assert (balance["company_balance"], balance["announced_top_ups"]) == (usd(0), ten_million)

    top_up_id = announced.json()["top_up_id"]
    confirm = f"/v1/partners/{partner}/top-up-announcements/{top_up_id}/confirm"
    problem(own.post(confirm), 403, "forbidden")
    confirmed = http.post(confirm)
    assert confirmed.status_code == 201, confirmed.text
    balance = own.get(
        f"/v1/partners/{partner}/balance",
        params={"min_position": confirmed.json()["position"], "wait_ms": 5000},
    ).json()
    assert (balance["company_balance"], balance["announced_top_ups"]) == (ten_million, usd(0))


# --- ACH days are the partner's (R-X7, R-E4) ----------------------------------------------------


def test_r_x7_r_e4_a_debit_asked_for_on_the_partners_sunday_settles_on_its_tuesday(
    runtime: Runtime, clock: SimulatedClock, client_for: Client, make_key: MakeKey
) -> None:
    ledger = runtime.ledger
    partner, invoice_id = billed_on_a_new_york_sunday(ledger, clock)
    own = client_for(make_key("partner", partner))

    debit = own.post(f"/v1/invoices/{invoice_id}/payments", json={"source": "direct_debit"})
    assert debit.status_code == 201, debit.text

    clock.set(TUESDAY_EARLY_IN_NEW_YORK)
    assert tick(ledger, clock.now()).done["settle_debit"] == 1
    invoice = read_invoice(own, invoice_id, event_count(runtime))  # read after the settlement
    assert (invoice["status"], invoice["pending"]) == ("settled", usd(0))
