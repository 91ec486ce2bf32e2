"""Who may do what: every route of the API, walked with every role, over real HTTP.

Two partners, Acme and Bolt, each with a card, a client, a line, a paid invoice and its closing
document. Every route is called, with the example body its OpenAPI entry gives (ids in it
pointed at the partner in question):

- with no key, and with an unknown one: 401;
- with an admin key on Acme's resources: never 401 or 403;
- with finance and auditor keys: reads answer (the audit routes: auditor keys only), commands
  are 403;
- with Acme's partner key on Acme's resources: reads answer, commands are not refused for
  authority (vendor-only commands and reads that span every partner are 403);
- with Acme's partner key on Bolt's resources: exactly the problem a random id gets (404),
  never a 403 that would confirm the id exists.

The routes come from the application itself, so a route added later is walked too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from api.app import _routes, openapi_document
from api.runtime import Runtime
from api.security import Access, access
from domain.money import Money
from domain.payment_methods import CardDetails, PaymentSource
from domain.values import Location
from ledger.database import Database
from ledger.settings import Environment, Settings
from tests.support import AUTH_FAILURES_UNLIMITED, caught_up

CARD = CardDetails("4242424242424242", 12, 2030, "Ada Lovelace", "123", "10001")
PATH_PARAM = re.compile(r"{(\w+)}")
LIST_FILTERS = {"/v1/invoices": "partner_id", "/v1/lines": "client_id"}
"""Lists that name whose items to list in the query: the id walked with is that parameter."""
QUERIES = {"/v1/audit/partners/{partner_id}": {"as_of": "2100-01-01T00:00:00Z"}}
"""Reads that need a query to answer at all (the moment an audit looks at: issue 14)."""
DECLARED = {
    ("GET", "/v1/partners/{partner_id}/state"): Access.CALLER,
    ("GET", "/v1/partners/{partner_id}/schedule"): Access.CALLER,
    ("GET", "/v1/partners/{partner_id}/clients"): Access.CALLER,
    ("GET", "/v1/partners/{partner_id}/e-mails"): Access.CALLER,
    ("GET", "/v1/partners/{partner_id}/invoices"): Access.CALLER,
    ("GET", "/v1/lines"): Access.CALLER,
    ("POST", "/v1/partners/{partner_id}/wallet/credits"): Access.ADMIN,
}
"""Routes pinned to the access they must declare: the walk below takes each route's access
from its dependencies, so a route declaring too much would be walked as if it were right."""
SHARED_READS = frozenset(
    {
        ("GET", "/v1/products"),
        ("GET", "/v1/products/{code}"),
        ("GET", "/v1/policy"),
        ("GET", "/v1/policy/versions"),
    }
)
"""Reads of what no partner owns: the catalogue and the billing policy (issue 13), the same
to every key."""
OWN_PARTNER_BODIES = {
    # Each reseller consents only for itself (R-E2): the line's own partner, as the current one.
    ("POST", "/v1/lines/{line_id}/transfers/consents"): {"party": "current_reseller"},
    # A partner announces money sent outside the gateway; only the vendor records it (R-H2).
    ("POST", "/v1/invoices/{invoice_id}/payments"): {"source": "card"},
    ("POST", "/v1/partners/{partner_id}/top-ups"): {
        "amount": {"amount_minor": 20000, "currency": "USD"},
        "source": "card",
    },
}


@dataclass(frozen=True)
class Resources:
    """One partner's resources, by the names the API's paths and bodies give their ids."""

    ids: dict[str, UUID | str]


@dataclass(frozen=True)
class Call:
    method: str
    template: str
    access: Access
    body: dict[str, Any] | None


def build(runtime: Runtime, name: str) -> Resources:
    ledger = runtime.ledger
    partner = ledger.open_partner_account(name=name, currency="USD", time_zone="UTC").aggregate_id
    assert partner is not None
    method = UUID(ledger.add_payment_method(partner, CARD, make_default=True).data["method_id"])
    client = ledger.register_client(partner, name=f"{name} client", unified_billing=False)
    assert client.aggregate_id is not None
    location = Location(uuid.uuid4(), f"{name} main street")
    line = ledger.create_line(
        partner, client.aggregate_id, "email-signatures", locations=(location,)
    ).aggregate_id
    assert line is not None
    invoice = UUID(ledger.activate_line(line).data["invoice_id"])
    payment = ledger.pay_invoice(invoice, PaymentSource.BANK_TRANSFER, reference="Wire 1")
    document = ledger.request_closing_document(invoice).data["document_id"]
    top_up = ledger.announce_top_up(partner, Money(100_00, "USD"), "Wire 2").data["top_up_id"]
    clock = ledger.test_clocks.create(f"{name} clock", datetime(2027, 1, 1, tzinfo=UTC))
    return Resources(
        {
            "partner_id": partner,
            "client_id": client.aggregate_id,
            "line_id": line,
            "location_id": location.location_id,
            "invoice_id": invoice,
            "payment_id": UUID(payment.data["payment_id"]),
            "document_id": UUID(document),
            "method_id": method,
            "top_up_id": UUID(top_up),
            "code": "pos-location",
            "clock_id": clock.aggregate_id,
        }
    )


def random_resources() -> Resources:
    names = ("partner_id", "client_id", "line_id", "location_id", "invoice_id", "payment_id")
    more = ("document_id", "method_id", "top_up_id", "clock_id")
    return Resources({name: uuid.uuid4() for name in (*names, *more, "code")})


def calls() -> list[Call]:
    """Every `/v1` route, with the first example body of its OpenAPI entry."""
    document = openapi_document()
    found = []
    for context in iter_route_contexts(_routes().routes):
        route = context.original_route
        path = context.path or ""
        if not isinstance(route, APIRoute) or not path.startswith("/v1"):
            continue
        for method in sorted(route.methods):
            operation = document["paths"][path][method.lower()]
            found.append(Call(method, path, access(route), example_body(document, operation)))
    return found


def example_body(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    schema = content["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    examples = schema.get("examples") or [{}]
    body: dict[str, Any] = examples[0]
    return body


def pointed(value: Any, resources: Resources) -> Any:
    """The example body with every id it names pointed at `resources`."""
    if isinstance(value, dict):
        return {
            key: (
                str(resources.ids[key])
                if key in resources.ids and isinstance(item, str)
                else pointed(item, resources)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [pointed(item, resources) for item in value]
    return value


def send(http: httpx.Client, call: Call, resources: Resources) -> httpx.Response:
    path = PATH_PARAM.sub(lambda match: str(resources.ids[match.group(1)]), call.template)
    params = dict(QUERIES.get(call.template, {}))
    if call.method == "GET" and call.template in LIST_FILTERS:
        name = LIST_FILTERS[call.template]
        params = {name: str(resources.ids[name])}
    if call.method == "GET":
        return http.get(path, params=params)
    body = pointed(call.body, resources) if call.body is not None else None
    return http.request(call.method, path, json=body)


def label(call: Call) -> str:
    return f"{call.method} {call.template}"


def code(response: httpx.Response) -> tuple[int, str | None]:
    body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
    return response.status_code, body.get("code") if isinstance(body, dict) else None


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """The walk sends two requests without a valid key per route, all from one address: the
    answer under test is their 401, not the failed-key limit's 429 (test_key_checks.py)."""
    return Settings(
        database_url=database.url,
        environment=Environment.TEST,
        db_pool_size=4,
        auth_failures_per_minute=AUTH_FAILURES_UNLIMITED,
        home=tmp_path,
    )


