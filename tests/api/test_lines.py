"""`/v1/lines` over real HTTP: a line's life through every command, idempotent replays, who may
do what (partner scoping, read-only roles, transfer consents) and bad input as 422 problems."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, get_args
from uuid import UUID, uuid4

import httpx
import pytest

from api.runtime import Runtime
from api.schemas.lines import AutopaySource, TransferPayment
from domain.payment_methods import AUTOPAY_SOURCES, PaymentSource
from domain.subscription_line import TRANSFER_PAYMENT_SOURCES
from ledger.clock import SimulatedClock
from ledger.payments.simulator import SimulatedGateway
from ledger.schedule import Work
from tests.support import event_count

PROBLEM = "application/problem+json"
NEW_YORK = "America/New_York"
DOWNTOWN = {"location_id": str(uuid4()), "name": "Downtown"}
UPTOWN = {"location_id": str(uuid4()), "name": "Uptown"}
GOOD_CARD = {
    "number": "4242 4242 4242 4242",
    "expiry_month": 12,
    "expiry_year": 2030,
    "holder": "Dana Whitfield",
    "cvv": "987",
    "postal_code": "10001",
}
DECLINED_CARD = {**GOOD_CARD, "number": "4000000000000002"}
"""The simulator's test card that is always declined (`card_declined`)."""
SECRETS = ("4242424242424242", "4242 4242 4242 4242", "4000000000000002", '"987"')

Clients = Callable[[str | None], httpx.Client]
MakeKey = Callable[..., str]


def charges_made(runtime: Runtime) -> int:
    """How many charges the simulated payment processor has been asked for."""
    gateway = runtime.ledger.gateway
    assert isinstance(gateway, SimulatedGateway)
    return len(gateway.charges)


def open_partner(runtime: Runtime, name: str = "Acme Resellers") -> UUID:
    partner = runtime.ledger.open_partner_account(
        name=name, currency="USD", time_zone=NEW_YORK
    ).aggregate_id
    assert partner is not None
    return partner


def register_client(runtime: Runtime, partner: UUID, name: str = "Whitfield Dental") -> UUID:
    client = runtime.ledger.register_client(
        partner, name=name, email="office@whitfield.example", unified_billing=False
    ).aggregate_id
    assert client is not None
    return client


def line_body(partner: UUID, client: UUID, **changes: Any) -> dict[str, Any]:
    body = {
        "partner_id": str(partner),
        "client_id": str(client),
        "product_code": "pos-location",
        "term": "monthly",
        "payer": "partner",
        "locations": [DOWNTOWN],
    }
    return {**body, **changes}


def create_line(api: httpx.Client, partner: UUID, client: UUID, **changes: Any) -> str:
    response = api.post("/v1/lines", json=line_body(partner, client, **changes))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def active_line(api: httpx.Client, partner: UUID, client: UUID, **changes: Any) -> str:
    line = create_line(api, partner, client, **changes)
    assert api.post(f"/v1/lines/{line}/activate").status_code == 201
    return line


def not_found(line: str) -> dict[str, Any]:
    return {
        "type": "urn:ledgerline:problem:line_not_found",
        "title": "Line not found",
        "status": 404,
        "code": "line_not_found",
        "detail": f"No subscription line {line}.",
        "line_id": line,
    }


def transfer_body(current: UUID, new: UUID, **changes: Any) -> dict[str, Any]:
    body = {
        "end_user_name": "Whitfield Dental",
        "current_reseller_id": str(current),
        "new_reseller_id": str(new),
        "preferred_date": "2026-03-02",
        "owner_email": "owner@whitfield.example",
        "invoice_email": "billing@whitfield.example",
        "billing": "annual",
        "payment_method": "direct_debit",
    }
    return {**body, **changes}


def settle_invoices(runtime: Runtime, line: str) -> None:
    for invoice_id in list(runtime.ledger.line(UUID(line)).open_invoices):
        runtime.ledger.pay_invoice(UUID(invoice_id), PaymentSource.BANK_TRANSFER)


# --- a line's life -----------------------------------------------------------------------------


