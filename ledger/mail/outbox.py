"""Delivers the e-mails in the outbox (R-H4, R-H6, R-O5) over SMTP, at least once.

Commands write each e-mail into `outbox` in the same transaction as their events; the sender
claims due rows with `FOR UPDATE SKIP LOCKED`, one row per short transaction, so two senders
never send the same e-mail at the same time and a crash re-sends at most the e-mail in hand.
An e-mail is marked sent only after the server accepted it; one sent twice carries the same
`Message-ID` and `X-Ledgerline-Dedup-Key` (ledger/mail/message.py), so the receiving side can
drop the copy.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg
import structlog

from ledger.availability import BackgroundHealth, Backoff, connection_lost
from ledger.clock import Clock, SystemClock
from ledger.mail.message import OutboxMail, compose
from ledger.mail.session import MailServerUnavailable, SmtpSession
from ledger.mail.target import SmtpTarget
from ledger.sealing import Sealer, reveal_text

BATCH_SIZE = 50
"""E-mails per `send_due` call, over one SMTP connection: enough to amortise the handshake,
few enough that a stop request is seen within seconds."""
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=1)
"""Retries double from a minute up to an hour: quick for a blip, gentle on a struggling server."""
MAX_ATTEMPTS = 30
"""About a day of retries (1+2+...+32 minutes, then hourly). A server that refused an e-mail
for a day will not take it later, and a billing notice that late is stale: give up and log it
for a person. Outages of our own mail server cost no attempt (see MailServerUnavailable)."""
LAST_ERROR_MAX_CHARS = 1_000
"""Keep the server's answer readable without storing whatever a server chooses to send."""

log = structlog.get_logger(__name__)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the given number of failed attempts: 1, 2, 4 ... 60 minutes."""
    if attempts < 1:
        raise ValueError("a retry follows at least one failed attempt")
    # Past 7 doublings the cap applies; bounding the exponent keeps the number small.
    doublings: int = min(attempts - 1, 7)
    return min(FIRST_RETRY_DELAY * (1 << doublings), MAX_RETRY_DELAY)


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
        with self.connect() as conn, SmtpSession(self.target) as session:
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
        self, conn: psycopg.Connection[Any], session: SmtpSession, now: datetime
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