def test_every_route_answers_each_role_as_its_access_says(
    runtime: Runtime,
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    acme, bolt, nobody = build(runtime, "Acme"), build(runtime, "Bolt"), random_resources()
    caught_up(runtime)
    admin = client_for(make_key("admin"))
    finance = client_for(make_key("finance"))
    auditor = client_for(make_key("auditor"))
    partner = client_for(make_key("partner", acme.ids["partner_id"]))
    anonymous = client_for(None)
    forged = client_for("ll_0123456789abcdef_" + "x" * 43)
    every = calls()
    assert len(every) >= 50  # the whole surface, not a part of it
    wrong: list[str] = []

    def expect(ok: bool, what: str, call: Call, response: httpx.Response) -> None:
        if not ok:
            wrong.append(f"{label(call)} {what}: {response.status_code} {response.text[:160]}")

    # Reads first (commands change what they read), then commands, with every role.
    for call in sorted(every, key=lambda c: c.method != "GET"):
        for anyone in (anonymous, forged):
            response = send(anyone, call, acme)
            expect(response.status_code == 401, "without a valid key", call, response)
        reading = call.method == "GET"
        for reader in (finance, auditor):
            response = send(reader, call, acme)
            if call.access is Access.AUDITOR and reader is finance:
                expect(response.status_code == 403, "for finance", call, response)
            elif reading:
                expect(response.status_code == 200, "for finance/auditor", call, response)
            elif call.access is Access.RECEIVER and reader is finance:
                expect(response.status_code not in (401, 403), "for finance", call, response)
            else:
                expect(response.status_code == 403, "for finance/auditor", call, response)
        as_owner = OWN_PARTNER_BODIES.get((call.method, call.template), call.body)
        owner_call = Call(call.method, call.template, call.access, as_owner)
        theirs, unknown = send(partner, owner_call, bolt), send(partner, owner_call, nobody)
        own = send(partner, owner_call, acme)
        if call.access in (Access.ADMIN, Access.OVERSEER, Access.RECEIVER, Access.AUDITOR):
            expect(own.status_code == 403, "for a partner key", call, own)
            expect(theirs.status_code == 403, "for a partner key on another", call, theirs)
        elif call.template in ("/v1/partners", "/v1/lines") and call.method == "POST":
            pass  # opening a partner is admin-only; creating a line names its partner below
        elif (call.method, call.template) in SHARED_READS:
            # The vendor's terms are every partner's to read; they name no partner (an unknown
            # product code is not found, whoever asks).
            seen_by = (own, theirs) if "{" in call.template else (own, theirs, unknown)
            for seen in seen_by:
                expect(seen.status_code == 200, "for every partner key", call, seen)
        elif call.template == "/v1/partners" and reading:
            listed = [item["id"] for item in own.json()["items"]]
            expect(listed == [str(acme.ids["partner_id"])], "lists only its own", call, own)
        else:
            if reading:
                expect(own.status_code == 200, "for its own partner key", call, own)
            else:
                expect(own.status_code not in (401, 403), "for its own partner key", call, own)
            expect(
                theirs.status_code == 404 and code(theirs) == code(unknown),
                f"on another partner's ids (a random id gets {code(unknown)})",
                call,
                theirs,
            )
        response = send(admin, call, acme)
        if reading:
            expect(response.status_code == 200, "for admin", call, response)
        else:
            expect(response.status_code not in (401, 403), "for admin", call, response)
        expect(response.status_code < 500, "never a 5xx", call, response)
    assert wrong == []


def test_pinned_routes_declare_the_access_they_must() -> None:
    declared = {(c.method, c.template): c.access for c in calls()}
    assert {route: declared.get(route) for route in DECLARED} == DECLARED


@pytest.mark.parametrize("role", ["finance", "auditor", "partner"])
def test_only_an_admin_opens_a_partner_account(
    role: str,
    runtime: Runtime,
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    acme = build(runtime, "Acme")
    key = make_key(role, acme.ids["partner_id"] if role == "partner" else None)
    body = {"name": "Someone", "currency": "USD", "time_zone": "UTC"}
    refused = client_for(key).post("/v1/partners", json=body)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert client_for(make_key("admin")).post("/v1/partners", json=body).status_code == 201


def test_a_partner_key_creates_lines_for_itself_and_not_for_another(
    runtime: Runtime,
    client_for: Callable[[str | None], httpx.Client],
    make_key: Callable[..., str],
) -> None:
    acme, bolt = build(runtime, "Acme"), build(runtime, "Bolt")
    caught_up(runtime)
    partner = client_for(make_key("partner", acme.ids["partner_id"]))
    [create] = [c for c in calls() if (c.method, c.template) == ("POST", "/v1/lines")]
    assert create.body is not None
    own = partner.post("/v1/lines", json=pointed(create.body, acme))
    theirs = partner.post("/v1/lines", json=pointed(create.body, bolt))
    unknown = partner.post("/v1/lines", json=pointed(create.body, random_resources()))
    assert own.status_code == 201, own.text
    assert theirs.status_code == 404
    assert code(theirs) == code(unknown) == (404, "partner_not_found")