def test_a_partner_takes_its_line_through_its_whole_life(
    runtime: Runtime, client_for: Clients, make_key: MakeKey
) -> None:
    partner = open_partner(runtime)
    client = register_client(runtime, partner)
    api = client_for(make_key("partner", partner))

    created = api.post("/v1/lines", json=line_body(partner, client))
    assert created.status_code == 201
    line = created.json()["id"]
    assert created.headers["location"] == f"/v1/lines/{line}"
    assert created.json()["status"] == "draft"
    assert created.json()["position"] >= 1

    # R-H1: draft -> pending (sent) -> accepted -> active, billed at once.
    assert api.post(f"/v1/lines/{line}/send").json()["status"] == "pending"
    accepted = api.post(f"/v1/lines/{line}/accept")
    assert (accepted.status_code, accepted.json()["status"]) == (201, "pending")
    assert api.get(f"/v1/lines/{line}").json()["accepted"] is True
    activated = api.post(f"/v1/lines/{line}/activate")
    assert activated.status_code == 201
    first = activated.json()
    assert activated.headers["location"] == f"/v1/lines/{line}"
    assert (first["status"], first["period_start"], first["period_end"]) == (
        "active",
        "2026-01-31",
        "2026-02-28",
    )
    assert first["invoice_number"]
    assert first["charge"] is None  # no autopay by card or debit: nothing charged

    # R-O3: locations come and go; a per-location line keeps one.
    assert api.post(f"/v1/lines/{line}/locations", json=UPTOWN).json()["locations"] == 2
    removed = api.post(f"/v1/lines/{line}/locations/{UPTOWN['location_id']}/remove")
    assert (removed.status_code, removed.json()["locations"]) == (201, 1)
    last = api.post(f"/v1/lines/{line}/locations/{DOWNTOWN['location_id']}/remove")
    assert (last.status_code, last.json()["code"]) == (422, "invalid_value")

    # R-C6: autopay on, then off again.
    assert api.post(f"/v1/lines/{line}/autopay", json={"source": "company_balance"}).is_success
    assert api.get(f"/v1/lines/{line}").json()["autopay"] == "company_balance"
    assert api.post(f"/v1/lines/{line}/autopay", json={"source": None}).status_code == 201
    assert api.get(f"/v1/lines/{line}").json()["autopay"] is None

    paused = api.post(f"/v1/lines/{line}/pause", json={"reason": "Shop closed for repairs"})
    assert paused.json()["status"] == "paused"
    assert api.post(f"/v1/lines/{line}/resume").json()["status"] == "active"

    # R-C1: renewed for its next period, on the anchor day it always had (R-O2).
    renewed = api.post(f"/v1/lines/{line}/renew", json={"period_start": "2026-02-28"}).json()
    assert (renewed["period_start"], renewed["period_end"]) == ("2026-02-28", "2026-03-31")
    assert renewed["invoice_id"] != first["invoice_id"]

    view = api.get(f"/v1/lines/{line}").json()
    assert view == {
        "id": line,
        "version": view["version"],
        "status": "active",
        "accepted": True,
        "partner_id": str(partner),
        "client_id": str(client),
        "payer": "partner",
        "unified_billing": False,
        "product_code": "pos-location",
        "product_name": "POS integration",
        "unit": "per_location",
        "unit_price": {"amount_minor": 4900, "currency": "USD"},
        "term": "monthly",
        "anchor": "anniversary",
        "anchor_day": 31,
        "locations": [DOWNTOWN],
        "current_period": {"start": "2026-02-28", "end": "2026-03-31"},
        "invoiced_through": "2026-03-31",
        "autopay": None,
        "card": None,
        "leads": None,
        "open_invoices": sorted(
            [
                {"invoice_id": first["invoice_id"], "number": first["invoice_number"]},
                {"invoice_id": renewed["invoice_id"], "number": renewed["invoice_number"]},
            ],
            key=lambda invoice: invoice["number"],
        ),
        "transfer": None,
    }
    assert view["version"] >= 10

    cancelled = api.post(f"/v1/lines/{line}/cancel", json={"reason": "The client moved away"})
    assert (cancelled.status_code, cancelled.json()["status"]) == (201, "cancelled")
    again = api.post(f"/v1/lines/{line}/cancel", json={"reason": "Twice"})
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    assert api.get(f"/v1/lines/{line}").json()["status"] == "cancelled"


