"""What the API reads from the write side: a partner's clients (from its account), a client's
lines (found through `line_index`, loaded from their events) and the e-mails of the outbox.

Each answers one page in a stable order, fetching one item more than asked so the caller can
tell whether a next page exists (keyset pagination: stable under concurrent writes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg

from domain.partner_account import Client, PartnerAccount
from domain.subscription_line import SubscriptionLine
from ledger.mail.outbox import MAX_ATTEMPTS
from ledger.sealing import Sealer, reveal, reveal_text


def clients_page(account: PartnerAccount, *, after: UUID | None, limit: int) -> list[Client]:
    """Up to `limit` of the account's clients in id order, after `after`."""
    ordered = sorted(account.clients.values(), key=lambda client: client.client_id)
    return [c for c in ordered if after is None or c.client_id > after][:limit]


LoadLine = Callable[[type[SubscriptionLine], UUID], SubscriptionLine | None]
"""`Ledger.load`: a line as its events make it now."""


def client_lines(
    conn: psycopg.Connection[Any],
    load: LoadLine,
    client_id: UUID,
    *,
    partner_id: UUID | None,
    after: UUID | None,
    limit: int,
) -> list[SubscriptionLine]:
    """Up to `limit` of a client's lines in id order after `after`, found through `line_index`
    and loaded from their events; with `partner_id`, only the lines that partner sells now (a
    line transferred away is its new reseller's, R-E1)."""
    rows = conn.execute(
        "SELECT line_id FROM line_index WHERE client_id = %(client)s "
        "AND (%(partner)s::uuid IS NULL OR partner_id = %(partner)s) "
        "AND (%(after)s::uuid IS NULL OR line_id > %(after)s) "
        "ORDER BY line_id LIMIT %(limit)s",
        {"client": client_id, "partner": partner_id, "after": after, "limit": limit},
    ).fetchall()
    found = [load(SubscriptionLine, UUID(str(row[0]))) for row in rows]
    return [line for line in found if line is not None]


class MailStatus(StrEnum):
    """Where an e-mail of the outbox stands."""

    QUEUED = "queued"
    """Not tried yet: it goes out with the sender's next round."""
    RETRYING = "retrying"
    """The mail server refused it; it is tried again at `next_attempt_at`."""
    SENT = "sent"
    """The mail server accepted it."""
    GIVEN_UP = "given_up"
    """Refused too often (ledger/mail/outbox.py `MAX_ATTEMPTS`): left for a person to look at."""


@dataclass(frozen=True)
class PartnerMail:
    """An e-mail the ledger sent or will send about a partner's account."""

    outbox_id: int
    kind: str
    recipient: str
    subject: str
    details: dict[str, str]
    status: MailStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None


def _status(sent_at: datetime | None, attempts: int) -> MailStatus:
    if sent_at is not None:
        return MailStatus.SENT
    if attempts >= MAX_ATTEMPTS:
        return MailStatus.GIVEN_UP
    return MailStatus.RETRYING if attempts else MailStatus.QUEUED


def partner_mail(
    conn: psycopg.Connection[Any],
    partner_id: UUID,
    *,
    before: int | None,
    limit: int,
    sealer: Sealer | None = None,
) -> list[PartnerMail]:
    """Up to `limit` of the partner's e-mails, newest first, older than outbox id `before`."""
    rows = conn.execute(
        "SELECT id, kind, recipient, subject, details, attempts, created_at, next_attempt_at, "
        "sent_at, last_error FROM outbox WHERE partner_id = %(partner)s "
        "AND (%(before)s::bigint IS NULL OR id < %(before)s) ORDER BY id DESC LIMIT %(limit)s",
        {"partner": partner_id, "before": before, "limit": limit},
    ).fetchall()
    found = []
    for outbox_id, kind, to, subject, details, attempts, created, next_at, sent, error in rows:
        status = _status(sent, attempts)
        waiting = status in (MailStatus.QUEUED, MailStatus.RETRYING)
        found.append(
            PartnerMail(
                outbox_id=outbox_id,
                kind=kind,
                recipient=reveal_text(sealer, to),
                subject=reveal_text(sealer, subject),
                details={str(k): str(v) for k, v in details.items()},
                status=status,
                attempts=attempts,
                created_at=created,
                next_attempt_at=next_at if waiting else None,
                sent_at=sent,
                last_error=reveal(sealer, error),
            )
        )
    return found
