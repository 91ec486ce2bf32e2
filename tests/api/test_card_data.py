"""R-X4 across the whole system: after a story of cards and a bank account over real HTTP, no
card number, CVV or bank account number is anywhere in the database or in the logs.

The story (once for the module): a card is added (typed with spaces), an ACH bank account,
a card with a wrong check digit is refused, an invoice is paid by card and partly refunded,
the card is replaced by another (typed with dashes), a declining card is made the default and
declines. The read models catch up, and every one is rebuilt beside the live one, so that
two generations of each exist. The app logs at DEBUG, in production's JSON, into a buffer.

Then every text, character, JSON and bytea column of every table in every schema of the
database (the events, snapshots, command log, outbox, API keys and every generation of every
read model, found in the catalogue, so a table added later is scanned too) and every log line
is searched for each number in any formatting (digits with or without spaces or dashes) and
for each CVV as a value of its own. The story costs about a second of CPU.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
import structlog
from psycopg import sql

from api import keys
from api.logs import configure_logging
from api.runtime import Runtime
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.settings import Environment, LogFormat, Settings
from projections.registry import all_projections
from replay.rebuild import rebuild_many
from tests.api.test_roles import caught_up
from tests.support import START, created_database, route_logs_to_pytest, served


def card(number: str, cvv: str) -> dict[str, Any]:
    return {
        "kind": "card",
        "number": number,
        "expiry_month": 12,
        "expiry_year": 2030,
        "holder": "Ada Lovelace",
        "cvv": cvv,
        "postal_code": "10001",
    }


FIRST_CARD = card("4242 4242 4242 4242", "739")
NEW_CARD = card("5555-5555-5555-4444", "862")
WRONG_DIGIT = card("4242424242424241", "517")
DECLINING = card("4000 0000 0000 0002", "946")
ACH = {
    "kind": "ach",
    "routing_number": "110000000",
    "account_number": "000123456789",
    "name_on_account": "Acme Resellers LLC",
}
NUMBERS = [c["number"] for c in (FIRST_CARD, NEW_CARD, WRONG_DIGIT, DECLINING)]
NUMBERS.append(str(ACH["account_number"]))
CVVS = [c["cvv"] for c in (FIRST_CARD, NEW_CARD, WRONG_DIGIT, DECLINING)]
SCANNED_TYPES = ("text", "character varying", "character", "json", "jsonb", "bytea")


def any_formatting(number: str) -> re.Pattern[str]:
    """The number's digits in order, with at most one space or dash between two of them."""
    digits = re.sub(r"\D", "", number)
    return re.compile("[ -]?".join(digits))


def alone(cvv: str) -> re.Pattern[str]:
    """A CVV as a value of its own, not three digits inside an id, a time or an amount."""
    return re.compile(rf"(?<![0-9A-Za-z]){cvv}(?![0-9A-Za-z])")


@dataclass(frozen=True)
class Story:
    """What the story left: the database it wrote to and every line its server logged."""

    database: Database
    logged: str
    answers: list[httpx.Response]


@pytest.fixture(scope="module")
def story(postgres_server: Database) -> Iterator[Story]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("debug", LogFormat.JSON, stream=buffer)
    # Loggers used now must not keep this configuration for the tests after this module.
    structlog.configure(cache_logger_on_first_use=False)
    try:
        with created_database(postgres_server) as database:
            settings = Settings(
                database_url=database.url, environment=Environment.TEST, db_pool_size=4
            )
            runtime = Runtime.start(settings, clock=SimulatedClock(START))
            try:
                runtime.start_projectors()
                answers = tell(runtime)
                caught_up(runtime)
                rebuild_many(database, all_projections(), workers=1)
                yield Story(database, buffer.getvalue(), answers)
            finally:
                runtime.close()
    finally:
        structlog.reset_defaults()
        root.handlers[:] = handlers
        root.setLevel(level)
        route_logs_to_pytest()


