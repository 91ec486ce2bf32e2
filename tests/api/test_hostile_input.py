"""Hostile input over real HTTP, for every operation of the API's own OpenAPI document.

Every command (POST) gets hypothesis-built bodies from its request schema with hostile values
in its fields (amounts past every bound, far and impossible dates, ids that are not UUIDs,
NUL bytes, lone surrogates, direction marks, a megabyte of text, wrong types, missing and
unknown fields), hostile path ids and idempotency keys, and bodies no encoder writes
(oversized, invalid JSON, not UTF-8, nested past any parser's limit, the wrong Content-Type).
Every query (GET with parameters) gets far and malformed positions, dates, limits and forged
cursors. Whatever is sent: never a 5xx; every 4xx is a problem with a stable code; and a 4xx
writes nothing, down to the last row of the events, idempotency, outbox and number tables.

The examples per operation are few, so the file costs a few seconds of `make test`;
LEDGERLINE_SOAK=1 tries many more (see SOAK_EXAMPLES_PER_OPERATION).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings

from api.runtime import Runtime
from domain.money import BALANCE_MAX_MINOR, Money
from domain.payment_methods import CardDetails, PaymentSource
from domain.pricing import PriceUnit
from domain.values import Location
from ledger.commands.catalogue import CreateProduct
from ledger.database import Database
from tests.api.hostile import (
    HostileCommand,
    Operation,
    assert_a_problem_not_a_crash,
    digest_of,
    encoded,
    hostile_commands,
    hostile_queries,
    operations,
    text_fields,
    url_of,
    with_value,
)
from tests.api.hostile_values import Json, raw_bodies
from tests.support import SOAK, served_ledger

EXAMPLES_PER_OPERATION = 4
"""Hostile requests per operation in `make test` (about 15 ms each, server side included):
some 250 commands and 100 queries, about 4 s of CPU for the file with the rest."""
SOAK_EXAMPLES_PER_OPERATION = 300
EXAMPLES = SOAK_EXAMPLES_PER_OPERATION if SOAK else EXAMPLES_PER_OPERATION
GOOD_CARD = CardDetails("4242424242424242", 12, 2030, "Ada Lovelace", "123", "10001")

OPERATIONS = operations()
COMMANDS = [op for op in OPERATIONS if op.method == "POST"]
QUERIES = [op for op in OPERATIONS if op.method == "GET" and op.query_params]
COMMANDS_WITH_BODIES = [op for op in COMMANDS if op.body_schema is not None]
HOSTILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not SOAK,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class World:
    """A served Ledgerline with something of every kind in it, and an admin client."""

    runtime: Runtime
    conn: psycopg.Connection[Any]
    """A connection of the test's own, to read what was written."""
    http: httpx.Client
    ids: dict[str, str]
    """Real ids by the names paths and bodies give them (`partner_id`, `line_id`, …)."""

    def path_ids(self, operation: Operation) -> dict[str, str]:
        """Real ids for the path: the resource each command acts on in its usual state."""
        verb = operation.path.rsplit("/", 1)[-1]
        ids = dict(self.ids)
        if verb in ("send", "accept", "activate"):
            ids["line_id"] = self.ids["draft_line_id"]
        elif verb == "leads":
            ids["line_id"] = self.ids["lead_line_id"]
        elif verb in ("refunds", "closing-documents"):
            ids["invoice_id"] = self.ids["paid_invoice_id"]
        return {name: ids[name] for name in operation.path_params}

    def baseline(self, operation: Operation) -> Json:
        """The operation's documented example with real ids (new ones where it creates)."""
        return _with_ids(operation.body_example, self.ids)


SUBSTITUTES = {
    "current_reseller_id": "partner_id",
    "new_reseller_id": "other_partner_id",
    "payment_id": "card_payment_id",
}
FRESH = ("location_id", "lead_id")


def _with_ids(value: Json, ids: dict[str, str]) -> Json:
    if isinstance(value, dict):
        out = {}
        for name, item in value.items():
            if name in FRESH:
                out[name] = str(uuid4())
            elif isinstance(item, str) and (real := SUBSTITUTES.get(name, name)) in ids:
                out[name] = ids[real]
            else:
                out[name] = _with_ids(item, ids)
        return out
    if isinstance(value, list):
        return [_with_ids(item, ids) for item in value]
    return value


