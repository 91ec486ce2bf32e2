"""`/v1/invoices`, `/v1/closing-documents`, `/v1/ledger/trial-balance` and
`/v1/projections/status` over real HTTP, on invoices the ledger issues itself.

Partners, clients and lines are set up through the ledger directly (`runtime.ledger`); every
command on an invoice and every read goes through the API. Lines sell e-mail signatures at
25.00 USD a month; a card adds its 3 % fee, 0.75 USD (R-O7).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from pypdf import PdfReader

from api.runtime import Runtime
from api.schemas.common import encode_cursor
from domain.money import Money
from domain.payment_methods import CardDetails, PaymentSource
from projections.registry import all_projections
from replay.rebuild import head_position
from tests.support import event_count

PROBLEM = "application/problem+json"
SIGNATURES = 25_00
CARD_FEE = 75
GOOD_CARD = CardDetails("4242424242424242", 12, 2030, "Ada Lovelace", "123", "10001")
DECLINING_CARD = CardDetails("4000000000000002", 12, 2030, "Ada Lovelace", "123", "10001")

Client = Callable[[str | None], httpx.Client]
MakeKey = Callable[..., str]


@dataclass(frozen=True)
class Partner:
    """A USD partner with one client and the invoices of its active lines."""

    id: UUID
    client_id: UUID
    invoices: list[UUID]
    method_ids: list[UUID]


def usd(amount_minor: int) -> dict[str, Any]:
    return {"amount_minor": amount_minor, "currency": "USD"}


def open_partner(
    runtime: Runtime,
    name: str = "Acme",
    *,
    lines: int = 1,
    cards: tuple[CardDetails, ...] = (),
) -> Partner:
    """A partner (its first card the default one), a client, and `lines` lines started today."""
    ledger = runtime.ledger
    partner = ledger.open_partner_account(name=name, currency="USD", time_zone="UTC").aggregate_id
    assert partner is not None
    methods = [
        UUID(ledger.add_payment_method(partner, card, make_default=n == 0).data["method_id"])
        for n, card in enumerate(cards)
    ]
    client = ledger.register_client(
        partner, name=f"{name} client", unified_billing=False
    ).aggregate_id
    assert client is not None
    invoices = []
    for _ in range(lines):
        line = ledger.create_line(partner, client, "email-signatures").aggregate_id
        assert line is not None
        invoices.append(UUID(ledger.activate_line(line).data["invoice_id"]))
    return Partner(partner, client, invoices, methods)


def read(http: httpx.Client, path: str, position: int, **params: Any) -> httpx.Response:
    """A GET that waits for the read model to reach `position` (read your own write)."""
    response = http.get(path, params={"min_position": position, "wait_ms": 5000, **params})
    assert response.status_code == 200, response.text
    return response


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def paid(http: httpx.Client, invoice_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(f"/v1/invoices/{invoice_id}/payments", json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


# --- payments (R-C2, R-H2, R-O7) -----------------------------------------------------------


def test_r_c2_r_h2_cash_paid_offline_settles_the_invoice_and_reads_back(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime)
    invoice_id = acme.invoices[0]

    response = http.post(
        f"/v1/invoices/{invoice_id}/payments", json={"source": "cash", "reference": "Receipt 7"}
    )

    assert response.status_code == 201
    assert response.headers["location"] == f"/v1/invoices/{invoice_id}"
    answer = response.json()
    assert answer["id"] == answer["payment_id"]
    assert (answer["invoice_id"], answer["number"]) == (str(invoice_id), "INV-2026-000001")
    assert (answer["status"], answer["outstanding"]) == ("settled", usd(0))
    assert answer["charge_status"] is None
    seen = read(http, f"/v1/invoices/{invoice_id}", answer["position"]).json()
    assert (seen["status"], seen["partner_id"], seen["payer"]) == (
        "settled",
        str(acme.id),
        "partner",
    )
    assert (seen["total"], seen["paid"], seen["outstanding"]) == (
        usd(SIGNATURES),
        usd(SIGNATURES),
        usd(0),
    )
    assert [
        (p["payment_id"], p["source"], p["amount"], p["reference"]) for p in seen["payments"]
    ] == [(answer["payment_id"], "cash", usd(SIGNATURES), "Receipt 7")]
    assert seen["due_on"] == "2026-02-14"
    assert [line["kind"] for line in seen["lines"]] == ["product"]


def test_r_c2_r_o7_a_card_payment_charges_the_fee_as_its_own_line(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime, cards=(GOOD_CARD,))
    invoice_id = acme.invoices[0]

    answer = paid(http, invoice_id, {"source": "card"})

    assert (answer["charge_status"], answer["decline_code"]) == ("succeeded", None)
    assert answer["status"] == "settled"
    seen = read(http, f"/v1/invoices/{invoice_id}", answer["position"]).json()
    assert [(line["kind"], line["amount"]) for line in seen["lines"]] == [
        ("product", usd(SIGNATURES)),
        ("card_fee", usd(CARD_FEE)),
    ]
    [payment] = seen["payments"]
    assert (payment["source"], payment["amount"], payment["fee"]) == (
        "card",
        usd(SIGNATURES + CARD_FEE),
        usd(CARD_FEE),
    )


def test_r_c2_part_of_an_invoice_paid_from_the_company_balance_leaves_the_rest_owed(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime)
    runtime.ledger.top_up(acme.id, Money(SIGNATURES, "USD"), PaymentSource.BANK_TRANSFER)

    answer = paid(http, acme.invoices[0], {"source": "company_balance", "amount": usd(1000)})

    assert (answer["status"], answer["outstanding"]) == ("open", usd(SIGNATURES - 1000))


# --- charges, failures and marking paid (R-H4, R-H5) -------------------------------------


def test_r_h4_a_declined_charge_answers_its_decline_code_and_a_retry_to_another_card_pays(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime, cards=(DECLINING_CARD, GOOD_CARD))
    invoice_id = acme.invoices[0]

    declined = http.post(f"/v1/invoices/{invoice_id}/charge", json={})

    assert declined.status_code == 201
    answer = declined.json()
    assert (answer["charge_status"], answer["decline_code"]) == ("declined", "card_declined")
    assert (answer["status"], answer["outstanding"]) == ("open", usd(SIGNATURES))
    seen = read(http, f"/v1/invoices/{invoice_id}", answer["position"]).json()
    assert seen["failed"] is True
    assert [(f["payment_id"], f["decline_code"]) for f in seen["failed_attempts"]] == [
        (answer["payment_id"], "card_declined")
    ]

    retried = http.post(
        f"/v1/invoices/{invoice_id}/charge", json={"method_id": str(acme.method_ids[1])}
    ).json()
    assert (retried["charge_status"], retried["status"]) == ("succeeded", "settled")


def test_r_h5_a_failed_invoice_is_marked_paid_and_a_paid_one_cannot_be(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime, cards=(DECLINING_CARD,))
    invoice_id = acme.invoices[0]
    http.post(f"/v1/invoices/{invoice_id}/charge", json={})

    marked = http.post(f"/v1/invoices/{invoice_id}/mark-pending-paid")

    assert marked.status_code == 201
    assert (marked.json()["status"], marked.json()["outstanding"]) == ("settled", usd(0))
    again = http.post(f"/v1/invoices/{invoice_id}/mark-pending-paid")
    assert again.status_code == 409
    assert again.json()["code"] == "nothing_outstanding"


# --- refunds (R-H6) ----------------------------------------------------------------------


def test_r_h6_a_card_payment_is_refunded_in_part_then_the_rest_and_never_more(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime, cards=(GOOD_CARD,))
    invoice_id = acme.invoices[0]
    payment_id = paid(http, invoice_id, {"source": "card"})["payment_id"]
    charged = SIGNATURES + CARD_FEE

    def refund(amount_minor: int) -> httpx.Response:
        return http.post(
            f"/v1/invoices/{invoice_id}/refunds",
            json={"payment_id": payment_id, "amount": usd(amount_minor), "reason": "Goodwill"},
        )

    part = refund(1000)
    rest = refund(charged - 1000)
    before = event_count(runtime)
    too_much = refund(1)

    assert part.status_code == rest.status_code == 201
    assert part.json()["id"] == part.json()["refund_id"] != rest.json()["refund_id"]
    assert too_much.status_code == 409
    assert too_much.headers["content-type"] == PROBLEM
    assert too_much.json()["code"] == "refund_exceeds_payment"
    assert too_much.json()["refundable"] == 0
    assert event_count(runtime) == before
    seen = read(http, f"/v1/invoices/{invoice_id}", rest.json()["position"]).json()
    assert seen["refunded"] == usd(charged)
    assert seen["payments"][0]["refunded"] == usd(charged)
    assert [r["amount"] for r in seen["refunds"]] == [usd(1000), usd(charged - 1000)]


def test_r_h6_a_cash_payment_is_not_refunded_through_the_plan(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime)
    invoice_id = acme.invoices[0]
    payment_id = paid(http, invoice_id, {"source": "cash"})["payment_id"]
    before = event_count(runtime)

    response = http.post(
        f"/v1/invoices/{invoice_id}/refunds",
        json={"payment_id": payment_id, "amount": usd(100), "reason": "Changed their mind"},
    )

    assert response.status_code == 409
    assert response.json()["code"] == "offline_payment_not_refundable"
    assert response.json()["source"] == "cash"
    assert event_count(runtime) == before


# --- corrections (R-X6) ------------------------------------------------------------------


def test_r_x6_the_vendor_voids_and_credits_invoices_and_a_partner_key_may_not(
    http: httpx.Client, runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    acme = open_partner(runtime, lines=2)
    to_void, to_credit = acme.invoices
    partner = client_for(make_key("partner", acme.id))
    before = event_count(runtime)

    refused_void = partner.post(f"/v1/invoices/{to_void}/void", json={"reason": "Wrong client"})
    refused_credit = partner.post(
        f"/v1/invoices/{to_credit}/credit-notes", json={"amount": usd(500), "reason": "Outage"}
    )

    assert refused_void.status_code == refused_credit.status_code == 403
    assert refused_void.json()["code"] == refused_credit.json()["code"] == "forbidden"
    assert event_count(runtime) == before

    voided = http.post(f"/v1/invoices/{to_void}/void", json={"reason": "Wrong client"})
    assert voided.status_code == 201
    assert (voided.json()["status"], voided.json()["outstanding"]) == ("void", usd(0))
    credited = http.post(
        f"/v1/invoices/{to_credit}/credit-notes", json={"amount": usd(500), "reason": "Outage"}
    )
    assert credited.status_code == 201
    note = credited.json()
    assert note["id"] == note["credit_note_id"]
    assert note["credit_note_number"].startswith("CN-")
    assert note["outstanding"] == usd(SIGNATURES - 500)
    too_much = http.post(
        f"/v1/invoices/{to_credit}/credit-notes",
        json={"amount": usd(SIGNATURES), "reason": "Outage"},
    )
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "credit_exceeds_invoice"

    seen = read(http, f"/v1/invoices/{to_void}", voided.json()["position"]).json()
    assert (seen["status"], seen["void_reason"]) == ("void", "Wrong client")
    seen = read(http, f"/v1/invoices/{to_credit}", note["position"]).json()
    assert [(c["number"], c["amount"]) for c in seen["credit_notes"]] == [
        (note["credit_note_number"], usd(500))
    ]


# --- documents (R-O5, R-C7) --------------------------------------------------------------


def test_r_o5_an_invoice_prints_as_a_pdf_in_the_readers_language(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime)
    invoice_id = acme.invoices[0]
    position = paid(http, invoice_id, {"source": "cash"})["position"]

    english = read(http, f"/v1/invoices/{invoice_id}/pdf", position)
    russian = read(http, f"/v1/invoices/{invoice_id}/pdf", position, locale="ru")
    unsupported = http.get(f"/v1/invoices/{invoice_id}/pdf", params={"locale": "de"})

    assert english.headers["content-type"] == "application/pdf"
    text = pdf_text(english.content)
    assert "Invoice No. INV-2026-000001" in text
    # The partner pays: its name is the payer's, its client named on the line it is billed for.
    payer = text[text.index("PL5252000000") : text.index("Issued on")]  # after the seller's ids
    assert "Acme" in payer
    assert "Acme client" not in payer
    assert "Client: Acme client" in text
    assert "Счёт № INV-2026-000001" in pdf_text(russian.content)
    assert unsupported.status_code == 422
    assert unsupported.json()["errors"][0]["loc"] == ["query", "locale"]


def test_r_c7_a_closing_document_is_requested_for_a_paid_invoice_read_and_printed(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime, lines=2)
    paid_one, unpaid = acme.invoices
    paid(http, paid_one, {"source": "bank_transfer", "reference": "Wire 4471"})

    requested = http.post(f"/v1/invoices/{paid_one}/closing-documents")

    assert requested.status_code == 201
    answer = requested.json()
    document_id = answer["document_id"]
    assert answer["id"] == document_id
    assert requested.headers["location"] == f"/v1/closing-documents/{document_id}"
    assert answer["amount"] == usd(SIGNATURES)
    seen = read(http, f"/v1/closing-documents/{document_id}", answer["position"]).json()
    assert (seen["number"], seen["invoice_id"], seen["invoice_number"]) == (
        answer["document_number"],
        str(paid_one),
        "INV-2026-000001",
    )
    assert (seen["partner_name"], seen["client_name"]) == ("Acme", "Acme client")
    assert [(line["kind"], line["amount"]) for line in seen["lines"]] == [
        ("product", usd(SIGNATURES))
    ]
    printed = read(http, f"/v1/closing-documents/{document_id}/pdf", answer["position"])
    assert printed.headers["content-type"] == "application/pdf"
    assert answer["document_number"] in pdf_text(printed.content)

    twice = http.post(f"/v1/invoices/{paid_one}/closing-documents")
    not_paid = http.post(f"/v1/invoices/{unpaid}/closing-documents")
    assert twice.status_code == not_paid.status_code == 409
    assert (twice.json()["code"], twice.json()["reason"]) == (
        "closing_document_not_allowed",
        "already_requested",
    )
    assert not_paid.json()["reason"] == "not_paid"


# --- the trial balance and projection status (R-X2) --------------------------------------


def test_r_x2_the_trial_balance_balances_per_currency_after_payments_refunds_and_credits(
    http: httpx.Client, runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    acme = open_partner(runtime, lines=3, cards=(GOOD_CARD,))
    card_paid, cash_paid, credited = acme.invoices
    payment_id = paid(http, card_paid, {"source": "card"})["payment_id"]
    http.post(
        f"/v1/invoices/{card_paid}/refunds",
        json={"payment_id": payment_id, "amount": usd(700), "reason": "Goodwill"},
    )
    paid(http, cash_paid, {"source": "cash", "amount": usd(1200)})
    last = http.post(
        f"/v1/invoices/{credited}/credit-notes", json={"amount": usd(300), "reason": "Outage"}
    ).json()["position"]

    seen = read(http, "/v1/ledger/trial-balance", last).json()

    assert seen["balanced"] is True
    assert seen["position"] >= last
    [dollars] = seen["currencies"]
    assert dollars["currency"] == "USD"
    assert dollars["debits"] == dollars["credits"]
    assert dollars["debits"]["amount_minor"] > 0
    accounts = {a["account_kind"]: a["balance"]["amount_minor"] for a in seen["accounts"]}
    issued = 3 * SIGNATURES + CARD_FEE
    received = SIGNATURES + CARD_FEE + 1200
    assert accounts["receivable"] == issued - received - 300
    assert accounts["refunds"] == 700
    assert sum(accounts.values()) == 0
    before_anything = http.get("/v1/ledger/trial-balance", params={"as_of_position": 0}).json()
    assert (before_anything["currencies"], before_anything["position"]) == ([], 0)
    for role in ("finance", "auditor"):
        assert client_for(make_key(role)).get("/v1/ledger/trial-balance").status_code == 200
    refused = client_for(make_key("partner", acme.id)).get("/v1/ledger/trial-balance")
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"


def test_projection_status_lists_every_read_model_for_the_back_office_only(
    http: httpx.Client, runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    acme = open_partner(runtime)
    position = paid(http, acme.invoices[0], {"source": "cash"})["position"]
    read(http, f"/v1/invoices/{acme.invoices[0]}", position)

    seen = client_for(make_key("auditor")).get("/v1/projections/status").json()

    assert {p["name"] for p in seen["projections"]} == {p.name for p in all_projections()}
    assert seen["head_position"] >= position
    invoices = next(p for p in seen["projections"] if p["name"] == "invoices")
    assert invoices["live_generation"] == 1
    assert invoices["version"] == invoices["code_version"]
    assert invoices["position"] >= position
    assert invoices["needs_rebuild"] is False
    assert all(p["lag"] >= 0 for p in seen["projections"])
    refused = client_for(make_key("partner", acme.id)).get("/v1/projections/status")
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"


# --- idempotency (R-X5) ------------------------------------------------------------------


def test_r_x5_a_repeated_payment_answers_as_the_first_and_pays_once(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime)
    invoice_id = acme.invoices[0]
    path = f"/v1/invoices/{invoice_id}/payments"
    body = {"source": "cheque", "amount": usd(1000), "reference": "Cheque 118"}
    headers = {"Idempotency-Key": "pay-once"}

    first = http.post(path, json=body, headers=headers)
    events = event_count(runtime)
    again = http.post(path, json=body, headers=headers)
    other = http.post(path, json={**body, "amount": usd(1200)}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert other.json()["code"] == "idempotency_key_reused"
    assert event_count(runtime) == events
    seen = read(http, f"/v1/invoices/{invoice_id}", first.json()["position"]).json()
    assert len(seen["payments"]) == 1
    assert seen["outstanding"] == usd(SIGNATURES - 1000)


def test_r_x5_a_repeated_card_charge_charges_once(http: httpx.Client, runtime: Runtime) -> None:
    acme = open_partner(runtime, cards=(GOOD_CARD,))
    path = f"/v1/invoices/{acme.invoices[0]}/payments"
    headers = {"Idempotency-Key": "charge-once"}

    first = http.post(path, json={"source": "card"}, headers=headers)
    again = http.post(path, json={"source": "card"}, headers=headers)

    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    seen = read(http, f"/v1/invoices/{acme.invoices[0]}", first.json()["position"]).json()
    assert len(seen["payments"]) == 1


def test_r_x5_a_key_reused_for_another_command_or_invoice_is_refused(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime, lines=2, cards=(GOOD_CARD,))
    first, second = acme.invoices
    headers = {"Idempotency-Key": "used-once"}
    charged = http.post(f"/v1/invoices/{first}/payments", json={"source": "card"}, headers=headers)
    events = event_count(runtime)

    refund = http.post(
        f"/v1/invoices/{first}/refunds",
        json={"payment_id": charged.json()["payment_id"], "amount": usd(100), "reason": "Oops"},
        headers=headers,
    )
    elsewhere = http.post(f"/v1/invoices/{second}/charge", json={}, headers=headers)

    assert charged.status_code == 201
    for response in (refund, elsewhere):
        assert response.status_code == 422
        assert response.json()["code"] == "idempotency_key_reused"
    assert event_count(runtime) == events


def test_r_x5_a_key_recorded_before_answers_carried_the_currency_replays_as_it_answered(
    http: httpx.Client, runtime: Runtime
) -> None:
    """An answer in the command log as an older release wrote it (no currency, no number):
    the replay answers the same body, completed by the ledger, and writes nothing."""
    acme = open_partner(runtime)
    path = f"/v1/invoices/{acme.invoices[0]}/void"
    body = {"reason": "Issued to the wrong client"}
    headers = {"Idempotency-Key": "void-before-the-upgrade"}
    first = http.post(path, json=body, headers=headers)
    with runtime.database.connect() as conn:
        rewritten = conn.execute(
            "UPDATE command_log SET response = response - 'currency' - 'number' WHERE key LIKE %s",
            ("%void-before-the-upgrade",),
        ).rowcount
    events = event_count(runtime)

    again = http.post(path, json=body, headers=headers)

    assert (first.status_code, rewritten) == (201, 1)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert again.json() == first.json()
    assert event_count(runtime) == events


# --- partner scoping (R-C8) --------------------------------------------------------------


def test_r_c8_a_partner_key_sees_its_own_invoices_and_another_partners_are_not_there(
    runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    acme = open_partner(runtime, "Acme")
    other = open_partner(runtime, "Globex")
    mine = client_for(make_key("partner", acme.id))
    theirs = other.invoices[0]
    missing = uuid4()
    refund = {"payment_id": str(uuid4()), "amount": usd(100), "reason": "Goodwill"}
    before = event_count(runtime)
    with runtime.database.connect() as conn:
        written = head_position(conn)  # the invoices' events: read once the model has them

    own = mine.get(
        f"/v1/invoices/{acme.invoices[0]}", params={"min_position": written, "wait_ms": 5000}
    )
    reaching = {
        "read": (mine.get(f"/v1/invoices/{theirs}"), mine.get(f"/v1/invoices/{missing}")),
        "pdf": (mine.get(f"/v1/invoices/{theirs}/pdf"), mine.get(f"/v1/invoices/{missing}/pdf")),
        "pay": (
            mine.post(f"/v1/invoices/{theirs}/payments", json={"source": "cash"}),
            mine.post(f"/v1/invoices/{missing}/payments", json={"source": "cash"}),
        ),
        "document": (
            mine.post(f"/v1/invoices/{theirs}/closing-documents"),
            mine.post(f"/v1/invoices/{missing}/closing-documents"),
        ),
        "charge": (  # decided in the ledger's workflow, before the processor is called
            mine.post(f"/v1/invoices/{theirs}/charge", json={}),
            mine.post(f"/v1/invoices/{missing}/charge", json={}),
        ),
        "refund": (
            mine.post(f"/v1/invoices/{theirs}/refunds", json=refund),
            mine.post(f"/v1/invoices/{missing}/refunds", json=refund),
        ),
    }

    assert own.status_code == 200
    assert own.json()["partner_id"] == str(acme.id)
    for what, (another, random) in reaching.items():
        assert another.status_code == random.status_code == 404, what
        assert another.json()["code"] == random.json()["code"] == "invoice_not_found", what
        assert another.json()["detail"] == f"No invoice {theirs}.", what
    assert event_count(runtime) == before
    listed = mine.get("/v1/invoices", params={"min_position": written}).json()
    assert [item["id"] for item in listed["items"]] == [str(acme.invoices[0])]
    assert mine.get("/v1/invoices", params={"partner_id": str(other.id)}).status_code == 404


def test_r_c8_another_partners_closing_document_answers_404_like_a_random_id(
    http: httpx.Client, runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    acme = open_partner(runtime, "Acme")
    other = open_partner(runtime, "Globex")
    paid(http, acme.invoices[0], {"source": "bank_transfer"})
    answer = http.post(f"/v1/invoices/{acme.invoices[0]}/closing-documents").json()
    read(http, f"/v1/closing-documents/{answer['document_id']}", answer["position"])
    mine = client_for(make_key("partner", acme.id))
    stranger = client_for(make_key("partner", other.id))

    assert mine.get(f"/v1/closing-documents/{answer['document_id']}").status_code == 200
    for suffix in ("", "/pdf"):
        another = stranger.get(f"/v1/closing-documents/{answer['document_id']}{suffix}")
        random = stranger.get(f"/v1/closing-documents/{uuid4()}{suffix}")
        assert another.status_code == random.status_code == 404
        assert another.json()["code"] == random.json()["code"] == "closing_document_not_found"


def test_finance_and_auditor_keys_read_invoices_but_issue_no_commands(
    runtime: Runtime, client_for: Client, make_key: MakeKey
) -> None:
    acme = open_partner(runtime)
    for role in ("finance", "auditor"):
        reader = client_for(make_key(role))
        read(reader, f"/v1/invoices/{acme.invoices[0]}", event_count(runtime))
        refused = reader.post(f"/v1/invoices/{acme.invoices[0]}/payments", json={"source": "cash"})
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"


# --- lists -------------------------------------------------------------------------------


def test_r_o5_a_partners_invoices_come_in_pages_newest_first(
    http: httpx.Client, runtime: Runtime
) -> None:
    acme = open_partner(runtime, lines=3)
    last = paid(http, acme.invoices[2], {"source": "cash"})["position"]

    first = read(http, "/v1/invoices", last, partner_id=str(acme.id), limit=2).json()
    second = http.get(
        "/v1/invoices",
        params={"partner_id": str(acme.id), "limit": 2, "cursor": first["next_cursor"]},
    ).json()

    numbers = [item["number"] for item in first["items"] + second["items"]]
    assert numbers == ["INV-2026-000003", "INV-2026-000002", "INV-2026-000001"]
    assert second["next_cursor"] is None
    assert http.get("/v1/invoices").json()["code"] == "invalid_value"  # whose, for an admin?


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"source": "cash", "amount": usd(-100)}, "validation_failed"),
        ({"source": "cash", "amount": usd(0)}, "validation_failed"),
        ({"source": "gold"}, "validation_failed"),
        (
            {"source": "cash", "amount": {"amount_minor": 10.5, "currency": "USD"}},
            "validation_failed",
        ),
        ({"source": "card", "amount": usd(100)}, "validation_failed"),
        ({"source": "cash", "method_id": str(uuid4())}, "validation_failed"),
        ({"source": "cash", "reference": "a\x00b"}, "validation_failed"),
        ({"source": "cash", "reference": "x" * 201}, "validation_failed"),
        ({"source": "cash", "surprise": 1}, "validation_failed"),
        (
            {"source": "cash", "amount": {"amount_minor": 100, "currency": "XYZ"}},
            "currency_unknown",
        ),
        (
            {"source": "cash", "amount": {"amount_minor": 100, "currency": "EUR"}},
            "currency_mismatch",
        ),
        ({"source": "cash", "reference": "card 4242 4242 4242 4242"}, "card_number_in_text"),
        ({"source": "cash", "amount": usd(SIGNATURES + 1)}, "overpayment"),
    ],
)
def test_bad_payment_input_is_a_problem_and_writes_nothing(
    http: httpx.Client, runtime: Runtime, body: dict[str, Any], code: str
) -> None:
    acme = open_partner(runtime)
    before = event_count(runtime)

    response = http.post(f"/v1/invoices/{acme.invoices[0]}/payments", json=body)

    assert response.status_code in (409, 422)
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code
    assert "4242 4242 4242 4242" not in response.text
    assert event_count(runtime) == before


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        encode_cursor(["2026-01-31"]),
        encode_cursor(["yesterday", "INV-2026-000001"]),
        encode_cursor(["2026-01-31", 7]),
        encode_cursor(["2026-01-31", "INV\x00"]),
    ],
)
def test_a_forged_cursor_is_a_422_problem(
    http: httpx.Client, runtime: Runtime, cursor: str
) -> None:
    acme = open_partner(runtime, lines=0)

    response = http.get("/v1/invoices", params={"partner_id": str(acme.id), "cursor": cursor})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_value"


def test_an_unknown_invoice_or_document_is_a_404_problem(http: httpx.Client) -> None:
    missing = uuid4()
    for path, code in (
        (f"/v1/invoices/{missing}", "invoice_not_found"),
        (f"/v1/invoices/{missing}/pdf", "invoice_not_found"),
        (f"/v1/closing-documents/{missing}", "closing_document_not_found"),
    ):
        response = http.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == code
    refund = http.post(
        f"/v1/invoices/{missing}/refunds",
        json={"payment_id": str(uuid4()), "amount": usd(100), "reason": "Goodwill"},
    )
    assert refund.json()["code"] == "invoice_not_found"


def test_every_route_is_in_the_openapi_document(http: httpx.Client) -> None:
    paths = set(http.get("/openapi.json").json()["paths"])
    assert {
        "/v1/invoices",
        "/v1/invoices/{invoice_id}",
        "/v1/invoices/{invoice_id}/pdf",
        "/v1/invoices/{invoice_id}/payments",
        "/v1/invoices/{invoice_id}/charge",
        "/v1/invoices/{invoice_id}/mark-pending-paid",
        "/v1/invoices/{invoice_id}/refunds",
        "/v1/invoices/{invoice_id}/void",
        "/v1/invoices/{invoice_id}/credit-notes",
        "/v1/invoices/{invoice_id}/closing-documents",
        "/v1/closing-documents/{document_id}",
        "/v1/closing-documents/{document_id}/pdf",
        "/v1/ledger/trial-balance",
        "/v1/projections/status",
    } <= paths
