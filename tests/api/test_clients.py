"""`/v1/clients` over real HTTP: a partner's client, its overdue banner, its own invoices,
removal from unified billing, and who may see or do what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from api.runtime import Runtime
from domain.payment_methods import CardDetails
from domain.values import Payer
from ledger.schedule import Work
from tests.api.test_partners import (
    LINE_MINOR,
    PROBLEM,
    ClientFor,
    MakeKey,
    as_partner,
    event_count,
    head,
    issue_invoice,
    open_partner,
    register,
    same_404,
    usd,
)

DECLINED_CARD = CardDetails("4000000000000002", 12, 2030, "Jane Doe", "123", "10118")


def failed_line(runtime: Runtime, partner_id: UUID, client_id: UUID, key: str) -> UUID:
    """A client paying its own line by a card its bank declines: a failed payment (R-H2)."""
    line = runtime.ledger.create_line(
        partner_id, client_id, "messaging-line", payer=Payer.CLIENT, key=f"{key}/line"
    ).aggregate_id
    assert line is not None
    runtime.ledger.attach_line_card(line, DECLINED_CARD, key=f"{key}/card")
    runtime.ledger.activate_line(line, key=f"{key}/activate")
    return line


def overdue_line(runtime: Runtime, partner_id: UUID, client_id: UUID, key: str) -> UUID:
    """A client paying its own line by bank transfer, not collected by the due date (R-H2)."""
    line, invoice_id = issue_invoice(runtime, partner_id, client_id, key, payer=Payer.CLIENT)
    due_on = runtime.ledger.invoice(invoice_id).due_on
    runtime.ledger.do_scheduled_work(Work.MARK_OVERDUE, invoice_id, due_on + timedelta(days=1))
    return line


def test_a_client_is_read_by_admin_finance_auditor_and_its_own_partner(
    http: httpx.Client, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id, unified=True)
    expected = {
        "id": str(client_id),
        "partner_id": str(partner_id),
        "name": "Blue Bottle Cafe",
        "email": "owner@bluebottle.example",
        "unified_billing": True,
    }
    readers = [client_for(make_key(role)) for role in ("admin", "finance", "auditor")]
    for reader in [*readers, as_partner(client_for, make_key, partner_id)]:
        # Registered a moment ago, and read at once: no position to wait for is needed.
        response = reader.get(f"/v1/clients/{client_id}")
        assert response.status_code == 200
        assert response.json() == expected


def test_r_h2_r_h3_the_banner_totals_failed_and_overdue_lines_and_lists_them(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id)
    failed = failed_line(runtime, partner_id, client_id, "failed")
    overdue = overdue_line(runtime, partner_id, client_id, "overdue")
    partner = as_partner(client_for, make_key, partner_id)

    response = partner.get(
        f"/v1/clients/{client_id}/banner", params={"min_position": head(runtime)}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["client_id"], body["partner_id"]) == (str(client_id), str(partner_id))
    banner = body["banner"]
    assert (banner["links_to"], banner["line_id"]) == ("list", None)
    by_line = {line["line_id"]: line for line in banner["lines"]}
    assert set(by_line) == {str(failed), str(overdue)}
    assert by_line[str(failed)]["invoices"][0]["kind"] == "failed"
    assert by_line[str(failed)]["invoices"][0]["decline_code"] == "card_declined"
    assert by_line[str(overdue)]["invoices"][0]["kind"] == "overdue"
    assert banner["total"] == usd(sum(line["owed"]["amount_minor"] for line in banner["lines"]))
    assert banner["total"]["amount_minor"] >= 2 * LINE_MINOR


def test_r_h3_with_one_line_owing_the_banner_links_to_it_and_with_none_there_is_none(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    owing, clear = register(http, partner_id), register(http, partner_id)
    line = overdue_line(runtime, partner_id, owing, "overdue")
    at = {"min_position": head(runtime)}

    one = http.get(f"/v1/clients/{owing}/banner", params=at).json()["banner"]
    none = http.get(f"/v1/clients/{clear}/banner", params=at).json()

    assert (one["links_to"], one["line_id"]) == ("line", str(line))
    assert one["total"] == usd(LINE_MINOR)
    assert none == {"client_id": str(clear), "partner_id": str(partner_id), "banner": None}


def test_r_c8_a_clients_invoices_are_its_own_newest_first_a_page_at_a_time(
    http: httpx.Client, runtime: Runtime
) -> None:
    partner_id, _ = open_partner(http)
    client_id, neighbour = register(http, partner_id), register(http, partner_id)
    _, older = issue_invoice(runtime, partner_id, client_id, "one", payer=Payer.CLIENT)
    _, newer = issue_invoice(runtime, partner_id, client_id, "two", payer=Payer.CLIENT)
    issue_invoice(runtime, partner_id, neighbour, "neighbour", payer=Payer.CLIENT)
    path = f"/v1/clients/{client_id}/invoices"

    first = http.get(path, params={"limit": 1, "min_position": head(runtime)})
    second = http.get(path, params={"limit": 1, "cursor": first.json()["next_cursor"]})

    assert first.status_code == second.status_code == 200
    invoices = first.json()["items"] + second.json()["items"]
    assert [i["id"] for i in invoices] == [str(newer), str(older)]
    assert {(i["payer"], i["payer_id"]) for i in invoices} == {("client", str(client_id))}
    assert second.json()["next_cursor"] is None


def test_r_o4_a_partner_removes_its_client_from_unified_billing_once(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id, unified=True)
    partner = as_partner(client_for, make_key, partner_id)
    path = f"/v1/clients/{client_id}/remove-from-unified-billing"

    removed = partner.post(path, headers={"Idempotency-Key": "remove-1"})
    events = event_count(runtime)
    replayed = partner.post(path, headers={"Idempotency-Key": "remove-1"})
    again = partner.post(path)

    assert removed.status_code == 201
    assert removed.json()["id"] == str(client_id)
    assert removed.headers["location"] == f"/v1/clients/{client_id}"
    assert (replayed.json(), replayed.headers["idempotent-replayed"]) == (removed.json(), "true")
    assert event_count(runtime) == events
    assert (again.status_code, again.json()["code"]) == (409, "client_not_in_unified_billing")
    assert partner.get(f"/v1/clients/{client_id}").json()["unified_billing"] is False
    client = runtime.ledger.partner_account(partner_id).client(client_id)
    assert client.unified_billing is False


def test_r_o4_r_x5_a_removal_sent_again_after_its_lines_left_is_answered_as_the_first(
    http: httpx.Client, runtime: Runtime
) -> None:
    """The command names the client's lines in unified billing, read from the line index when
    it is built: sent again, after they left, it names none, yet it is the same request
    (R-X5). Found by the demo's second run, which was refused `idempotency_key_reused`."""
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id, unified=True)
    body = {
        "partner_id": str(partner_id),
        "client_id": str(client_id),
        "product_code": "pos-location",
        "unified_billing": True,
        "locations": [{"location_id": str(uuid4()), "name": "Downtown"}],
    }
    line = http.post("/v1/lines", json=body).json()["id"]
    assert http.post(f"/v1/lines/{line}/activate").status_code == 201
    path = f"/v1/clients/{client_id}/remove-from-unified-billing"

    removed = http.post(path, headers={"Idempotency-Key": "remove-with-line"})
    events = event_count(runtime)
    replayed = http.post(path, headers={"Idempotency-Key": "remove-with-line"})

    assert removed.status_code == 201, removed.text
    assert replayed.status_code == 201, replayed.text
    assert (replayed.json(), replayed.headers["idempotent-replayed"]) == (removed.json(), "true")
    assert event_count(runtime) == events
    assert runtime.ledger.line(UUID(line)).unified_billing is False