def _build(runtime: Runtime) -> dict[str, str]:
    """A partner with a card, a client, lines in each state, open and paid invoices, an
    announced top-up and payment, a closing document, and another partner."""
    ledger = runtime.ledger

    def made(result_id: UUID | None) -> str:
        assert result_id is not None
        return str(result_id)

    partner = UUID(
        made(ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC").aggregate_id)
    )
    other = made(
        ledger.open_partner_account(name="Beta", currency="USD", time_zone="UTC").aggregate_id
    )
    method = ledger.add_payment_method(partner, GOOD_CARD, make_default=True).data["method_id"]
    client = UUID(
        made(ledger.register_client(partner, name="Whitfield", unified_billing=False).aggregate_id)
    )
    location = Location(uuid4(), "Downtown")
    line = UUID(
        made(
            ledger.create_line(partner, client, "pos-location", locations=(location,)).aggregate_id
        )
    )
    invoice = ledger.activate_line(line).data["invoice_id"]
    draft = made(ledger.create_line(partner, client, "email-signatures").aggregate_id)
    lead_line = UUID(made(ledger.create_line(partner, client, "lead").aggregate_id))
    ledger.activate_line(lead_line)
    paid_line = UUID(made(ledger.create_line(partner, client, "messaging-line").aggregate_id))
    paid_invoice = UUID(ledger.activate_line(paid_line).data["invoice_id"])
    card_payment = ledger.pay_invoice(paid_invoice, PaymentSource.CARD).data["payment_id"]
    document = ledger.request_closing_document(paid_invoice).data["document_id"]
    top_up = ledger.announce_top_up(partner, Money(5000, "USD"), "W1").data["top_up_id"]
    payment = ledger.announce_payment(UUID(invoice), PaymentSource.BANK_TRANSFER, "W2").data[
        "payment_id"
    ]
    # A product of its own: commands on `/v1/products/{code}` (a retirement) leave the shipped
    # products, which the other operations' examples sell, as they are.
    ledger.execute(CreateProduct(code="spare", names=(("en", "Spare"),), unit=PriceUnit.PER_LINE))
    # A test clock with no partner: its advances, accepted, are done before they answer.
    clock = ledger.test_clocks.create("Hostile", datetime(2027, 1, 1, tzinfo=UTC)).aggregate_id
    return {
        "code": "spare",
        "partner_id": str(partner),
        "other_partner_id": other,
        "client_id": str(client),
        "method_id": method,
        "location_id": str(location.location_id),
        "line_id": str(line),
        "draft_line_id": draft,
        "lead_line_id": str(lead_line),
        "invoice_id": invoice,
        "paid_invoice_id": str(paid_invoice),
        "card_payment_id": card_payment,
        "document_id": document,
        "top_up_id": top_up,
        "payment_id": payment,
        "clock_id": made(clock),
    }


@pytest.fixture(scope="module")
def world(postgres_server: Database, template_database: str) -> Iterator[World]:
    with (
        served_ledger(postgres_server, template_database, label="hostile") as ledger,
        ledger.runtime.database.connect() as conn,
        httpx.Client(
            base_url=ledger.base_url,
            timeout=30,
            headers={"Authorization": f"Bearer {ledger.admin_key}"},
        ) as http,
    ):
        yield World(ledger.runtime, conn, http, _build(ledger.runtime))


def _send(world: World, operation: Operation, request: HostileCommand) -> httpx.Response:
    return world.http.post(
        url_of(operation, request.path_ids),
        content=encoded(request.body) if request.body is not None else b"",
        headers=[
            (b"Content-Type", b"application/json"),
            (b"Idempotency-Key", request.idempotency_key),
        ],
    )


@pytest.mark.parametrize("operation", COMMANDS, ids=lambda op: op.id)
def test_a_hostile_command_is_a_problem_never_a_5xx_and_a_refusal_writes_nothing(
    world: World, operation: Operation
) -> None:
    baseline = world.baseline(operation)
    path_ids = world.path_ids(operation)

    @HOSTILE
    @given(request=hostile_commands(operation, baseline, path_ids))
    def hostile(request: HostileCommand) -> None:
        before = digest_of(world.conn)
        response = _send(world, operation, request)
        assert_a_problem_not_a_crash(response, request.what)
        if response.status_code >= 400:
            assert digest_of(world.conn) == before, (request.what, response.json())

    hostile()
    assert world.runtime.projectors[0].failure is None


RAW_BODY_ROTATION = 1 if SOAK else 4
"""Each command gets every fourth raw body (in turn: the next command the next ones), so
every raw body reaches some seven commands; LEDGERLINE_SOAK=1 sends each to every command.
The JSON parsing and the body limit are the same code for every route."""


@pytest.mark.parametrize(
    ("index", "operation"),
    list(enumerate(COMMANDS_WITH_BODIES)),
    ids=[op.id for op in COMMANDS_WITH_BODIES],
)
def test_a_body_no_encoder_writes_is_a_problem_never_a_5xx_and_writes_nothing(
    world: World, index: int, operation: Operation
) -> None:
    path = url_of(operation, world.path_ids(operation))
    valid = encoded(world.baseline(operation))
    rotation = index % RAW_BODY_ROTATION
    for raw in raw_bodies(valid, operation.body_required)[rotation::RAW_BODY_ROTATION]:
        headers = {"Idempotency-Key": str(uuid4())}
        if raw.content_type is not None:
            headers["Content-Type"] = raw.content_type
        before = digest_of(world.conn)
        response = world.http.post(path, content=raw.content, headers=headers)
        assert_a_problem_not_a_crash(response, raw.what)
        if raw.refused:
            assert response.status_code >= 400, raw.what
        if response.status_code >= 400:
            assert digest_of(world.conn) == before, raw.what
        if raw.what.startswith("oversized"):
            assert (response.status_code, response.json()["code"]) == (413, "body_too_large")


UNHOLDABLE_TEXT = {"NUL": "nul\x00here", "a lone surrogate": "half \ud800 a pair"}
"""Text PostgreSQL cannot hold (text and jsonb refuse NUL) and UTF-8 cannot encode."""


def test_text_no_row_can_hold_is_a_422_problem_in_every_free_text_field_of_every_command(
    world: World,
) -> None:
    """Every free-text field of every command's documented example, in turn, holds a NUL or
    a lone surrogate: a 422 problem naming the field, never the database's error."""
    tried = 0
    for operation in COMMANDS_WITH_BODIES:
        baseline = world.baseline(operation)
        path = url_of(operation, world.path_ids(operation))
        for place in text_fields(operation, baseline):
            for what, text in UNHOLDABLE_TEXT.items():
                before = digest_of(world.conn)
                response = world.http.post(
                    path,
                    content=encoded(with_value(baseline, place, text)),
                    headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid4())},
                )
                assert_a_problem_not_a_crash(response, (operation.id, place, what))
                assert response.status_code == 422, (operation.id, place, what, response.text)
                assert digest_of(world.conn) == before
                tried += 1
    assert tried >= 40  # the commands' examples hold that many text fields


