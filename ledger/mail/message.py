"""An outbox row and the e-mail it becomes: every copy of one e-mail carries the same
`Message-ID` and `X-Ledgerline-Dedup-Key`, so the receiving side can drop a second copy."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

DEDUP_HEADER = "X-Ledgerline-Dedup-Key"


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
