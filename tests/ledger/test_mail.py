"""The outbox sender delivers e-mails (R-H4, R-H6, R-O5) to a real SMTP server, at least once."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import ValidationError

from domain.calendar import Term
from domain.values import Address, Location
from ledger.application import Ledger
from ledger.availability import BACKOFF_FIRST_S, BackgroundHealth
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.mail.message import DEDUP_HEADER, message_id
from ledger.mail.outbox import MAX_ATTEMPTS, OutboxSender, retry_delay
from ledger.mail.session import MailServerUnavailable
from ledger.mail.target import SmtpTarget
from ledger.schema import create_tables
from ledger.settings import Settings
from tests.support import START, free_port

WAIT_S = 5.0
"""How long a test waits for something that should happen at once."""
SECRET = "hunter2-s3cret"  # noqa: S105 - a made-up password that must never leak


@dataclass(frozen=True)
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    peer: Any


@dataclass
class RecordingHandler:
    """An SMTP server's handler that keeps what it receives and refuses whom it is told to."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    delay_s: float = 0.0
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    # aiosmtpd finds its hooks by these upper-case names.
    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        assert envelope.mail_from is not None
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), message, session.peer)
        )
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        # Not "handled": the server answers 235 or 535 itself.
        return AuthResult(success=data.password == SECRET.encode(), handled=False)

    def message_ids(self) -> list[str]:
        return [str(item.message["Message-ID"]) for item in self.received]


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
def smtp_server(handler: RecordingHandler) -> Iterator[Controller]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def target(smtp_server: Controller) -> SmtpTarget:
    return SmtpTarget.from_url(f"smtp://127.0.0.1:{smtp_server.port}?from=billing%40vendor.example")


@pytest.fixture
def outbox(database: Database) -> Database:
    with database.connect() as conn:
        create_tables(conn)
    return database


@pytest.fixture
def sender(outbox: Database, target: SmtpTarget) -> OutboxSender:
    return OutboxSender(outbox.connect, target)