def test_r_h5_a_new_card_charges_the_failed_payment_and_only_brand_last4_expiry_are_shown(
    runtime: Runtime, http: httpx.Client
) -> None:
    partner = open_partner(runtime, "Sparkle Plumbing")
    client = register_client(runtime, partner, "Dana Whitfield")
    line = create_line(
        http, partner, client, product_code="service-plan", payer="client", locations=[]
    )
    bodies: list[str] = []

    declined_card = http.post(f"/v1/lines/{line}/card", json={"card": DECLINED_CARD})
    bodies.append(declined_card.text)
    assert declined_card.status_code == 201
    assert declined_card.json()["card"] == {
        "brand": "visa",
        "last4": "0002",
        "expiry_month": 12,
        "expiry_year": 2030,
    }
    activated = http.post(f"/v1/lines/{line}/activate").json()
    # The client pays by card: activation charges it at once, and it is declined (R-H2, R-H4).
    charge = activated["charge"]
    assert (charge["charge_status"], charge["decline_code"]) == ("declined", "card_declined")
    assert charge["invoice_status"] == "open"
    owed = activated["invoice_id"]
    assert [i["invoice_id"] for i in http.get(f"/v1/lines/{line}").json()["open_invoices"]] == [
        owed
    ]

    made = charges_made(runtime)
    updated = http.post(
        f"/v1/lines/{line}/card", json={"card": GOOD_CARD, "outstanding": "charge_all"}
    )
    bodies.append(updated.text)
    assert updated.status_code == 201
    answer = updated.json()
    assert answer["card"] == {
        "brand": "visa",
        "last4": "4242",
        "expiry_month": 12,
        "expiry_year": 2030,
    }
    assert answer["outstanding"] == [owed]
    [charged] = answer["charges"]
    assert (charged["invoice_id"], charged["charge_status"], charged["invoice_status"]) == (
        owed,
        "succeeded",
        "settled",
    )
    assert charges_made(runtime) == made + 1

    view = http.get(f"/v1/lines/{line}")
    bodies.append(view.text)
    assert view.json()["card"] == answer["card"]
    assert view.json()["open_invoices"] == []
    assert view.json()["current_period"] == {"start": "2026-01-31", "end": "2026-02-28"}

    # R-X4: neither the number nor the CVV ever comes back, not even in a refusal.
    for refused_card in (
        {**GOOD_CARD, "number": "4242 4242 4242 4241"},  # fails Luhn
        {**GOOD_CARD, "expiry_year": 2025, "expiry_month": 1},  # expired
        {**GOOD_CARD, "cvv": "98"},
        {**GOOD_CARD, "number": "4242-4242-4242-424x"},
    ):
        refused = http.post(f"/v1/lines/{line}/card", json={"card": refused_card})
        assert refused.status_code == 422
        bodies.append(refused.text)
    for body in bodies:
        assert "cvv" not in body.replace('"cvv_invalid"', "").replace('["body","card","cvv"]', "")
        for secret in (*SECRETS, "4242424242424241", "4242-4242-4242-424x"):
            assert secret not in body


def test_r_h5_mark_paid_settles_what_is_outstanding_without_a_charge(
    runtime: Runtime, http: httpx.Client
) -> None:
    partner = open_partner(runtime, "Sparkle Plumbing")
    client = register_client(runtime, partner, "Dana Whitfield")
    line = create_line(
        http, partner, client, product_code="service-plan", payer="client", locations=[]
    )
    http.post(f"/v1/lines/{line}/card", json={"card": DECLINED_CARD})
    owed = http.post(f"/v1/lines/{line}/activate").json()["invoice_id"]
    made = charges_made(runtime)

    answer = http.post(
        f"/v1/lines/{line}/card", json={"card": GOOD_CARD, "outstanding": "mark_paid"}
    ).json()

    assert (answer["outstanding"], answer["charges"]) == ([owed], [])
    assert charges_made(runtime) == made
    assert http.get(f"/v1/lines/{line}").json()["open_invoices"] == []