def tell(runtime: Runtime) -> list[httpx.Response]:
    """The story over HTTP, with an admin key; what carries no card data goes to the ledger."""
    with runtime.database.connect() as conn:
        _, admin = keys.create_key(conn, keys.Role.ADMIN, label="card data")
    ledger = runtime.ledger
    answers: list[httpx.Response] = []
    with (
        served(runtime) as url,
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=10.0
        ) as http,
    ):
        count = iter(range(1_000))

        def post(path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
            response = http.post(path, json=body, headers={"Idempotency-Key": f"s{next(count)}"})
            assert response.status_code == status, response.text
            answers.append(response)
            answer: dict[str, Any] = response.json()
            return answer

        def invoice_for(partner: UUID, client: UUID) -> UUID:
            line = ledger.create_line(partner, client, "email-signatures").aggregate_id
            assert line is not None
            return UUID(ledger.activate_line(line).data["invoice_id"])

        opened = {"name": "Acme", "currency": "USD", "time_zone": "UTC"}
        partner = UUID(post("/v1/partners", opened, 201)["id"])
        methods = f"/v1/partners/{partner}/payment-methods"
        method_id = post(methods, {"method": FIRST_CARD, "make_default": True}, 201)["id"]
        post(methods, {"method": ACH}, 201)
        assert post(methods, {"method": WRONG_DIGIT}, 422)["code"] == "card_invalid"
        client = ledger.register_client(partner, name="Bistro", unified_billing=False)
        assert client.aggregate_id is not None
        invoice = invoice_for(partner, client.aggregate_id)
        payment = post(f"/v1/invoices/{invoice}/payments", {"source": "card"}, 201)
        refund = {
            "payment_id": payment["payment_id"],
            "amount": {"amount_minor": 1000, "currency": "USD"},
            "reason": "Two locations closed mid-month",
        }
        post(f"/v1/invoices/{invoice}/refunds", refund, 201)
        post(f"{methods}/{method_id}/replace", {"method": NEW_CARD}, 201)
        post(methods, {"method": DECLINING, "make_default": True}, 201)
        second = invoice_for(partner, client.aggregate_id)
        declined = post(f"/v1/invoices/{second}/payments", {"source": "card"}, 201)
        assert declined["charge_status"] == "declined"  # a failed attempt, on the record
    return answers


def stored_texts(database: Database) -> dict[str, list[str]]:
    """Every value of every text-like column of every table, by `schema.table.column`."""
    found: dict[str, list[str]] = {}
    with database.connect() as conn:
        columns = conn.execute(
            "SELECT c.table_schema, c.table_name, c.column_name, c.data_type "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "USING (table_schema, table_name) "
            "WHERE t.table_type = 'BASE TABLE' AND c.data_type = ANY(%s) "
            "AND c.table_schema NOT IN ('pg_catalog', 'information_schema')",
            (list(SCANNED_TYPES),),
        ).fetchall()
        for schema, table, column, data_type in columns:
            value = sql.Identifier(column)
            # bytea as text with its printable bytes as they are (JSON, pickles, plain text).
            shown = (
                sql.SQL("encode({}, 'escape')").format(value)
                if data_type == "bytea"
                else sql.SQL("{}::text").format(value)
            )
            rows = conn.execute(
                sql.SQL("SELECT {} FROM {} WHERE {} IS NOT NULL").format(
                    shown, sql.Identifier(schema, table), value
                )
            ).fetchall()
            found[f"{schema}.{table}.{column}"] = [str(row[0]) for row in rows]
    return found


def test_r_x4_no_card_number_cvv_or_bank_account_number_is_in_any_table(story: Story) -> None:
    stored = stored_texts(story.database)
    tables = {place.rsplit(".", 1)[0] for place in stored}
    # The scan reaches what it must: the log, the idempotency answers, both generations.
    assert {"public.ledger_events", "public.command_log"} <= tables, sorted(tables)
    generations = {t.split(".")[0] for t in tables if t.startswith("rm_")}
    assert len(generations) == 2 * len(all_projections()), sorted(generations)
    assert any("4242" in value for value in stored["public.ledger_events.state"])  # last 4
    leaks = {
        place: pattern.pattern
        for place, values in stored.items()
        for pattern in [*map(any_formatting, NUMBERS), *map(alone, CVVS)]
        if any(pattern.search(value) for value in values)
    }
    assert leaks == {}
    assert not [
        place for place, values in stored.items() if any("cvv" in v.lower() for v in values)
    ]


def test_r_x4_no_card_number_cvv_or_bank_account_number_is_in_any_log_line(story: Story) -> None:
    lines = story.logged.splitlines()
    # The scan sees the server: one request line for each answer of the story.
    assert sum('"request_completed"' in line for line in lines) == len(story.answers)
    leaks = [
        (pattern.pattern, line)
        for line in lines
        for pattern in [*map(any_formatting, NUMBERS), *map(alone, CVVS)]
        if pattern.search(line)
    ]
    assert leaks == []
    assert not [line for line in lines if "cvv" in line.lower()]


def test_r_x4_no_answer_of_the_story_shows_a_number_or_cvv(story: Story) -> None:
    """Refusals (the wrong check digit, the decline) included: a problem never echoes input."""
    texts = [response.text for response in story.answers]
    assert len(texts) == 9
    leaks = [
        (pattern.pattern, text)
        for text in texts
        for pattern in [*map(any_formatting, NUMBERS), *map(alone, CVVS)]
        if pattern.search(text)
    ]
    assert leaks == []
