"""What the partner routers share: scoping a read to the caller, read-your-writes, cursors."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import psycopg

from api.deps import ReadAfter
from api.keys import Principal
from api.schemas.common import PageParams
from api.security import visible
from domain.errors import PartnerNotFound
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
