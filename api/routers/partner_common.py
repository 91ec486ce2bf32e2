"""What the partner routers share: scoping a read to the caller, read-your-writes, cursors.

`recorded` and `refuse_other_body` (the log scanned back for what a key recorded) are left
for `lines.py`'s last use; the partner routes no longer need them: their commands decide
idempotency in the ledger (first_answer, request fingerprints)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import psycopg

from api.deps import ReadAfter
from api.keys import Principal
from api.runtime import Runtime
from api.schemas.common import PageParams
from api.security import visible
from domain.errors import PartnerNotFound
from ledger.errors import IdempotencyKeyReused
from projections.invoices import PageCursor
from projections.partners import PartnerDirectory, PartnerView

PREFIX = "/v1/partners"


def cursor_text(value: object) -> str:
    """A text part of a cursor: a string PostgreSQL can hold (no NUL), or a refusal."""
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("not a cursor's text")
    return value


def invoice_cursor(page: PageParams) -> PageCursor | None:
    after = page.after_as(date.fromisoformat, cursor_text)
    return PageCursor(*after) if after else None


def wait_for(conn: psycopg.Connection[Any], read_after: ReadAfter, *names: str) -> None:
    """Read-your-writes: wait until each of these read models has applied `min_position`."""
    for name in names:
        read_after.wait(conn, name)


def readable_partner(
    conn: psycopg.Connection[Any],
    caller: Principal,
    partner_id: UUID,
    read_after: ReadAfter,
    *names: str,
) -> PartnerView:
    """The partner, once the read models are at `min_position`, if the caller may see it."""
    visible(caller, partner_id, PartnerNotFound.of(partner_id))
    wait_for(conn, read_after, PartnerDirectory.name, *names)
    view = PartnerDirectory.get(conn, partner_id)
    if view is None:
        raise PartnerNotFound.of(partner_id)
    return view


RECORDED_SEARCH = 64
"""How far back from a command's last event its own events are looked for: a command writes
a handful of events, contiguous in the log."""


def recorded(
    runtime: Runtime, key: str, originator_id: UUID, matches: Callable[[object], bool]
) -> object | None:
    """The event of `originator_id` that the command under `key` recorded and `matches`, read
    back from the log (never rebuilt from the request); None if the key recorded none such or
    was never used."""
    first = runtime.ledger.replayed(key)  # its position is the command's own last event
    if first is None:
        return None
    start = max(1, first.position - RECORDED_SEARCH + 1)
    # The recorder itself: the notification log refuses more than a section (10) at once.
    notifications = runtime.ledger.store.recorder.select_notifications(
        start, first.position - start + 1
    )
    for notification in reversed(notifications):
        if notification.originator_id == originator_id:
            event: object = runtime.ledger.mapper.to_domain_event(notification)
            if matches(event):
                return event
    return None


def refuse_other_body(
    runtime: Runtime, key: str, originator_id: UUID, matches: Callable[[object], bool]
) -> None:
    """R-X5 for commands the ledger replays by key alone (those that reach the gateway first):
    a key already used must have recorded an event this request would have recorded."""
    if (
        runtime.ledger.replayed(key) is not None
        and recorded(runtime, key, originator_id, matches) is None
    ):
        raise IdempotencyKeyReused("This idempotency key was already used for a different command.")
