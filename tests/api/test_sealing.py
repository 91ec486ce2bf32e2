"""Personal fields sealed at rest (issue 11, ledger/sealing.py), told as a story over HTTP.

With `LEDGERLINE_CIPHER_KEY` set, a partner with a legal name, an address and a billing
e-mail, a client with a name and an e-mail, a card with its holder, a paid invoice, a closing
document and an e-mail in the outbox leave no trace of any of those in clear in any text,
jsonb or bytea column of any table in any schema, while the API, the PDFs and the e-mail sent
over SMTP show them as they were given; every read model rebuilt from the log equals the live
one, and the books balance (R-X2).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO

import pytest
from aiosmtpd.controller import Controller
from psycopg import sql
from pypdf import PdfReader

from api.runtime import Runtime
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.mail.outbox import OutboxSender
from ledger.mail.target import SmtpTarget
from ledger.sealing import ENVELOPE, Sealer
from ledger.settings import Environment, Settings
from projections.registry import all_projections
from replay.rebuild import compare, discard, rebuild
from tests.api.scenarios.support import ClientFor, MakeKey, Story
from tests.api.scenarios.test_chatapp_http import PARTNER_VISA, buy, client, pay
from tests.ledger.test_mail import RecordingHandler, free_port

CIPHER_KEY = Sealer.create_key()
PARTNER_NAME = "Zanzibar Quokka Resellers"
LEGAL_NAME = "Quokka Holdings of Zanzibar LLC"
STREET = "17 Wallaby Crescent"
CITY = "Quokkaville"
BILLING_EMAIL = "ap@quokka-zanzibar.example"
CLIENT_NAME = "Marisol Vantongeren"
CLIENT_EMAIL = "marisol@vantongeren.example"
HOLDER = "Ignatius Pemberton-Fjord"
END_USER = "Vantongeren Atelier"
OWNER_EMAIL = "owner@atelier-vantongeren.example"
PERSONAL = (
    PARTNER_NAME,
    LEGAL_NAME,
    STREET,
    CITY,
    BILLING_EMAIL,
    CLIENT_NAME,
    CLIENT_EMAIL,
    HOLDER,
    END_USER,
    OWNER_EMAIL,
)

TEXT_TYPES = ("text", "character varying", "character", "jsonb", "json", "bytea", "ARRAY")


@pytest.fixture
def settings(database: Database) -> Settings:
    """The suite's settings, with a cipher key."""
    return Settings(
        database_url=database.url,
        environment=Environment.TEST,
        db_pool_size=4,
        cipher_key=CIPHER_KEY,  # type: ignore[arg-type]  # pydantic makes it a SecretStr
    )


@pytest.fixture
def smtp() -> Iterator[tuple[RecordingHandler, SmtpTarget]]:
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, SmtpTarget.from_url(f"smtp://127.0.0.1:{controller.port}")
    finally:
        controller.stop()


def found_in_clear(database: Database, texts: tuple[str, ...]) -> dict[str, list[str]]:
    """For each text, the `schema.table.column`s of every table that hold it in clear."""
    found: dict[str, list[str]] = {text: [] for text in texts}
    with database.connect() as conn:
        columns = conn.execute(
            "SELECT c.table_schema, c.table_name, c.column_name, c.data_type "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "USING (table_schema, table_name) WHERE t.table_type = 'BASE TABLE' "
            "AND c.table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND c.data_type = ANY(%s)",
            (list(TEXT_TYPES),),
        ).fetchall()
        for schema, table, column, data_type in columns:
            name = sql.Identifier(schema, table)
            value = sql.Identifier(column)
            # bytea is searched as bytes; every other type as its text.
            holds = (
                sql.SQL("position(convert_to(%(t)s, 'UTF8') in {}) > 0").format(value)
                if data_type == "bytea"
                else sql.SQL("{}::text LIKE '%%' || %(t)s || '%%'").format(value)
            )
            query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {})").format(name, holds)
            for text in texts:
                row = conn.execute(query, {"t": text}).fetchone()
                if row is not None and row[0]:
                    found[text].append(f"{schema}.{table}.{column}")
    return found


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


