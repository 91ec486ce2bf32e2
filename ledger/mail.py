"""Delivers the e-mails in the outbox (R-H4, R-H6, R-O5) over SMTP, at least once.

Commands write each e-mail into `outbox` in the same transaction as their events; the sender
claims due rows with `FOR UPDATE SKIP LOCKED`, one row per short transaction, so two senders
never send the same e-mail at the same time and a crash re-sends at most the e-mail in hand.
An e-mail is marked sent only after the server accepted it; one sent twice carries the same
`Message-ID` and `X-Ledgerline-Dedup-Key`, so the receiving side can drop the copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import smtplib
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
import structlog

from ledger.availability import BackgroundHealth, Backoff, connection_lost
from ledger.clock import Clock, SystemClock
from ledger.sealing import Sealer, reveal_text

BATCH_SIZE = 50
"""E-mails per `send_due` call, over one SMTP connection: enough to amortise the handshake,
few enough that a stop request is seen within seconds."""
SMTP_TIMEOUT_S = 30.0
"""A server silent this long is treated as down; it also bounds how long a row stays locked."""
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=1)
"""Retries double from a minute up to an hour: quick for a blip, gentle on a struggling server."""
MAX_ATTEMPTS = 30
"""About a day of retries (1+2+...+32 minutes, then hourly). A server that refused an e-mail
for a day will not take it later, and a billing notice that late is stale: give up and log it
for a person. Outages of our own mail server cost no attempt (see MailServerUnavailable)."""
LAST_ERROR_MAX_CHARS = 1_000
"""Keep the server's answer readable without storing whatever a server chooses to send."""
DEDUP_HEADER = "X-Ledgerline-Dedup-Key"
DEFAULT_MAIL_FROM = "billing@ledgerline.invalid"
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

log = structlog.get_logger(__name__)


class MailServerUnavailable(Exception):
    """Our mail server could not be reached or refused the session; no e-mail is charged."""


@dataclass(frozen=True)
class SmtpTarget:
    """The mail server Ledgerline hands its e-mails to, and the address they come from."""

    host: str
    port: int
    mail_from: str = DEFAULT_MAIL_FROM
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str, *, default_from: str = DEFAULT_MAIL_FROM) -> SmtpTarget:
        """Read `smtp[s]://[user:password@]host[:port][?starttls=true&from=addr]`.

        Error messages never quote the URL: it may hold the password.
        """
        try:
            parts = urlsplit(url.strip())
            port = parts.port
            options = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False)
        except ValueError:
            raise ValueError(
                "SMTP URL is malformed; expected smtp://user:password@host:port?starttls=true "
                "or smtps://user:password@host:465, with special characters percent-encoded"
            ) from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ValueError("SMTP URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("SMTP URL names no host")
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("SMTP URL takes no path or fragment")
        known = {"starttls", "from"}
        names = [name for name, _ in options]
        unknown = sorted(set(names) - known)
        if unknown:
            raise ValueError(f"SMTP URL has unknown options {unknown}; known are {sorted(known)}")
        if len(names) != len(set(names)):
            raise ValueError("SMTP URL repeats an option")
        values = dict(options)
        starttls = BOOLEANS.get(values.get("starttls", "false").lower())
        if starttls is None:
            raise ValueError("SMTP URL option starttls must be true or false")
        if starttls and scheme == "smtps":
            raise ValueError("smtps:// is already encrypted; starttls applies to smtp:// only")
        username = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        if (username is None) != (password is None) or username == "":
            raise ValueError("SMTP URL needs both a user name and a password, or neither")
        encrypted = starttls or scheme == "smtps"
        if username is not None and not encrypted and not _is_loopback(parts.hostname):
            raise ValueError(
                "SMTP credentials would cross the network in clear text: use smtps:// or "
                "?starttls=true"
            )
        return cls(
            host=parts.hostname,
            port=port if port is not None else DEFAULT_PORTS[scheme],
            mail_from=_address(values.get("from", default_from)),
            implicit_tls=scheme == "smtps",
            starttls=starttls,
            username=username,
            password=password,
        )

    def scrub(self, text: str) -> str:
        """The text with the password blanked out, for anything stored or logged."""
        return text.replace(self.password, "***") if self.password else text


@dataclass(frozen=True)
class OutboxMail:
    """One e-mail waiting in the outbox."""

    id: int
    dedup_key: str
    kind: str
    recipient: str
    subject: str
    body: str
    attempts: int


def message_id(dedup_key: str) -> str:
    """The Message-ID every copy of this e-mail carries, so a receiver can de-duplicate it."""
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:32]
    return f"<{digest}@ledgerline>"


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the given number of failed attempts: 1, 2, 4 ... 60 minutes."""
    if attempts < 1:
        raise ValueError("a retry follows at least one failed attempt")
    # Past 7 doublings the cap applies; bounding the exponent keeps the number small.
    doublings: int = min(attempts - 1, 7)
    return min(FIRST_RETRY_DELAY * (1 << doublings), MAX_RETRY_DELAY)


def compose(mail: OutboxMail, mail_from: str, now: datetime) -> EmailMessage:
    """The e-mail as the recipient will see it."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(mail.dedup_key)
    message[DEDUP_HEADER] = mail.dedup_key
    # Quoted-printable is 7-bit clean and keeps lines short for any relay on the way.
    message.set_content(mail.body, cte="quoted-printable")
    return message


