"""Issue 10's reads over real HTTP: a partner's state, schedule, clients and e-mails, a
client's lines, and one invoice summary for every invoice list; each scoped to its partner
(another partner's ids answer as unknown ones), readable by finance and auditors, paged."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from api.runtime import Runtime
from api.schemas.common import encode_cursor
from tests.api.test_partners import (
    CARD_DIGITS,
    DECLINING,
    PROFILE,
    VISA,
    ClientFor,
    MakeKey,
    as_partner,
    head,
    issue_invoice,
    open_partner,
    register,
    same_404,
    usd,
)

READS = ("/state", "/schedule", "/clients", "/e-mails")


def after(runtime: Runtime) -> dict[str, int]:
    """Read after every write made so far: the partner directory may be a batch behind."""
    return {"min_position": head(runtime)}


def every_page(client: httpx.Client, path: str, **params: Any) -> tuple[list[Any], int]:
    """Every item of a list, following `next_cursor`, and how many pages it took."""
    items: list[Any] = []
    cursor, pages = None, 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items, pages


# --- who may read --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_finance_and_auditors_read_any_clients_lines(
    http: httpx.Client, client_for: ClientFor, make_key: MakeKey, role: str
) -> None:
    """The partner reads themselves are walked with every role in test_partners.py (READS)."""
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id)
    reader = client_for(make_key(role))
    lines = reader.get("/v1/lines", params={"client_id": str(client_id)})
    assert (lines.status_code, lines.json()) == (200, {"items": [], "next_cursor": None})


@pytest.mark.parametrize("key", [None, "ll_0123456789abcdef_" + "x" * 43])
def test_the_new_reads_need_a_valid_key(
    http: httpx.Client, client_for: ClientFor, key: str | None
) -> None:
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id)
    anonymous = client_for(key)
    paths = [f"/v1/partners/{partner_id}{read}" for read in READS]
    for response in [
        *(anonymous.get(path) for path in paths),
        anonymous.get("/v1/lines", params={"client_id": str(client_id)}),
    ]:
        assert (response.status_code, response.json()["code"]) == (401, "unauthorized")


# --- the partner's state -------------------------------------------------------------------------


def test_r_o1_r_o6_r_x4_the_state_reads_back_profile_default_card_and_billing_days(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    opened = http.post(
        "/v1/partners",
        json={"name": "Acme", "currency": "USD", "time_zone": "UTC", "anchor": "calendar"},
    ).json()
    partner_id = opened["id"]
    bare = http.get(f"/v1/partners/{partner_id}/state", params={"min_position": opened["position"]})
    assert bare.json()["billing_profile"] is None
    assert bare.json()["default_payment_method"] is None
    assert bare.json()["budget"] is None
    assert http.post(f"/v1/partners/{partner_id}/billing-profile", json=PROFILE).status_code == 201
    card = http.post(f"/v1/partners/{partner_id}/payment-methods", json={"method": VISA})
    assert http.post(f"/v1/partners/{partner_id}/autopay", json={"source": "card"}).is_success

    state = as_partner(client_for, make_key, UUID(partner_id)).get(
        f"/v1/partners/{partner_id}/state"
    )

    assert state.status_code == 200
    body = state.json()
    assert body["billing_profile"] == {**PROFILE, "tax_id": None}
    assert body["default_payment_method"] == {
        "method_id": card.json()["id"],
        "kind": "card",
        "brand": "visa",
        "last4": "4242",
        "expiry_month": 12,
        "expiry_year": 2030,
        "routing_number": None,
    }
    assert (body["status"], body["pause_reasons"], body["grace_ends_on"]) == ("active", [], None)
    assert (body["anchor"], body["anchor_day"], body["autopay"]) == ("calendar", 1, "card")
    assert body["next_billing_date"] is None  # nothing waits for a unified invoice
    assert "4242424242424242" not in state.text
    assert CARD_DIGITS not in state.text


def test_r_l3_the_state_shows_the_budget_and_the_pause_it_caused(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id)
    assert http.post(
        f"/v1/partners/{partner_id}/budget", json={"amount": usd(1)}
    ).is_success  # one lead reaches it
    line = runtime.ledger.create_line(partner_id, client_id, "lead", key="lead/line").aggregate_id
    assert line is not None
    runtime.ledger.activate_line(line, key="lead/activate")
    runtime.ledger.record_lead(line, uuid4(), runtime.ledger.clock.now())

    body = http.get(f"/v1/partners/{partner_id}/state", params=after(runtime)).json()

    assert (body["status"], body["pause_reasons"]) == ("paused", ["budget_reached"])
    budget = body["budget"]
    assert budget["limit"] == usd(1)
    assert budget["spent"]["amount_minor"] >= 1
    # The budget period runs from the signup day of month to the same day next month (R-L3).
    assert (budget["period_start"], budget["resets_on"]) == ("2026-01-31", "2026-02-28")


def test_r_o2_a_unified_billing_line_follows_its_partners_anchor_and_another_line_its_own(
    http: httpx.Client, runtime: Runtime
) -> None:
    opened = http.post(
        "/v1/partners",
        json={"name": "Acme", "currency": "USD", "time_zone": "UTC", "anchor": "calendar"},
    ).json()
    partner_id = UUID(opened["id"])
    unified_client = register(http, partner_id, unified=True)
    own_client = register(http, partner_id)
    body = {"partner_id": str(partner_id), "product_code": "messaging-line"}
    unified = http.post(
        "/v1/lines", json={**body, "client_id": str(unified_client), "unified_billing": True}
    ).json()["id"]
    own = http.post("/v1/lines", json={**body, "client_id": str(own_client)}).json()["id"]
    for line in (unified, own):
        assert http.post(f"/v1/lines/{line}/activate", json={}).status_code == 201

    unified_line = http.get(f"/v1/lines/{unified}", params=after(runtime)).json()
    own_line = http.get(f"/v1/lines/{own}", params=after(runtime)).json()
    state = http.get(f"/v1/partners/{partner_id}/state", params=after(runtime)).json()

    # Opened on January 31st with a calendar anchor: the partner bills on the 1st.
    assert (state["anchor"], state["anchor_day"]) == ("calendar", 1)
    assert (unified_line["anchor"], unified_line["anchor_day"]) == ("calendar", 1)
    assert unified_line["current_period"]["end"] == "2026-02-01"
    # The other line did not follow the partner: it bills on the day it started.
    assert (own_line["anchor"], own_line["anchor_day"]) == ("anniversary", 31)
    assert own_line["current_period"]["end"] == "2026-02-28"
    # The unified line's charge waits for the partner's billing day (R-O3).
    assert state["next_billing_date"] == "2026-02-01"


# --- the schedule --------------------------------------------------------------------------------


def test_the_schedule_shows_renewals_overdue_checks_and_budget_resets_soonest_first_by_page(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id)
    line_one, invoice_one = issue_invoice(runtime, partner_id, client_id, "one")
    line_two, invoice_two = issue_invoice(runtime, partner_id, client_id, "two")
    assert http.post(f"/v1/partners/{partner_id}/budget", json={"amount": usd(5000)}).is_success
    partner = as_partner(client_for, make_key, partner_id)
    path = f"/v1/partners/{partner_id}/schedule"

    whole = partner.get(path, params=after(runtime)).json()
    paged, pages = every_page(partner, path, limit=2, **after(runtime))

    assert whole["next_cursor"] is None
    assert paged == whole["items"]
    assert pages == 3  # five items, two a page
    found = {(w["kind"], w["subject"], w["subject_id"]) for w in whole["items"]}
    assert found == {
        ("renew", "line", str(line_one)),
        ("renew", "line", str(line_two)),
        ("mark_overdue", "invoice", str(invoice_one)),
        ("mark_overdue", "invoice", str(invoice_two)),
        ("start_budget_period", "partner", str(partner_id)),
    }
    days = [(w["due_on"], w["due_at"]) for w in whole["items"]]
    assert days == sorted(days)
    renewal = next(w for w in whole["items"] if w["kind"] == "renew")
    assert renewal["due_on"] == "2026-02-28"  # New York: the period's end begins at 05:00 UTC
    assert renewal["due_at"] == "2026-02-28T05:00:00Z"


def test_a_schedule_cursor_this_list_did_not_give_out_is_a_422_problem(
    http: httpx.Client,
) -> None:
    partner_id, position = open_partner(http)
    forged = "WyIyMDI2LTAxLTAxIiwgImJyZXcgY29mZmVlIiwgIngiXQ=="  # ["2026-01-01","brew coffee","x"]
    response = http.get(
        f"/v1/partners/{partner_id}/schedule",
        params={"cursor": forged, "min_position": position},
    )
    assert (response.status_code, response.json()["code"]) == (422, "invalid_value")


@pytest.mark.parametrize("read", ["/e-mails", "/activity"])
@pytest.mark.parametrize("position", [2**63, -(2**63) - 1, 10**30])
def test_a_cursor_with_a_position_no_log_can_hold_is_a_422_problem(
    http: httpx.Client, read: str, position: int
) -> None:
    partner_id, opened = open_partner(http)
    forged = encode_cursor([position, str(uuid4())][: 1 if read == "/e-mails" else 2])
    query = {"cursor": forged, "min_position": opened}
    response = http.get(f"/v1/partners/{partner_id}{read}", params=query)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_value")


# --- clients and their lines ---------------------------------------------------------------------


def test_r_c8_a_partners_clients_a_page_at_a_time_and_only_its_own(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http, "Mine")
    other_id, _ = open_partner(http, "Theirs")
    mine = sorted(str(register(http, partner_id, unified=i == 0)) for i in range(3))
    register(http, other_id)
    partner = as_partner(client_for, make_key, partner_id)

    path = f"/v1/partners/{partner_id}/clients"
    first = partner.get(path, params={"limit": 2, **after(runtime)}).json()
    listed, pages = every_page(partner, path, limit=2, **after(runtime))

    assert [c["id"] for c in first["items"]] == mine[:2]
    assert [c["id"] for c in listed] == mine
    assert pages == 2
    assert {(c["name"], c["email"]) for c in listed} == {
        ("Blue Bottle Cafe", "owner@bluebottle.example")
    }
    assert sorted(c["unified_billing"] for c in listed) == [False, False, True]


def test_r_c1_r_c8_a_clients_lines_a_page_at_a_time_as_the_line_reads_them(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http, "Mine")
    other_id, _ = open_partner(http, "Theirs")
    client_id = register(http, partner_id)
    elsewhere = register(http, partner_id)
    lines = sorted(str(issue_invoice(runtime, partner_id, client_id, f"l{i}")[0]) for i in range(3))
    issue_invoice(runtime, partner_id, elsewhere, "elsewhere")
    theirs = register(http, other_id)
    partner = as_partner(client_for, make_key, partner_id)

    listed, pages = every_page(
        partner, "/v1/lines", client_id=str(client_id), limit=2, **after(runtime)
    )

    assert [line["id"] for line in listed] == lines
    assert pages == 2
    assert listed[0] == partner.get(f"/v1/lines/{lines[0]}").json()
    other = partner.get("/v1/lines", params={"client_id": str(theirs)})
    missing_id = uuid4()
    nowhere = partner.get("/v1/lines", params={"client_id": str(missing_id)})
    same_404(other, nowhere, theirs, missing_id)
    assert other.json()["code"] == "client_not_found"
    unnamed = partner.get("/v1/lines")
    assert (unnamed.status_code, unnamed.json()["code"]) == (422, "validation_failed")


# --- e-mails -------------------------------------------------------------------------------------


def test_r_h4_the_e_mails_show_the_invoice_and_the_failed_payment_with_reason_and_link(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    assert http.post(f"/v1/partners/{partner_id}/billing-profile", json=PROFILE).is_success
    assert http.post(
        f"/v1/partners/{partner_id}/payment-methods", json={"method": DECLINING}
    ).is_success
    client_id = register(http, partner_id)
    _, invoice_id = issue_invoice(runtime, partner_id, client_id, "failing")
    charge = runtime.ledger.charge_invoice(invoice_id, key="failing/charge")
    assert charge.data["charge_status"] == "declined"
    partner = as_partner(client_for, make_key, partner_id)

    emails, pages = every_page(
        partner, f"/v1/partners/{partner_id}/e-mails", limit=1, **after(runtime)
    )

    assert pages == len(emails) == 2
    failed, issued = emails  # newest first
    assert (issued["kind"], issued["invoice_id"]) == ("invoice_issued", str(invoice_id))
    assert (failed["kind"], failed["invoice_id"]) == ("payment_failed", str(invoice_id))
    for mail in emails:
        assert mail["recipient"] == "billing@acme.example"
        assert (mail["status"], mail["attempts"], mail["sent_at"]) == ("queued", 0, None)
        assert mail["next_attempt_at"] is not None
    assert failed["decline_code"] == "card_declined"
    assert failed["reason"]
    # The link is the one the e-mail itself gives: where the partner updates its card (R-H4).
    assert failed["update_url"].endswith(f"/partners/{partner_id}/payment-methods")
    with runtime.database.connect() as conn:
        row = conn.execute("SELECT body FROM outbox WHERE kind = 'payment_failed'").fetchone()
    assert row is not None
    assert failed["update_url"] in row[0]
    assert failed["reason"] in row[0]
    assert issued["reason"] is None
    assert issued["update_url"] is None
    assert failed["invoice_number"] in failed["subject"]


def test_an_e_mail_the_mail_server_took_or_refused_says_so(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    assert http.post(f"/v1/partners/{partner_id}/billing-profile", json=PROFILE).is_success
    client_id = register(http, partner_id)
    issue_invoice(runtime, partner_id, client_id, "one")
    issue_invoice(runtime, partner_id, client_id, "two")
    with runtime.database.connect() as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM outbox ORDER BY id").fetchall()]
        conn.execute("UPDATE outbox SET sent_at = now(), attempts = 0 WHERE id = %s", (ids[0],))
        conn.execute(
            "UPDATE outbox SET attempts = 2, last_error = '451 try later' WHERE id = %s", (ids[1],)
        )

    newest, oldest = http.get(f"/v1/partners/{partner_id}/e-mails", params=after(runtime)).json()[
        "items"
    ]

    assert (oldest["status"], oldest["next_attempt_at"]) == ("sent", None)
    assert oldest["sent_at"] is not None
    assert (newest["status"], newest["attempts"], newest["last_error"]) == (
        "retrying",
        2,
        "451 try later",
    )


# --- one invoice summary -------------------------------------------------------------------------


def test_r_o5_the_partners_invoices_are_the_same_summaries_as_the_invoice_list(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id)
    line_id, _ = issue_invoice(runtime, partner_id, client_id, "one")
    issue_invoice(runtime, partner_id, client_id, "two")
    partner = as_partner(client_for, make_key, partner_id)
    position = {"min_position": head(runtime)}

    nested = partner.get(f"/v1/partners/{partner_id}/invoices", params=position).json()
    flat = partner.get("/v1/invoices", params={**position, "partner_id": str(partner_id)}).json()
    of_client = partner.get(f"/v1/clients/{client_id}/invoices", params=position).json()

    assert nested == flat
    assert len(nested["items"]) == 2
    assert nested["items"][-1]["line_ids"] == [str(line_id)]
    assert of_client["items"][0].keys() == nested["items"][0].keys()