def test_r_l1_r_l2_leads_are_priced_and_invoiced_at_once_at_200_dollars(
    runtime: Runtime, client_for: Clients, make_key: MakeKey
) -> None:
    partner = open_partner(runtime, "CraftJack Pros")
    client = register_client(runtime, partner)
    api = client_for(make_key("partner", partner))
    line = active_line(api, partner, client, product_code="lead", locations=[])

    def lead(**changes: Any) -> httpx.Response:
        body = {"lead_id": str(uuid4()), "delivered_at": "2026-02-02T15:00:00Z", **changes}
        return api.post(f"/v1/lines/{line}/leads", json=body)

    for _ in range(4):
        answer = lead().json()  # the product's price, 35.00 USD
        assert (answer["invoice_id"], answer["budget_reached"]) == (None, False)
    assert lead(price={"amount_minor": 2500, "currency": "USD"}).status_code == 201
    leads = api.get(f"/v1/lines/{line}").json()["leads"]
    assert leads == {
        "unbilled_count": 5,
        "unbilled_total": {"amount_minor": 165_00, "currency": "USD"},
        "threshold": {"amount_minor": 200_00, "currency": "USD"},
        "threshold_reached": False,
    }

    invoiced = lead().json()  # 200.00 USD unbilled: invoiced at once (R-L2)
    assert invoiced["invoice_id"] is not None
    view = api.get(f"/v1/lines/{line}").json()
    assert view["leads"]["unbilled_count"] == 0
    assert view["leads"]["unbilled_total"]["amount_minor"] == 0
    assert [i["invoice_id"] for i in view["open_invoices"]] == [invoiced["invoice_id"]]


# --- transfers (R-E1 … R-E4) -----------------------------------------------------------------


def test_r_e3_r_e2_a_transfer_waits_for_settled_invoices_then_every_party_consents_itself(
    runtime: Runtime, clock: SimulatedClock, client_for: Clients, make_key: MakeKey
) -> None:
    current = open_partner(runtime, "Current Reseller")
    new = open_partner(runtime, "New Reseller")
    stranger = open_partner(runtime, "Someone Else")
    client = register_client(runtime, current)
    owner = client_for(make_key("partner", current))
    receiving = client_for(make_key("partner", new))
    other = client_for(make_key("partner", stranger))
    line = active_line(owner, current, client)
    body = transfer_body(current, new, consents=["client", "current_reseller"])

    unsettled = owner.post(f"/v1/lines/{line}/transfers", json=body)
    assert (unsettled.status_code, unsettled.json()["code"]) == (409, "invoice_not_settled")
    assert len(unsettled.json()["unsettled"]) == 1

    settle_invoices(runtime, line)
    # The owner may not speak for the new reseller, not even inside its request.
    speaking_for_new = {**body, "consents": ["new_reseller"]}
    refused = owner.post(f"/v1/lines/{line}/transfers", json=speaking_for_new)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    requested = owner.post(f"/v1/lines/{line}/transfers", json=body)
    assert requested.status_code == 201
    assert requested.json()["missing_consents"] == ["new_reseller"]
    assert requested.json()["effective_on"] is None
    pending = owner.get(f"/v1/lines/{line}").json()["transfer"]
    assert pending["new_reseller_id"] == str(new)
    assert (pending["consents"], pending["missing_consents"]) == (
        ["client", "current_reseller"],
        ["new_reseller"],
    )

    consents = f"/v1/lines/{line}/transfers/consents"
    # The owner cannot consent for the receiving reseller; the receiving one not for the others.
    assert owner.post(consents, json={"party": "new_reseller"}).status_code == 403
    assert receiving.post(consents, json={"party": "client"}).status_code == 403
    assert receiving.post(consents, json={"party": "current_reseller"}).status_code == 403
    # A partner with no part in the transfer gets the 404 of an unknown line.
    stranger_answer = other.post(consents, json={"party": "new_reseller"})
    assert (stranger_answer.status_code, stranger_answer.json()) == (404, not_found(line))
    # The receiving reseller consents for itself, and still cannot read or change the line.
    consented = receiving.post(consents, json={"party": "new_reseller"})
    assert consented.status_code == 201
    assert consented.json()["missing_consents"] == []
    assert consented.json()["effective_on"] == "2026-03-02"
    assert receiving.get(f"/v1/lines/{line}").json() == not_found(line)
    assert receiving.post(f"/v1/lines/{line}/pause", json={"reason": "x"}).status_code == 404
    assert owner.get(f"/v1/lines/{line}").json()["transfer"]["effective_on"] == "2026-03-02"

    # R-E1, R-E4: on its date the line moves; from then on it is the new reseller's.
    clock.set(clock.now().replace(month=3, day=2, hour=15))
    runtime.ledger.do_scheduled_work(Work.COMPLETE_TRANSFER, UUID(line), date(2026, 3, 2))
    moved = receiving.get(f"/v1/lines/{line}")
    assert (moved.status_code, moved.json()["partner_id"], moved.json()["term"]) == (
        200,
        str(new),
        "annual",
    )
    assert owner.get(f"/v1/lines/{line}").json() == not_found(line)