CLAIM_SQL = """
    SELECT id, dedup_key, kind, recipient, subject, body, attempts FROM outbox
    WHERE sent_at IS NULL AND next_attempt_at <= %s AND attempts < %s
    ORDER BY next_attempt_at, id LIMIT 1
    FOR UPDATE SKIP LOCKED
"""


class OutboxSender:
    """Hands due e-mails from the outbox to the mail server and records how each went."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        target: SmtpTarget,
        *,
        batch_size: int = BATCH_SIZE,
        clock: Clock | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.connect = connect
        self.target = target
        self.batch_size = batch_size
        self.clock: Clock = clock or SystemClock()
        self.sealer = sealer
        """Opens the recipient, subject and body that a cipher key sealed (ledger/sealing.py)."""

    def send_due(self, now: datetime) -> int:
        """Send up to one batch of e-mails due at `now`; return how many the server accepted.

        Raises MailServerUnavailable, leaving the e-mail in hand untouched, if the server
        cannot be reached; a database error also propagates and the e-mail is sent again later.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        sent = 0
        with self.connect() as conn, _SmtpSession(self.target) as session:
            for _ in range(self.batch_size):
                outcome = self._send_next(conn, session, now)
                if outcome is None:
                    break
                sent += outcome
        return sent

    def run(
        self, stop: threading.Event, interval_s: float, health: BackgroundHealth | None = None
    ) -> None:
        """Send due e-mails until `stop` is set; pause `interval_s` unless a batch was full.

        An unreachable mail server is waited out, and an unreachable database too, trying
        again with a backoff (`health` says which rounds reached it); any other error stops
        the sender and is logged, as it needs a person.
        """
        health = health or BackgroundHealth("mail")
        backoff = Backoff()
        while not stop.is_set():
            sent = 0
            try:
                sent = self.send_due(self.clock.now())
            except MailServerUnavailable as error:
                log.warning("mail_server_unavailable", error=str(error))
            except Exception as error:
                if not connection_lost(error):
                    log.exception("mail_sender_stopped")
                    health.stopped(error)
                    raise
                health.failed(error)
                stop.wait(backoff.next_s())
                continue
            health.ran()
            backoff.reset()
            if sent < self.batch_size:
                stop.wait(interval_s)
        health.stopped()

    def _opened(self, mail: OutboxMail) -> OutboxMail:
        return dataclasses.replace(
            mail,
            recipient=reveal_text(self.sealer, mail.recipient),
            subject=reveal_text(self.sealer, mail.subject),
            body=reveal_text(self.sealer, mail.body),
        )

    def _send_next(
        self, conn: psycopg.Connection[Any], session: _SmtpSession, now: datetime
    ) -> int | None:
        """Claim, send and record one due e-mail: 1 if accepted, 0 if not, None if none is due."""
        with conn.transaction():
            row = conn.execute(CLAIM_SQL, (now, MAX_ATTEMPTS)).fetchone()
            if row is None:
                return None
            mail = self._opened(OutboxMail(*row))
            failure: str | None
            try:
                message = compose(mail, self.target.mail_from, now)
            except ValueError as error:  # e.g. a line break in the subject
                failure = f"the e-mail cannot be composed: {error}"
            else:
                failure = session.deliver(message)
            if failure is None:
                conn.execute("UPDATE outbox SET sent_at = %s WHERE id = %s", (now, mail.id))
            else:
                failure = self.target.scrub(failure)[:LAST_ERROR_MAX_CHARS]
                # The server's answer may quote the address: sealed like the address itself.
                stored = failure if self.sealer is None else self.sealer.seal_text(failure)
                retry_at = self._record_failure(conn, mail, stored, now)
        # Logged after the commit, so a line in the log is a fact in the table.
        if failure is None:
            log.info("mail_sent", outbox_id=mail.id, kind=mail.kind, attempt=mail.attempts + 1)
            return 1
        attempts = mail.attempts + 1
        if retry_at is None:
            log.error(
                "mail_given_up", outbox_id=mail.id, kind=mail.kind, attempts=attempts, error=failure
            )
        else:
            log.warning(
                "mail_failed",
                outbox_id=mail.id,
                kind=mail.kind,
                attempts=attempts,
                retry_at=retry_at.isoformat(),
                error=failure,
            )
        return 0

    @staticmethod
    def _record_failure(
        conn: psycopg.Connection[Any], mail: OutboxMail, failure: str, now: datetime
    ) -> datetime | None:
        """Count the failed attempt; return when to try again, or None when giving up."""
        attempts = mail.attempts + 1
        retry_at = now + retry_delay(attempts) if attempts < MAX_ATTEMPTS else None
        # A given-up e-mail keeps its last error; setting attempts back to 0 retries it.
        conn.execute(
            "UPDATE outbox SET attempts = %s, last_error = %s, "
            "next_attempt_at = coalesce(%s, next_attempt_at) WHERE id = %s",
            (attempts, failure, retry_at, mail.id),
        )
        return retry_at