def test_issue_11_personal_fields_are_sealed_at_rest_and_shown_in_clear_over_http(
    runtime: Runtime,
    clock: SimulatedClock,
    client_for: ClientFor,
    make_key: MakeKey,
    smtp: tuple[RecordingHandler, SmtpTarget],
) -> None:
    """About 2 s: a whole story over HTTP, every read model rebuilt, every column scanned."""
    story = Story(runtime, clock, client_for, make_key)
    partner, own = story.open_partner("open", PARTNER_NAME, "RUB", "Europe/Moscow")
    address = {"lines": [STREET], "city": CITY, "postal_code": "125009", "country": "RU"}
    profile = {"entity": LEGAL_NAME, "address": address, "billing_email": BILLING_EMAIL}
    own.post(f"/v1/partners/{partner}/billing-profile", profile, key="profile")
    card = {**PARTNER_VISA, "holder": HOLDER}
    method = own.post(f"/v1/partners/{partner}/payment-methods", {"method": card}, key="card")
    customer = client(own, partner, "marisol", CLIENT_NAME, CLIENT_EMAIL)
    line, invoice = buy(own, partner, customer, "line")
    pay(own, invoice, "card", "pay", method_id=method["id"])
    act = own.post(f"/v1/invoices/{invoice['id']}/closing-documents", key="act")
    other, _ = story.open_partner("other", "Other Reseller", "RUB", "Europe/Moscow")
    transfer = {
        "end_user_name": END_USER,
        "current_reseller_id": str(partner),
        "new_reseller_id": str(other),
        "preferred_date": "2026-02-10",
        "owner_email": OWNER_EMAIL,
        "invoice_email": CLIENT_EMAIL,
        "billing": "annual",
        "payment_method": "bank_transfer",
        "consents": ["client"],
    }
    own.post(f"/v1/lines/{line}/transfers", transfer, key="transfer")
    story.head()

    # The API and the PDFs show every field as it was given.
    assert own.get(f"/v1/partners/{partner}")["name"] == PARTNER_NAME
    listed = story.admin.get("/v1/partners")["items"]
    assert sorted(p["name"] for p in listed) == ["Other Reseller", PARTNER_NAME]
    assert own.get(f"/v1/clients/{customer}")["email"] == CLIENT_EMAIL
    document = own.get(f"/v1/closing-documents/{act['document_id']}")
    assert (document["partner_name"], document["client_name"]) == (PARTNER_NAME, CLIENT_NAME)
    [listed_act] = own.get(f"/v1/partners/{partner}/closing-documents")["items"]
    assert listed_act["client_name"] == CLIENT_NAME
    act_pdf = own.client.get(f"/v1/closing-documents/{act['document_id']}/pdf")
    assert act_pdf.status_code == 200
    assert LEGAL_NAME in pdf_text(act_pdf.content)  # the customer: its billing entity (issue 17)
    assert STREET in pdf_text(act_pdf.content)
    assert CLIENT_NAME in pdf_text(act_pdf.content)
    invoice_pdf = own.client.get(f"/v1/invoices/{invoice['id']}/pdf")
    assert LEGAL_NAME in pdf_text(invoice_pdf.content)
    asked = own.get(f"/v1/lines/{line}")["transfer"]
    assert (asked["end_user_name"], asked["owner_email"]) == (END_USER, OWNER_EMAIL)
    [requested] = [
        entry["text"]
        for entry in own.get(f"/v1/partners/{partner}/activity")["items"]
        if entry["kind"] == "SubscriptionLine.TransferRequested"
    ]
    assert requested.startswith(f"Transfer of {END_USER} to another reseller requested")
    [mail] = own.get(f"/v1/partners/{partner}/e-mails")["items"]
    assert (mail["recipient"], mail["subject"]) == (BILLING_EMAIL, mail["subject"])
    assert PARTNER_NAME in mail["subject"]

    # The e-mail goes out opened, to the address given; the server's refusal, which could
    # quote the address, is sealed too.
    handler, target = smtp
    sender = OutboxSender(runtime.database.connect, target, clock=clock, sealer=runtime.sealer)
    handler.refuse = {BILLING_EMAIL}
    assert sender.send_due(clock.now()) == 0
    [refused] = own.get(f"/v1/partners/{partner}/e-mails")["items"]
    assert "No such mailbox here" in refused["last_error"]
    handler.refuse = set()
    clock.set(clock.now() + timedelta(minutes=2))
    assert sender.send_due(clock.now()) == 1
    [received] = handler.received
    assert received.rcpt_tos == [BILLING_EMAIL]
    assert PARTNER_NAME in str(received.message["Subject"])

    # Nothing personal is stored in clear anywhere; what is not personal still is (the scan
    # finds it, so it does look), and the sealed envelopes are there instead.
    found = found_in_clear(runtime.database, (*PERSONAL, invoice["number"], ENVELOPE))
    assert {text: found[text] for text in PERSONAL} == {text: [] for text in PERSONAL}
    assert "public.ledger_events.state" in found[invoice["number"]]
    assert "public.ledger_events.event" in found[ENVELOPE]
    assert "public.outbox.recipient" in found[ENVELOPE]
    assert "public.outbox.last_error" in found[ENVELOPE]

    # Every read model rebuilt from the log equals the live one; the books balance (R-X2).
    for projection in all_projections():
        rebuilt = rebuild(runtime.database, projection)
        difference = compare(runtime.database, projection, rebuilt.generation)
        assert difference.empty, (projection.name, difference)
        discard(runtime.database, projection, rebuilt.generation)
    books = story.finance.get("/v1/ledger/trial-balance")
    assert books["balanced"] is True
    assert story.trial_balance("RUB")["receivable"] == 0
