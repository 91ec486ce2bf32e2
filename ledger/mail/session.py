"""One SMTP connection for a batch of e-mails, and how a server's refusal reads in a row."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from ledger.mail.target import SmtpTarget

SMTP_TIMEOUT_S = 30.0
"""A server silent this long is treated as down; it also bounds how long a row stays locked."""


class MailServerUnavailable(Exception):
    """Our mail server could not be reached or refused the session; no e-mail is charged."""


class SmtpSession:
    """One SMTP connection for a batch, opened when the first e-mail needs it."""

    def __init__(self, target: SmtpTarget) -> None:
        self.target = target
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
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