class _SmtpSession:
    """One SMTP connection for a batch, opened when the first e-mail needs it."""

    def __init__(self, target: SmtpTarget) -> None:
        self.target = target
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> _SmtpSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            # Every e-mail of the batch is already settled; a failed goodbye changes nothing.
            self._smtp.close()
        self._smtp = None

    def deliver(self, message: EmailMessage) -> str | None:
        """Hand one e-mail to the server; None once it accepted it, else why it did not.

        A connection lost mid-e-mail counts against that e-mail, so one that always breaks
        the connection is given up in the end instead of blocking the outbox.
        """
        smtp = self._connected()
        try:
            refused = smtp.send_message(message)
        except OSError as error:  # smtplib's errors are OSErrors too
            # A refusal leaves the session usable; after anything else start a fresh one.
            if not isinstance(error, REFUSALS) or smtp.sock is None:
                self._smtp = None
                smtp.close()
            return _describe(error)
        if refused:
            return "; ".join(f"{code} {_text(reply)}" for code, reply in refused.values())
        return None

    def _connected(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        target = self.target
        context = ssl.create_default_context()
        try:
            smtp = (
                smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT_S, context=context)
                if target.implicit_tls
                else smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_S)
            )
            with _closed_on_error(smtp):
                if target.starttls:
                    smtp.starttls(context=context)
                if target.username is not None and target.password is not None:
                    smtp.login(target.username, target.password)
        except OSError as error:
            raise MailServerUnavailable(
                f"mail server {target.host}:{target.port}: {target.scrub(_describe(error))}"
            ) from None
        self._smtp = smtp
        return smtp


REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException)
"""The server answered with a code: it refused this e-mail, and the session goes on."""


@contextmanager
def _closed_on_error(smtp: smtplib.SMTP) -> Iterator[None]:
    try:
        yield
    except BaseException:
        smtp.close()
        raise


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        detail = "; ".join(f"{code} {_text(reply)}" for code, reply in error.recipients.values())
    elif isinstance(error, smtplib.SMTPResponseException):
        detail = f"{error.smtp_code} {_text(error.smtp_error)}"
    else:
        detail = str(error)
    return f"{type(error).__name__}: {detail}"


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _address(value: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address:
        raise ValueError("the sender address must look like name@domain")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