READS = ["", "/banner", "/invoices"]


def test_r_c8_another_partners_client_answers_as_a_missing_one_and_is_left_alone(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey
) -> None:
    mine, _ = open_partner(http, "Mine")
    theirs, _ = open_partner(http, "Theirs")
    their_client = register(http, theirs, unified=True)
    partner = as_partner(client_for, make_key, mine)
    missing = uuid4()
    events = event_count(runtime)

    for read in READS:
        other = partner.get(f"/v1/clients/{their_client}{read}")
        nowhere = partner.get(f"/v1/clients/{missing}{read}")
        same_404(other, nowhere, their_client, missing)
        assert other.json()["code"] == "client_not_found"
    path = "/v1/clients/{}/remove-from-unified-billing"
    same_404(
        partner.post(path.format(their_client)),
        partner.post(path.format(missing)),
        their_client,
        missing,
    )
    assert event_count(runtime) == events
    assert http.get(f"/v1/clients/{their_client}").json()["unified_billing"] is True


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_finance_and_auditors_read_clients_and_remove_none(
    http: httpx.Client, runtime: Runtime, client_for: ClientFor, make_key: MakeKey, role: str
) -> None:
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id, unified=True)
    reader = client_for(make_key(role))

    refused = reader.post(f"/v1/clients/{client_id}/remove-from-unified-billing")

    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    for read in READS:
        response = reader.get(f"/v1/clients/{client_id}{read}")
        assert response.status_code == 200, read
    assert runtime.ledger.partner_account(partner_id).client(client_id).unified_billing


@pytest.mark.parametrize("key", [None, "ll_0123456789abcdef_" + "y" * 43])
def test_no_key_or_a_wrong_key_is_401(
    http: httpx.Client, client_for: ClientFor, key: str | None
) -> None:
    partner_id, _ = open_partner(http)
    client_id = register(http, partner_id)
    anonymous = client_for(key)
    responses: list[Any] = [anonymous.get(f"/v1/clients/{client_id}{read}") for read in READS]
    responses.append(anonymous.post(f"/v1/clients/{client_id}/remove-from-unified-billing"))
    for response in responses:
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == "unauthorized"


def test_a_malformed_client_id_is_a_422_problem(http: httpx.Client) -> None:
    response = http.get("/v1/clients/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["path", "client_id"]