def enqueue(
    database: Database,
    dedup_key: str,
    *,
    recipient: str = "ana@client.example",
    subject: str = "Your card payment failed",
    body: str = "The card ending 4242 has expired. Update it: https://pay.example/u/1",
    due: datetime = START,
    attempts: int = 0,
) -> int:
    with database.connect() as conn:
        row = conn.execute(
            "INSERT INTO outbox (dedup_key, kind, recipient, subject, body, next_attempt_at, "
            "attempts) VALUES (%s, 'payment_failed', %s, %s, %s, %s, %s) RETURNING id",
            (dedup_key, recipient, subject, body, due, attempts),
        ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class OutboxRow:
    attempts: int
    sent_at: datetime | None
    next_attempt_at: datetime
    last_error: str | None


def outbox_row(database: Database, outbox_id: int) -> OutboxRow:
    with database.connect() as conn:
        row = conn.execute(
            "SELECT attempts, sent_at, next_attempt_at, last_error FROM outbox WHERE id = %s",
            (outbox_id,),
        ).fetchone()
    assert row is not None
    return OutboxRow(*row)


def text_of(message: EmailMessage) -> str:
    """The body as written, without the CRLF line ends it travelled with."""
    return str(message.get_content()).replace("\r\n", "\n")


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_r_h4_due_emails_are_delivered_with_dedup_headers_and_marked_sent(
    outbox: Database, sender: OutboxSender, handler: RecordingHandler
) -> None:
    first = enqueue(outbox, "payment_failed:inv-1", subject="Płatność nieudana: Счёт 1")
    second = enqueue(outbox, "payment_failed:inv-2", recipient="bo@client.example")
    third = enqueue(outbox, "refund:inv-3", body="Reembolso de 12,00 € — línea 1\n" * 3)

    assert sender.send_due(START) == 3

    assert [item.rcpt_tos for item in handler.received] == [
        ["ana@client.example"],
        ["bo@client.example"],
        ["ana@client.example"],
    ]
    mail = handler.received[0]
    assert mail.mail_from == "billing@vendor.example"
    assert mail.message["From"] == "billing@vendor.example"
    assert mail.message["To"] == "ana@client.example"
    assert mail.message["Subject"] == "Płatność nieudana: Счёт 1"
    assert text_of(mail.message) == (
        "The card ending 4242 has expired. Update it: https://pay.example/u/1\n"
    )
    assert mail.message["Message-ID"] == message_id("payment_failed:inv-1")
    assert mail.message[DEDUP_HEADER] == "payment_failed:inv-1"
    assert text_of(handler.received[2].message) == "Reembolso de 12,00 € — línea 1\n" * 3
    assert len(set(handler.message_ids())) == 3
    # One SMTP connection carried the whole batch.
    assert len({item.peer for item in handler.received}) == 1
    for outbox_id in (first, second, third):
        row = outbox_row(outbox, outbox_id)
        assert (row.sent_at, row.attempts, row.last_error) == (START, 0, None)

    assert sender.send_due(START + timedelta(days=1)) == 0
    assert len(handler.received) == 3


def test_the_message_id_is_derived_from_the_dedup_key_alone() -> None:
    assert message_id("refund:inv-3") == message_id("refund:inv-3")
    assert message_id("refund:inv-3") != message_id("refund:inv-4")
    assert message_id("refund:inv-3").startswith("<")
    assert message_id("refund:inv-3").endswith("@ledgerline>")
    assert len(message_id("refund:inv-3")) == len("<@ledgerline>") + 32


def test_an_email_not_yet_due_waits_for_its_time(
    outbox: Database, sender: OutboxSender, handler: RecordingHandler
) -> None:
    later = enqueue(outbox, "receipt:inv-9", due=START + timedelta(minutes=5))

    assert sender.send_due(START + timedelta(minutes=4, seconds=59)) == 0
    assert handler.received == []
    assert outbox_row(outbox, later).sent_at is None

    assert sender.send_due(START + timedelta(minutes=5)) == 1
    assert handler.message_ids() == [message_id("receipt:inv-9")]


def test_a_refused_email_is_retried_later_and_the_rest_of_the_batch_goes_out(
    outbox: Database, sender: OutboxSender, handler: RecordingHandler
) -> None:
    handler.refuse.add("gone@client.example")
    before = enqueue(outbox, "payment_failed:inv-1")
    refused = enqueue(outbox, "payment_failed:inv-2", recipient="gone@client.example")
    after = enqueue(outbox, "payment_failed:inv-3")

    assert sender.send_due(START) == 2

    assert handler.message_ids() == [
        message_id("payment_failed:inv-1"),
        message_id("payment_failed:inv-3"),
    ]
    assert len({item.peer for item in handler.received}) == 1  # the refusal did not end it
    assert outbox_row(outbox, before).sent_at == START
    assert outbox_row(outbox, after).sent_at == START
    row = outbox_row(outbox, refused)
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.last_error is not None
    assert "550" in row.last_error
    assert "No such mailbox here" in row.last_error
    assert row.next_attempt_at == START + timedelta(minutes=1)

    handler.refuse.clear()
    assert sender.send_due(START + timedelta(seconds=59)) == 0
    assert sender.send_due(START + timedelta(minutes=1)) == 1
    assert handler.message_ids()[-1] == message_id("payment_failed:inv-2")
    row = outbox_row(outbox, refused)
    assert (row.sent_at, row.attempts) == (START + timedelta(minutes=1), 1)


def test_retries_double_from_a_minute_up_to_an_hour() -> None:
    delays = [retry_delay(attempts) for attempts in range(1, 10)]
    assert [delay // timedelta(minutes=1) for delay in delays] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert retry_delay(10_000) == timedelta(hours=1)
    total = sum((retry_delay(attempts) for attempts in range(1, MAX_ATTEMPTS)), timedelta())
    assert timedelta(hours=20) < total < timedelta(hours=28), "about a day of retries"
    with pytest.raises(ValueError, match="at least one"):
        retry_delay(0)


def test_an_email_refused_on_its_last_attempt_is_given_up_and_logged(
    outbox: Database, sender: OutboxSender, handler: RecordingHandler
) -> None:
    handler.refuse.add("gone@client.example")
    body = "Refund receipt: 45,00 EUR to IBAN PL61 1090 1014"
    hopeless = enqueue(
        outbox,
        "refund:inv-7",
        recipient="gone@client.example",
        body=body,
        attempts=MAX_ATTEMPTS - 1,
    )

    with structlog.testing.capture_logs() as logs:
        assert sender.send_due(START) == 0

    row = outbox_row(outbox, hopeless)
    assert (row.sent_at, row.attempts) == (None, MAX_ATTEMPTS)
    assert row.last_error is not None
    assert "550" in row.last_error
    assert row.next_attempt_at == START
    assert [entry["event"] for entry in logs] == ["mail_given_up"]
    assert logs[0]["outbox_id"] == hopeless
    assert logs[0]["kind"] == "payment_failed"
    assert logs[0]["log_level"] == "error"
    assert body not in repr(logs)

    handler.refuse.clear()
    assert sender.send_due(START + timedelta(days=7)) == 0
    assert handler.received == []


def test_logs_name_the_email_and_its_kind_but_never_its_body(
    outbox: Database, sender: OutboxSender, handler: RecordingHandler
) -> None:
    handler.refuse.add("gone@client.example")
    body = "Your card ending 4242 was declined"
    sent = enqueue(outbox, "payment_failed:inv-1", body=body)
    failed = enqueue(outbox, "payment_failed:inv-2", body=body, recipient="gone@client.example")

    with structlog.testing.capture_logs() as logs:
        sender.send_due(START)

    assert [(entry["event"], entry["outbox_id"], entry["kind"]) for entry in logs] == [
        ("mail_sent", sent, "payment_failed"),
        ("mail_failed", failed, "payment_failed"),
    ]
    assert logs[1]["attempts"] == 1
    assert logs[1]["retry_at"] == (START + timedelta(minutes=1)).isoformat()
    assert body not in repr(logs)


def test_an_email_that_cannot_be_composed_fails_alone(
    outbox: Database, sender: OutboxSender, handler: RecordingHandler
) -> None:
    broken = enqueue(outbox, "receipt:inv-1", subject="Receipt\r\nBcc: everyone@example.com")
    fine = enqueue(outbox, "receipt:inv-2")

    assert sender.send_due(START) == 1

    assert handler.message_ids() == [message_id("receipt:inv-2")]
    assert outbox_row(outbox, fine).sent_at == START
    row = outbox_row(outbox, broken)
    assert (row.sent_at, row.attempts) == (None, 1)
    assert row.last_error is not None
    assert "cannot be composed" in row.last_error


def test_two_senders_at_once_deliver_each_email_exactly_once(
    outbox: Database, target: SmtpTarget, handler: RecordingHandler
) -> None:
    keys = [f"receipt:inv-{number}" for number in range(40)]
    for key in keys:
        enqueue(outbox, key)
    handler.delay_s = 0.005  # keeps each sender's claim locked while the other looks
    senders = [OutboxSender(outbox.connect, target, batch_size=5) for _ in range(2)]
    sent_by = [0, 0]
    start = threading.Barrier(len(senders))
    errors: list[BaseException] = []

    def drain(index: int) -> None:
        try:
            start.wait(WAIT_S)
            while (sent := senders[index].send_due(START)) > 0:
                sent_by[index] += sent
        except BaseException as error:
            errors.append(error)
            raise

    threads = [threading.Thread(target=drain, args=(index,)) for index in range(len(senders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 4)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    assert Counter(handler.message_ids()) == Counter({message_id(key): 1 for key in keys})
    assert sum(sent_by) == len(keys)
    assert all(sent > 0 for sent in sent_by), "both senders took part"
    with outbox.connect() as conn:
        unsent = conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()
    assert unsent == (0,)


def test_a_crash_between_sending_and_marking_sends_again_with_the_same_message_id(
    outbox: Database, sender: OutboxSender, handler: RecordingHandler
) -> None:
    crashing = enqueue(outbox, "payment_failed:inv-5")
    with outbox.connect() as conn:
        # A sequence is not rolled back with the failed transaction, so only the first mark fails.
        conn.execute("CREATE SEQUENCE mark_attempts")
        conn.execute(
            """
            CREATE FUNCTION fail_first_mark() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.sent_at IS NOT NULL AND OLD.sent_at IS NULL THEN
                    IF nextval('mark_attempts') = 1 THEN
                        RAISE EXCEPTION 'simulated crash before the mark';
                    END IF;
                END IF;
                RETURN NEW;
            END $$
            """
        )
        conn.execute(
            "CREATE TRIGGER fail_first_mark BEFORE UPDATE ON outbox "
            "FOR EACH ROW EXECUTE FUNCTION fail_first_mark()"
        )

    with pytest.raises(psycopg.errors.RaiseException, match="simulated crash"):
        sender.send_due(START)

    assert handler.message_ids() == [message_id("payment_failed:inv-5")]
    row = outbox_row(outbox, crashing)
    assert (row.sent_at, row.attempts, row.last_error) == (None, 0, None)

    assert sender.send_due(START + timedelta(seconds=1)) == 1

    assert handler.message_ids() == [message_id("payment_failed:inv-5")] * 2
    assert [item.message[DEDUP_HEADER] for item in handler.received] == ["payment_failed:inv-5"] * 2
    assert outbox_row(outbox, crashing).sent_at == START + timedelta(seconds=1)


def test_an_unreachable_mail_server_costs_no_attempt(outbox: Database) -> None:
    queued = enqueue(outbox, "receipt:inv-1")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        port = closed.getsockname()[1]
        target = SmtpTarget.from_url(f"smtp://billing:{SECRET}@127.0.0.1:{port}")
        with pytest.raises(MailServerUnavailable) as unavailable:
            OutboxSender(outbox.connect, target).send_due(START)

    assert f"127.0.0.1:{port}" in str(unavailable.value)
    assert SECRET not in str(unavailable.value)
    row = outbox_row(outbox, queued)
    assert (row.sent_at, row.attempts, row.last_error) == (None, 0, None)


def test_run_waits_out_an_unreachable_mail_server(outbox: Database) -> None:
    queued = enqueue(outbox, "receipt:inv-1")
    with socket.socket() as closed, structlog.testing.capture_logs() as logs:
        closed.bind(("127.0.0.1", 0))
        target = SmtpTarget.from_url(f"smtp://127.0.0.1:{closed.getsockname()[1]}")
        sender = OutboxSender(outbox.connect, target, clock=SimulatedClock(START))
        stop = threading.Event()
        thread = threading.Thread(target=sender.run, args=(stop, 0.01))
        thread.start()
        try:
            wait_until(lambda: len(logs) >= 2)
        finally:
            stop.set()
            thread.join(WAIT_S)
    assert not thread.is_alive()
    assert {entry["event"] for entry in logs} == {"mail_server_unavailable"}
    assert outbox_row(outbox, queued).attempts == 0


def test_run_waits_out_an_unreachable_database(target: SmtpTarget, tmp_path: Path) -> None:
    """`Database.connect` answers an outage with its own message (CannotConnect): the
    sender must wait that out as a psycopg OperationalError; it used to stop its thread."""
    nowhere = Database(f"postgresql:///ledgerline?host={tmp_path}")  # no server listens there
    health = BackgroundHealth("mail")
    with structlog.testing.capture_logs() as logs:
        sender = OutboxSender(nowhere.connect, target, clock=SimulatedClock(START))
        stop = threading.Event()
        thread = threading.Thread(target=sender.run, args=(stop, 0.01, health))
        thread.start()
        try:
            wait_until(lambda: health.last_error is not None)
            time.sleep(BACKOFF_FIRST_S * 3.5)  # the first two retries, backed off
            assert thread.is_alive()
            assert not health.ok
        finally:
            stop.set()
            thread.join(WAIT_S)
    assert not thread.is_alive()
    assert "connect" in (health.last_error or "").lower()
    # One warning for the outage, however many retries it took.
    assert [entry["event"] for entry in logs] == ["background_task_waiting_for_database"]
    assert logs[0]["task"] == "mail"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize(("password", "accepted"), [(SECRET, True), ("wrong", False)])
def test_the_sender_logs_in_with_the_credentials_of_the_url(
    outbox: Database, handler: RecordingHandler, password: str, accepted: bool
) -> None:
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=handler.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        target = SmtpTarget.from_url(
            f"smtp://billing%40vendor:{password}@127.0.0.1:{controller.port}"
        )
        queued = enqueue(outbox, "receipt:inv-1")
        sender = OutboxSender(outbox.connect, target)
        if accepted:
            assert sender.send_due(START) == 1
        else:
            with pytest.raises(MailServerUnavailable, match="535") as refused:
                sender.send_due(START)
            assert password not in str(refused.value)
    finally:
        controller.stop()

    # Refused, smtplib tries the server's next mechanism with the same credentials.
    assert set(handler.logins) == {(b"billing@vendor", password.encode())}
    assert len(handler.received) == (1 if accepted else 0)
    assert outbox_row(outbox, queued).attempts == 0


def test_run_sends_until_stopped(
    outbox: Database, target: SmtpTarget, handler: RecordingHandler
) -> None:
    clock = SimulatedClock(START)
    sender = OutboxSender(outbox.connect, target, batch_size=2, clock=clock)
    for number in range(5):
        enqueue(outbox, f"receipt:inv-{number}")
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop, 0.05))
    thread.start()
    try:
        wait_until(lambda: len(handler.received) == 5)
        enqueue(outbox, "receipt:inv-late", due=START + timedelta(minutes=1))
        clock.advance(timedelta(minutes=1))
        wait_until(lambda: len(handler.received) == 6)
    finally:
        stop.set()
        thread.join(WAIT_S)
    assert not thread.is_alive()
    assert Counter(handler.message_ids()) == Counter(
        {message_id(f"receipt:inv-{key}"): 1 for key in [0, 1, 2, 3, 4, "late"]}
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://localhost:1025", SmtpTarget(host="localhost", port=1025)),
        ("smtp://mail.example", SmtpTarget(host="mail.example", port=25)),
        (
            "smtp://user:p%40ss%3Aword@mail.example:587?starttls=true&from=billing%40vendor.example",
            SmtpTarget(
                host="mail.example",
                port=587,
                mail_from="billing@vendor.example",
                starttls=True,
                username="user",
                password="p@ss:word",
            ),
        ),
        (
            "smtps://user:pw@mail.example",
            SmtpTarget(
                host="mail.example", port=465, implicit_tls=True, username="user", password="pw"
            ),
        ),
        (
            "SMTPS://mail.example:2465/?from=Billing%20%3Cbilling%40vendor.example%3E",
            SmtpTarget(
                host="mail.example",
                port=2465,
                implicit_tls=True,
                mail_from="Billing <billing@vendor.example>",
            ),
        ),
        ("smtp://u:pw@127.0.0.1:25", SmtpTarget("127.0.0.1", 25, username="u", password="pw")),
        ("smtp://mail.example?starttls=no", SmtpTarget(host="mail.example", port=25)),
    ],
)
def test_smtp_urls_are_read(url: str, expected: SmtpTarget) -> None:
    assert SmtpTarget.from_url(url) == expected


def test_the_default_sender_applies_unless_the_url_names_one() -> None:
    assert SmtpTarget.from_url("smtp://h", default_from="a@b.example").mail_from == "a@b.example"
    named = SmtpTarget.from_url("smtp://h?from=c%40d.example", default_from="a@b.example")
    assert named.mail_from == "c@d.example"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"http://billing:{SECRET}@mail.example", "smtp:// or smtps://"),
        (f"billing:{SECRET}@mail.example", "smtp:// or smtps://"),
        (f"smtp://billing:{SECRET}@mail.example:notaport", "malformed"),
        (f"smtp://billing:{SECRET}@mail.example:99999", "malformed"),
        (f"smtp://billing:{SECRET}@[::1", "malformed"),
        (f"smtp://billing:{SECRET}@", "no host"),
        (f"smtp://billing:{SECRET}@mail.example/inbox", "no path"),
        (f"smtps://billing:{SECRET}@mail.example?starttls=true", "already encrypted"),
        (f"smtp://billing:{SECRET}@mail.example?starttls=maybe", "true or false"),
        (f"smtp://billing:{SECRET}@mail.example?startls=true", "unknown options"),
        (f"smtp://billing:{SECRET}@mail.example?password={SECRET}", "unknown options"),
        (f"smtp://billing:{SECRET}@h?starttls=true&starttls=false", "repeats"),
        (f"smtp://billing:{SECRET}@h?starttls=true&from=nobody", "name@domain"),
        (f"smtp://:{SECRET}@mail.example?starttls=true", "both a user name and a password"),
        ("smtp://billing@mail.example?starttls=true", "both a user name and a password"),
        (f"smtp://billing:{SECRET}@mail.example:587", "clear text"),
    ],
)
def test_a_bad_smtp_url_is_refused_without_echoing_the_password(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as refused:
        SmtpTarget.from_url(url)
    assert SECRET not in str(refused.value)
    assert refused.value.__cause__ is None


def test_the_password_stays_out_of_the_target_s_repr() -> None:
    target = SmtpTarget.from_url(f"smtps://billing:{SECRET}@mail.example")
    assert target.password == SECRET
    assert SECRET not in repr(target)
    assert target.scrub(f"server said {SECRET}") == "server said ***"


def test_settings_read_the_mail_server_and_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGERLINE_SMTP_URL", raising=False)
    monkeypatch.delenv("LEDGERLINE_MAIL_FROM", raising=False)
    defaults = Settings()
    assert defaults.smtp_url is None
    assert defaults.mail_from == "billing@ledgerline.invalid"
    assert defaults.smtp_target() is None

    monkeypatch.setenv("LEDGERLINE_SMTP_URL", f"smtps://billing:{SECRET}@mail.example")
    monkeypatch.setenv("LEDGERLINE_MAIL_FROM", "invoices@vendor.example")
    settings = Settings()
    assert settings.smtp_target() == SmtpTarget(
        host="mail.example",
        port=465,
        mail_from="invoices@vendor.example",
        implicit_tls=True,
        username="billing",
        password=SECRET,
    )


def test_settings_refuse_a_bad_smtp_url_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGERLINE_SMTP_URL", f"smtp://billing:{SECRET}@mail.example:587")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "smtp_url" in str(refused.value)
    assert "clear text" in str(refused.value)
    assert SECRET not in str(refused.value)


def test_issue_17_a_polish_partners_invoice_stores_what_its_lines_are_and_mails_them_in_polish(
    ledger: Ledger, database: Database, target: SmtpTarget, handler: RecordingHandler
) -> None:
    """Events record what a line is, never a sentence (issue 17): the stored `Invoice.Issued`
    has no English words, and the e-mail to a Polish partner words its lines in Polish through
    the documents' wording, delivered by a real SMTP server. One partner, one invoice: ~0.3 s."""
    partner = ledger.open_partner_account(
        name="Kawiarnie Sp. z o.o.", currency="PLN", time_zone="Europe/Warsaw", key="pl/open"
    ).aggregate_id
    assert partner is not None
    address = Address.of(["ul. Długa 1"], "Gdańsk", "80-827", "PL")
    ledger.record_billing_profile(
        partner, "Kawiarnie Sp. z o.o.", address, "faktury@kawiarnie.example", key="pl/bp"
    )
    client = ledger.register_client(partner, name="Kawa Nova", key="pl/c").aggregate_id
    assert client is not None
    old_town = Location(UUID(int=1), "Stare Miasto")
    line = ledger.create_line(
        partner, client, "pos-location", term=Term.TWELVE_MONTHS, locations=(old_town,), key="pl/l"
    ).aggregate_id
    assert line is not None
    invoice_id = ledger.activate_line(line, key="pl/activate").data["invoice_id"]

    with database.connect() as conn:
        row = conn.execute(
            "SELECT state FROM ledger_events WHERE originator_id = %s AND topic LIKE %s",
            (UUID(invoice_id), "%Invoice.Issued"),
        ).fetchone()
    assert row is not None
    stored = bytes(row[0]).decode()
    lines = [item["_data_"] for item in json.loads(stored)["lines"]["_data_"]]
    assert [item["kind"]["_data_"] for item in lines] == ["product", "discount"]
    assert all("description" not in item for item in lines)
    for english in ("POS integration", "month discount", "Discount for", "Stare Miasto:"):
        assert english not in stored
    assert lines[0]["product_code"] == "pos-location"
    assert (lines[1]["rate"]["_data_"], lines[1]["term_months"]) == ("0.1", 12)

    assert OutboxSender(database.connect, target).send_due(START + timedelta(days=1)) == 1
    [mail] = handler.received
    body = text_of(mail.message)
    assert mail.message["Subject"].startswith("Faktura ")
    assert "  Integracja POS, lokalizacja: Stare Miasto: " in body
    assert "  Rabat za okres 12 mies. (10 %): -" in body
    assert "Razem: " in body
    assert "POS integration" not in body
    assert "discount" not in body.lower()
