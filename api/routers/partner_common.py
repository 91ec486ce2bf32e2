"""What the partner routers share: scoping, read-your-writes, and the views of invoices and
banners that partners and clients both read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import psycopg
from pydantic import BaseModel, Field

from api.deps import ReadAfter
from api.keys import Principal
from api.runtime import Runtime
from api.schemas.common import MoneyModel, PageParams
from api.security import visible
from domain.errors import PartnerNotFound
from ledger.errors import IdempotencyKeyReused
from ledger.sealing import Sealer, reveal_text
from projections import banners
from projections.invoices import PageCursor
from projections.partners import PartnerDirectory, PartnerView

PREFIX = "/v1/partners"


class PartnerResponse(BaseModel):
    """A partner account."""

    id: UUID
    name: str
    currency: str
    time_zone: str
    opened_at: datetime = Field(description="When the account was opened (UTC).")
    position: int = Field(description="Log position of the event that last changed this view.")

    @classmethod
    def of(cls, view: PartnerView, sealer: Sealer | None) -> PartnerResponse:
        return cls(
            id=view.partner_id,
            name=reveal_text(sealer, view.name),
            currency=view.currency,
            time_zone=view.time_zone,
            opened_at=view.opened_at,
            position=view.position,
        )


def cursor_text(value: object) -> str:
    """A text part of a cursor: a string PostgreSQL can hold (no NUL), or a refusal."""
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("not a cursor's text")
    return value


def invoice_cursor(page: PageParams) -> PageCursor | None:
    after = page.after_as(date.fromisoformat, cursor_text)
    return PageCursor(*after) if after else None


class BannerInvoiceModel(BaseModel):
    """A failed or overdue invoice (R-H2), and what it owes for the line."""

    invoice_id: UUID
    number: str
    owed: MoneyModel
    kind: Literal["failed", "overdue"]
    reason: str = Field(description="The decline reason of a failed charge, or why overdue.")
    decline_code: str | None
    since: date


class BannerLineModel(BaseModel):
    """A subscription line that owes money (null `line_id`: an invoice of no line)."""

    line_id: UUID | None
    owed: MoneyModel
    invoices: list[BannerInvoiceModel]


class BannerModel(BaseModel):
    """The banner: the total owed across all lines; it links to the one line owing, or to the
    list when several owe (R-H3). It stays until everything is paid."""

    total: MoneyModel
    lines: list[BannerLineModel]
    links_to: Literal["line", "list"]
    line_id: UUID | None = Field(description="The line it links to, when one line owes.")

    @classmethod
    def of(cls, banner: banners.Banner | None) -> BannerModel | None:
        if banner is None:
            return None

        def money(minor: int) -> MoneyModel:
            return MoneyModel(amount_minor=minor, currency=banner.currency)

        return cls(
            total=money(banner.total_minor),
            lines=[
                BannerLineModel(
                    line_id=line.line_id,
                    owed=money(line.owed_minor),
                    invoices=[
                        BannerInvoiceModel(
                            invoice_id=i.invoice_id,
                            number=i.number,
                            owed=money(i.owed_minor),
                            kind=i.kind,
                            reason=i.reason,
                            decline_code=i.decline_code,
                            since=i.since,
                        )
                        for i in line.invoices
                    ],
                )
                for line in banner.lines
            ],
            links_to=banner.target[0],
            line_id=banner.target[1],
        )


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


def commandable(caller: Principal, partner_id: UUID) -> None:
    """Before a command: another partner's id is refused as one that does not exist."""
    visible(caller, partner_id, PartnerNotFound.of(partner_id))


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