def test_an_admin_may_record_every_consent(runtime: Runtime, http: httpx.Client) -> None:
    current, new = open_partner(runtime, "Current"), open_partner(runtime, "New")
    line = active_line(http, current, register_client(runtime, current))
    settle_invoices(runtime, line)
    assert http.post(f"/v1/lines/{line}/transfers", json=transfer_body(current, new)).is_success
    for party in ("client", "current_reseller", "new_reseller"):
        answer = http.post(f"/v1/lines/{line}/transfers/consents", json={"party": party})
        assert answer.status_code == 201
    assert answer.json()["missing_consents"] == []


# --- idempotency (R-X5) ------------------------------------------------------------------------


def test_a_replayed_command_answers_as_the_first_time_and_writes_nothing(
    runtime: Runtime, http: httpx.Client
) -> None:
    partner = open_partner(runtime)
    line = active_line(http, partner, register_client(runtime, partner))
    headers = {"Idempotency-Key": "pause-once"}
    first = http.post(f"/v1/lines/{line}/pause", json={"reason": "Holidays"}, headers=headers)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    events = event_count(runtime)

    again = http.post(f"/v1/lines/{line}/pause", json={"reason": "Holidays"}, headers=headers)

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert event_count(runtime) == events


def test_a_replayed_create_names_the_same_line(runtime: Runtime, http: httpx.Client) -> None:
    partner = open_partner(runtime)
    body = line_body(partner, register_client(runtime, partner))
    headers = {"Idempotency-Key": "create-once"}
    first = http.post("/v1/lines", json=body, headers=headers)
    events = event_count(runtime)
    again = http.post("/v1/lines", json=body, headers=headers)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["location"] == first.headers["location"]
    assert event_count(runtime) == events


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(
    runtime: Runtime, http: httpx.Client
) -> None:
    partner = open_partner(runtime)
    line = active_line(http, partner, register_client(runtime, partner))
    headers = {"Idempotency-Key": "pause-once"}
    assert http.post(
        f"/v1/lines/{line}/pause", json={"reason": "Holidays"}, headers=headers
    ).is_success
    events = event_count(runtime)

    other = http.post(f"/v1/lines/{line}/pause", json={"reason": "Repairs"}, headers=headers)

    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert other.json()["code"] == "idempotency_key_reused"
    assert event_count(runtime) == events


def test_a_card_update_replayed_charges_nothing_more(runtime: Runtime, http: httpx.Client) -> None:
    partner = open_partner(runtime)
    line = create_line(
        http,
        partner,
        register_client(runtime, partner),
        product_code="service-plan",
        payer="client",
        locations=[],
    )
    http.post(f"/v1/lines/{line}/card", json={"card": DECLINED_CARD})
    http.post(f"/v1/lines/{line}/activate")
    body = {"card": GOOD_CARD, "outstanding": "charge_all"}
    headers = {"Idempotency-Key": "new-card"}
    first = http.post(f"/v1/lines/{line}/card", json=body, headers=headers)
    made, events = charges_made(runtime), event_count(runtime)

    again = http.post(f"/v1/lines/{line}/card", json=body, headers=headers)

    assert again.headers["idempotent-replayed"] == "true"
    assert (again.json()["id"], again.json()["card"]) == (first.json()["id"], first.json()["card"])
    assert charges_made(runtime) == made
    assert event_count(runtime) == events