@pytest.mark.parametrize("operation", QUERIES, ids=lambda op: op.id)
def test_a_hostile_query_is_a_problem_never_a_5xx(world: World, operation: Operation) -> None:
    @HOSTILE
    @given(query=hostile_queries(operation, world.path_ids(operation)))
    def hostile(query: tuple[dict[str, str], dict[str, str]]) -> None:
        path_ids, params = query
        response = world.http.get(url_of(operation, path_ids), params=params)
        assert_a_problem_not_a_crash(response, params)

    hostile()


@pytest.mark.parametrize(
    ("route", "extra"),
    [
        ("top-ups", {"source": "bank_transfer"}),
        ("top-up-announcements", {}),
    ],
)
def test_r_x1_r_c2_top_ups_that_each_fit_but_sum_past_the_balance_bound_are_refused_unwritten(
    world: World, route: str, extra: dict[str, str]
) -> None:
    """Each top-up is within one amount's bound; the second and third would take the balance
    (or the announced, unconfirmed top-ups) past BALANCE_MAX_MINOR: refused before a write."""
    partner = world.http.post(
        "/v1/partners",
        json={"name": "Sum", "currency": "USD", "time_zone": "UTC"},
        headers={"Idempotency-Key": str(uuid4())},
    ).json()["id"]
    half = BALANCE_MAX_MINOR // 2 + 1
    answers = []
    for n in range(3):
        before = digest_of(world.conn)
        answers.append(
            world.http.post(
                f"/v1/partners/{partner}/{route}",
                json={
                    "amount": {"amount_minor": half, "currency": "USD"},
                    "reference": f"wire {n}",
                    **extra,
                },
                headers={"Idempotency-Key": str(uuid4())},
            )
        )
        if answers[-1].status_code != 201:
            assert digest_of(world.conn) == before

    assert [a.status_code for a in answers] == [201, 422, 422]
    assert {a.json()["code"] for a in answers[1:]} == {"amount_too_large"}
    assert {a.json()["limit_minor"] for a in answers[1:]} == {BALANCE_MAX_MINOR}


def test_a_body_at_the_limit_is_read_and_one_byte_more_is_a_413_on_a_connection_that_lives_on(
    world: World,
) -> None:
    """Sends two 8 MiB bodies (about 0.1 s): the bound is exact, and a refused body is read
    and dropped by the server, so the client's next request on the same connection is served."""
    limit = world.runtime.settings.http_body_max_bytes
    prefix, suffix = b'{"name": "', b'", "currency": "USD", "time_zone": "UTC"}'
    at_limit = prefix + b"a" * (limit - len(prefix) - len(suffix)) + suffix
    address = urlsplit(str(world.http.base_url))
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    headers = {
        "Authorization": world.http.headers["Authorization"],
        "Content-Type": "application/json",
    }
    try:
        answers = []
        for body in (at_limit, at_limit + b" "):
            before = digest_of(world.conn)
            connection.request("POST", "/v1/partners", body, {**headers, "Idempotency-Key": "k"})
            answer = connection.getresponse()
            answers.append((answer.status, json.loads(answer.read())["code"]))
            assert digest_of(world.conn) == before
        connection.request("GET", "/healthz")
        after = connection.getresponse()
        after.read()
    finally:
        connection.close()

    assert answers == [(422, "validation_failed"), (413, "body_too_large")]
    assert after.status == 200
