"""The catalogue over real HTTP (issue 13): admin writes, every role reads, bad input is a
problem that writes nothing, and an invoice line (a product's or a lead's) names its price
version and override.

Four tests on one served runtime each: about two seconds of CPU together (a partner, a line,
a renewal or a lead run and the reads, through uvicorn and the read models).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from uuid import uuid4

import httpx
from eventsourcing.persistence import StoredEvent

from api.runtime import Runtime
from domain.values import PRICE_SET_ON_LEAD
from ledger.commands.line_leads import InvoiceLeads
from tests.api.test_lines import PROBLEM, active_line, event_count, open_partner, register_client
from tests.ledger.test_catalogue_history import OLD_LINE

OLD_LEAD = OLD_LINE.with_name("SubscriptionLine.LeadRecorded.v1.json")


def test_admin_writes_the_catalogue_every_role_reads_it_and_bad_input_writes_nothing(
    runtime: Runtime,
    http: httpx.Client,
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    created = http.post(
        "/v1/products",
        json={"code": "seat", "names": {"en": "Seat", "ru": "Место"}, "unit": "per_location"},
    )
    assert (created.status_code, created.headers["location"]) == (201, "/v1/products/seat")
    for body in (
        {"amount": {"amount_minor": 1200, "currency": "JPY"}, "effective_from": "2000-01-01"},
        {"amount": {"amount_minor": 1250, "currency": "KWD"}, "effective_from": "2000-01-01"},
        {
            "amount": {"amount_minor": 1500, "currency": "JPY"},
            "effective_from": "2026-03-01",
            "applies_to_existing": "never",
        },
    ):
        assert http.post("/v1/products/seat/prices", json=body).status_code == 201
    before = event_count(runtime)
    refusals = [
        (http.post("/v1/products", json={"code": "x", "names": {"es": "X"}, "unit": "per_line"}),
         422, "invalid_value"),
        (http.post("/v1/products", json={"code": "Bad Code", "names": {"en": "X"},
                                         "unit": "per_line"}), 422, "validation_failed"),
        (http.post("/v1/products", json={"code": "seat", "names": {"en": "Seat"},
                                         "unit": "per_line"}), 409, "product_exists"),
        (http.post("/v1/products/seat/prices", json={
            "amount": {"amount_minor": 1600, "currency": "JPY"}, "effective_from": "2026-02-01"}),
         409, "price_not_later"),
        (http.post("/v1/products/seat/prices", json={
            "amount": {"amount_minor": 1300, "currency": "KWD"}, "effective_from": "2026-01-31"}),
         422, "price_change_too_soon"),
        (http.post("/v1/products/nope/prices", json={
            "amount": {"amount_minor": 1, "currency": "USD"}, "effective_from": "2000-01-01"}),
         404, "product_not_found"),
    ]  # fmt: skip
    for response, status, code in refusals:
        assert (response.status_code, response.headers["content-type"]) == (status, PROBLEM)
        assert response.json()["code"] == code
    partner_key = make_key("partner", open_partner(runtime))
    forbidden = client_for(partner_key).post("/v1/products/seat/retirement")
    assert forbidden.status_code == 403
    assert event_count(runtime) == before + 1  # the partner opened; nothing else was written
    for key in (partner_key, make_key("auditor"), make_key("finance")):
        read = client_for(key).get("/v1/products/seat", params={"min_position": before})
        assert read.status_code == 200, read.text
        assert [
            (p["price_version"], p["amount"]["amount_minor"]) for p in read.json()["prices"]
        ] == [
            ("seat@JPY/v1", 1200),
            ("seat@JPY/v2", 1500),
            ("seat@KWD/v1", 1250),
        ]
    listed = http.get("/v1/products").json()["items"]
    assert {"pos-location", "seat"} <= {product["code"] for product in listed}


def test_r_o3_an_invoice_line_names_its_price_version_and_the_partners_override(
    runtime: Runtime,
    http: httpx.Client,
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    partner = open_partner(runtime)
    line = active_line(http, partner, register_client(runtime, partner))
    override = http.post(
        f"/v1/partners/{partner}/price-overrides",
        json={"product_code": "pos-location", "effective_from": "2026-02-15", "percent_off": "0.2"},
    )
    assert override.status_code == 201, override.text
    renewed = http.post(f"/v1/lines/{line}/renew", json={"period_start": "2026-02-28"})
    assert renewed.status_code == 201, renewed.text
    invoice = http.get(
        f"/v1/invoices/{renewed.json()['invoice_id']}",
        params={"min_position": renewed.json()["position"]},
    )
    assert invoice.status_code == 200, invoice.text
    [product] = [item for item in invoice.json()["lines"] if item["kind"] == "product"]
    assert (product["price_version"], product["price_override"], product["amount"]) == (
        "pos-location@USD/v1",
        "20 % off",
        {"amount_minor": 39_20, "currency": "USD"},
    )
    own = client_for(make_key("partner", partner)).get(
        f"/v1/partners/{partner}/price-overrides",
        params={"min_position": override.json()["position"]},
    )
    assert own.status_code == 200, own.text
    assert [(o["product_code"], o["percent_off"]) for o in own.json()["items"]] == [
        ("pos-location", "0.2")
    ]
    other = client_for(make_key("partner", open_partner(runtime, "Other")))
    assert other.get(f"/v1/partners/{partner}/price-overrides").status_code == 404
    assert other.get(f"/v1/partners/{uuid4()}/price-overrides").status_code == 404


def test_r_o5_an_invoice_of_a_line_sold_before_versions_reads_unversioned_and_still_renders(
    runtime: Runtime, http: httpx.Client
) -> None:
    """A line whose creation was stored before price versions (the frozen version-1 shape):
    its invoice's product line says `unversioned`, and the invoice's PDF renders."""
    partner = open_partner(runtime)
    client = register_client(runtime, partner)
    state = json.loads(OLD_LINE.read_text(encoding="utf-8"))
    state["partner_id"]["_data_"], state["client_id"]["_data_"] = partner.hex, client.hex
    state["product_code"], state["unified_billing"] = "pos-location", False
    line = uuid4()
    runtime.ledger.store.recorder.insert_events(
        [
            StoredEvent(
                originator_id=line,
                originator_version=1,
                topic="domain.subscription_line:SubscriptionLine.Created",
                state=json.dumps(state).encode(),
            )
        ]
    )
    activated = http.post(f"/v1/lines/{line}/activate")
    assert activated.status_code == 201, activated.text
    path = f"/v1/invoices/{activated.json()['invoice_id']}"
    params = {"min_position": activated.json()["position"]}
    invoice = http.get(path, params=params)
    assert invoice.status_code == 200, invoice.text
    [product] = [item for item in invoice.json()["lines"] if item["kind"] == "product"]
    assert (product["price_version"], product["amount"]["amount_minor"]) == ("unversioned", 30_00)
    document = http.get(f"{path}/pdf", params=params)
    assert (document.status_code, document.content[:5]) == (200, b"%PDF-")


def test_r_l1_lead_lines_name_their_price_version_or_say_why_they_have_none(
    runtime: Runtime, http: httpx.Client
) -> None:
    """Issue 13: a lead priced by the catalogue names its version on its invoice line; a lead
    its request priced names none and says so; a lead recorded before versions (its frozen
    version-1 shape) reads `unversioned`, and the invoice's PDF renders."""
    partner = open_partner(runtime)
    created = runtime.ledger.create_line(partner, register_client(runtime, partner), "lead")
    assert created.aggregate_id is not None
    line = created.aggregate_id
    runtime.ledger.activate_line(line)
    old, versioned, priced = uuid4(), uuid4(), uuid4()
    state = json.loads(OLD_LEAD.read_text(encoding="utf-8"))
    state["partner_id"]["_data_"], state["lead_id"]["_data_"] = partner.hex, old.hex
    runtime.ledger.store.recorder.insert_events(
        [
            StoredEvent(
                originator_id=line,
                originator_version=runtime.ledger.line(line).version + 1,
                topic="domain.subscription_line:SubscriptionLine.LeadRecorded",
                state=json.dumps(state).encode(),
            )
        ]
    )
    for lead, price in ((versioned, None), (priced, {"amount_minor": 12_00, "currency": "USD"})):
        body = {"lead_id": str(lead), "delivered_at": "2026-01-31T15:00:00Z", "price": price}
        recorded = http.post(f"/v1/lines/{line}/leads", json=body)
        assert recorded.status_code == 201, recorded.text
    issued = runtime.ledger.execute(InvoiceLeads(line_id=line, on=date(2026, 2, 6)))
    path = f"/v1/invoices/{issued.data['invoice_id']}"
    params = {"min_position": issued.position, "wait_ms": 5000}
    invoice = http.get(path, params=params)
    assert invoice.status_code == 200, invoice.text
    named = {
        item["lead_id"]: (item["price_version"], item["price_override"], item["policy_version"])
        for item in invoice.json()["lines"]
    }
    assert named == {
        str(old): ("unversioned", None, None),
        str(versioned): ("lead@USD/v1", None, None),
        str(priced): (None, PRICE_SET_ON_LEAD, None),
    }
    document = http.get(f"{path}/pdf", params=params)
    assert (document.status_code, document.content[:5]) == (200, b"%PDF-")