def test_a_key_first_used_for_another_command_is_refused_by_the_card_update(
    runtime: Runtime, http: httpx.Client
) -> None:
    partner = open_partner(runtime)
    line = active_line(http, partner, register_client(runtime, partner))
    headers = {"Idempotency-Key": "one-key"}
    assert http.post(f"/v1/lines/{line}/pause", json={"reason": "x"}, headers=headers).is_success
    made, events = charges_made(runtime), event_count(runtime)

    card = http.post(f"/v1/lines/{line}/card", json={"card": GOOD_CARD}, headers=headers)
    resume = http.post(f"/v1/lines/{line}/resume", headers=headers)

    for refused in (card, resume):
        assert (refused.status_code, refused.json()["code"]) == (422, "idempotency_key_reused")
    assert (charges_made(runtime), event_count(runtime)) == (made, events)


def client_paid_line_owing(runtime: Runtime, http: httpx.Client) -> str:
    """A client-paid plan whose first payment, by a declined card, is outstanding (R-H2)."""
    partner = open_partner(runtime)
    client = register_client(runtime, partner)
    line = create_line(
        http, partner, client, product_code="service-plan", payer="client", locations=[]
    )
    http.post(f"/v1/lines/{line}/card", json={"card": DECLINED_CARD})
    return line


def test_a_replayed_activation_repeats_its_charge_outcome(
    runtime: Runtime, http: httpx.Client
) -> None:
    line = client_paid_line_owing(runtime, http)
    headers = {"Idempotency-Key": "activate-once"}
    first = http.post(f"/v1/lines/{line}/activate", headers=headers)
    assert first.json()["charge"]["charge_status"] == "declined"
    again = http.post(f"/v1/lines/{line}/activate", headers=headers)
    assert again.json() == first.json()


def test_a_replayed_card_update_repeats_its_charges(runtime: Runtime, http: httpx.Client) -> None:
    line = client_paid_line_owing(runtime, http)
    http.post(f"/v1/lines/{line}/activate")
    body = {"card": GOOD_CARD, "outstanding": "charge_all"}
    headers = {"Idempotency-Key": "new-card"}
    first = http.post(f"/v1/lines/{line}/card", json=body, headers=headers)
    assert len(first.json()["charges"]) == 1
    again = http.post(f"/v1/lines/{line}/card", json=body, headers=headers)
    assert again.json() == first.json()


def test_the_same_key_with_another_card_is_refused(runtime: Runtime, http: httpx.Client) -> None:
    line = client_paid_line_owing(runtime, http)
    headers = {"Idempotency-Key": "card-once"}
    assert http.post(f"/v1/lines/{line}/card", json={"card": GOOD_CARD}, headers=headers)
    other = {**GOOD_CARD, "number": "5555 5555 5555 4444"}
    again = http.post(f"/v1/lines/{line}/card", json={"card": other}, headers=headers)
    assert (again.status_code, again.json()["code"]) == (422, "idempotency_key_reused")


# --- who may do what ---------------------------------------------------------------------------


def commands(line: str, partner: UUID, client: UUID) -> list[tuple[str, dict[str, Any] | None]]:
    """Every command route of a line, each with a body it accepts."""
    return [
        ("/v1/lines", line_body(partner, client)),
        (f"/v1/lines/{line}/send", None),
        (f"/v1/lines/{line}/accept", None),
        (f"/v1/lines/{line}/activate", {"start_on": "2026-02-01"}),
        (f"/v1/lines/{line}/renew", {"period_start": "2026-02-28"}),
        (f"/v1/lines/{line}/cancel", {"reason": "Closing"}),
        (f"/v1/lines/{line}/pause", {"reason": "Holidays"}),
        (f"/v1/lines/{line}/resume", None),
        (f"/v1/lines/{line}/locations", UPTOWN),
        (f"/v1/lines/{line}/locations/{DOWNTOWN['location_id']}/remove", None),
        (f"/v1/lines/{line}/autopay", {"source": "card"}),
        (f"/v1/lines/{line}/card", {"card": GOOD_CARD}),
        (f"/v1/lines/{line}/leads", {"lead_id": str(uuid4()), "delivered_at": "2026-02-02T15:00Z"}),
        (f"/v1/lines/{line}/transfers", transfer_body(partner, uuid4())),
        (f"/v1/lines/{line}/transfers/consents", {"party": "client"}),
    ]


def test_another_partners_line_is_not_found_exactly_like_an_unknown_one(
    runtime: Runtime, http: httpx.Client, client_for: Clients, make_key: MakeKey
) -> None:
    acme, rival = open_partner(runtime, "Acme"), open_partner(runtime, "Rival")
    acme_client, rival_client = register_client(runtime, acme), register_client(runtime, rival)
    line = create_line(http, acme, acme_client)
    rival_api = client_for(make_key("partner", rival))
    unknown = str(uuid4())
    events = event_count(runtime)

    for path, body in commands(line, rival, rival_client)[1:]:
        foreign = rival_api.post(path, json=body)
        missing = rival_api.post(path.replace(line, unknown), json=body)
        assert (foreign.status_code, foreign.headers["content-type"]) == (404, PROBLEM), path
        assert foreign.json() == not_found(line), path
        assert missing.json() == not_found(unknown), path
    assert rival_api.get(f"/v1/lines/{line}").json() == not_found(line)
    assert rival_api.get(f"/v1/lines/{unknown}").json() == not_found(unknown)
    # Nor may it sell a line in another partner's name.
    for partner in (acme, uuid4()):
        refused = rival_api.post("/v1/lines", json=line_body(partner, acme_client))
        assert (refused.status_code, refused.json()["code"]) == (404, "partner_not_found")
        assert refused.json()["detail"] == f"No partner account {partner}."
    assert event_count(runtime) == events
    # Its own line it sees and changes.
    own = create_line(rival_api, rival, rival_client)
    assert rival_api.get(f"/v1/lines/{own}").json()["partner_id"] == str(rival)
    assert rival_api.post(f"/v1/lines/{own}/send").status_code == 201


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_finance_and_auditor_keys_read_lines_and_issue_no_commands(
    runtime: Runtime, http: httpx.Client, client_for: Clients, make_key: MakeKey, role: str
) -> None:
    partner = open_partner(runtime)
    client = register_client(runtime, partner)
    line = create_line(http, partner, client)
    reader = client_for(make_key(role))
    events = event_count(runtime)

    for path, body in commands(line, partner, client):
        refused = reader.post(path, json=body)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), path
    read = reader.get(f"/v1/lines/{line}")
    assert (read.status_code, read.json()["id"]) == (200, line)
    assert event_count(runtime) == events


def test_without_a_key_nothing_is_answered(
    runtime: Runtime, http: httpx.Client, client_for: Clients
) -> None:
    partner = open_partner(runtime)
    line = create_line(http, partner, register_client(runtime, partner))
    anonymous = client_for(None)
    assert anonymous.get(f"/v1/lines/{line}").status_code == 401
    assert anonymous.post(f"/v1/lines/{line}/send").status_code == 401


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "failing"),
    [
        ("", {"term": "fortnightly"}, ["body", "term"]),
        ("", {"payer": "nobody"}, ["body", "payer"]),
        ("", {"locations": [{"location_id": "not-a-uuid", "name": "X"}]}, None),
        ("", {"product_code": "pos\x00location"}, ["body", "product_code"]),
        ("", {"card_number": "4242424242424242"}, ["body", "card_number"]),
        ("/leads", {"price": {"amount_minor": -3500, "currency": "USD"}}, None),
        ("/leads", {"price": {"amount_minor": 35.5, "currency": "USD"}}, None),
        ("/leads", {"delivered_at": "2026-02-02T15:00:00"}, ["body", "delivered_at"]),
        ("/card", {"card": {**GOOD_CARD, "number": "4242 4242 4242 424x"}}, None),
        ("/card", {"card": {**GOOD_CARD, "expiry_month": 13}}, None),
        ("/card", {"card": GOOD_CARD, "outstanding": "forget_it"}, ["body", "outstanding"]),
        ("/autopay", {"source": "bonus"}, ["body", "source"]),
        ("/transfers/consents", {"party": "vendor"}, ["body", "party"]),
        ("/renew", {}, ["body", "period_start"]),
        ("/pause", {"reason": ""}, ["body", "reason"]),
    ],
)
def test_bad_input_is_a_422_problem_naming_the_field_and_writes_nothing(
    runtime: Runtime,
    http: httpx.Client,
    path: str,
    body: dict[str, Any],
    failing: list[str | int] | None,
) -> None:
    partner = open_partner(runtime)
    client = register_client(runtime, partner)
    line = create_line(http, partner, client)
    bodies = {
        "": line_body(partner, client),
        "/leads": {"lead_id": str(uuid4()), "delivered_at": "2026-02-02T15:00:00Z"},
        "/card": {"card": GOOD_CARD},
    }
    url = "/v1/lines" if path == "" else f"/v1/lines/{line}{path}"
    events = event_count(runtime)

    response = http.post(url, json={**bodies.get(path, {}), **body})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == "validation_failed"
    locations = [error["loc"] for error in problem["errors"]]
    if failing is not None:
        assert locations == [failing]
    else:  # the failing field, wherever in the body it is nested
        [where] = {tuple(location[:2]) for location in locations}
        assert where[0] == "body"
        assert where[1] in body
    for secret in SECRETS:
        assert secret not in response.text
    assert event_count(runtime) == events


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        ("/renew", {"on": "9999-12-31"}, "period_not_next", "period_start"),
        ("/renew", {"period_start": "0001-01-01"}, "period_not_next", "period_start"),
        ("/activate", {"start_on": "0001-01-01"}, "date_out_of_range", "start_on"),
        ("/activate", {"start_on": "9999-12-31"}, "date_out_of_range", "start_on"),
        ("/leads", {"delivered_at": "9999-12-31T23:59:59-12:00"}, "invalid_value", "delivered_at"),
        ("/pause", {"reason": "   "}, "invalid_value", "reason"),
        ("/card", {"card": {**GOOD_CARD, "number": "4242 4242 4242 4241"}}, "card_invalid", None),
        ("/card", {"card": {**GOOD_CARD, "expiry_year": 2025}}, "card_expired", None),
        ("/card", {"card": {**GOOD_CARD, "cvv": "9876"}}, "cvv_invalid", None),
        ("/autopay", {"source": "card"}, None, None),
    ],
)
def test_values_the_rules_refuse_are_422_problems_never_500s(
    runtime: Runtime,
    http: httpx.Client,
    path: str,
    body: dict[str, Any],
    code: str | None,
    field: str | None,
) -> None:
    partner = open_partner(runtime)
    line = active_line(http, partner, register_client(runtime, partner), product_code="lead")
    bodies = {
        "/leads": {"lead_id": str(uuid4())},
        "/card": {},
    }

    response = http.post(f"/v1/lines/{line}{path}", json={**bodies.get(path, {}), **body})

    if code is None:  # the control case: the same line takes a good value
        assert response.status_code == 201
        return
    assert response.status_code == 422
    assert response.json()["code"] == code
    if field is not None:
        assert response.json()["field"] == field
    for secret in SECRETS:
        assert secret not in response.text


def test_an_unknown_product_is_refused_by_the_catalogue(
    runtime: Runtime, http: httpx.Client
) -> None:
    partner = open_partner(runtime)
    body = line_body(partner, register_client(runtime, partner), product_code="time-machine")
    response = http.post("/v1/lines", json=body)
    assert (response.status_code, response.json()["code"]) == (422, "product_unknown")
    assert response.json()["product"] == "time-machine"


def test_autopay_and_transfers_offer_exactly_the_sources_the_rules_allow() -> None:
    assert set(get_args(AutopaySource)) == {source.value for source in AUTOPAY_SOURCES}
    assert set(get_args(TransferPayment)) == {s.value for s in TRANSFER_PAYMENT_SOURCES}


def test_the_openapi_document_lists_every_line_route(http: httpx.Client) -> None:
    paths = set(http.get("/openapi.json").json()["paths"])
    line = "/v1/lines/{line_id}"
    assert {
        "/v1/lines",
        line,
        *(f"{line}/{action}" for action in ("send", "accept", "activate", "renew", "cancel")),
        *(f"{line}/{action}" for action in ("pause", "resume", "locations", "autopay", "card")),
        f"{line}/locations/{{location_id}}/remove",
        f"{line}/leads",
        f"{line}/transfers",
        f"{line}/transfers/consents",
    } <= paths
