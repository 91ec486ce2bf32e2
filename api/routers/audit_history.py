"""`/v1/audit/partners`: a partner's account as it stood at a moment, and the events that led
there with who caused each (issue 14; docs/audit.md). Auditor and admin keys only.

Each route parses, authorises and calls one query of replay/as_of.py, which replays the
partner's aggregates from the log; none reads a read model.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Query

from api.deps import ReadConnection, RuntimeDep
from api.problems.documented import READ_PROBLEMS, problem_entry
from api.reads import LedgerRouter
from api.schemas.audit_history import AuditEvent, AuditPartnerResponse
from api.schemas.common import Page, PageParams, page_of
from api.security import Auditor
from replay.as_of import cut_of, partner_as_of
from replay.as_of_events import partner_events

PREFIX = "/v1/audit/partners"
router = LedgerRouter(prefix=PREFIX, tags=["audit"])

AUDIT_PROBLEMS = {
    **READ_PROBLEMS,
    403: problem_entry("A partner or finance key: only auditor and admin keys audit (`forbidden`)"),
    404: problem_entry(
        "No partner account has this id (`partner_not_found`), or the ledger had recorded "
        "nothing of it by the moment named (`partner_then_not_found`)."
    ),
    422: problem_entry(
        "Not exactly one of `as_of`, `position` and `business_date` (`audit_cut_invalid`), an "
        "instant without its offset or a position the log does not hold (`invalid_value`), or "
        "a malformed value (`validation_failed`)."
    ),
}

PartnerId = Annotated[UUID, Path(description="The partner account's id.")]
AsOf = Annotated[
    datetime | None,
    Query(
        description="What the ledger knew at this instant (ISO 8601 with its offset; encode "
        "`+` as `%2B`, or use `Z`): every event of the partner recorded at or before it.",
        examples=["2026-03-01T00:00:00Z"],
    ),
]
Position = Annotated[
    int | None, Query(ge=1, description="Every event up to this log position.", examples=[120])
]
BusinessDate = Annotated[
    date | None,
    Query(
        description="What was in effect on this day in the partner's time zone, by everything "
        "recorded up to now, corrections included (YYYY-MM-DD).",
        examples=["2026-03-01"],
    ),
]
Actor = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^[\x21-\x7e]+$",
        description="Only the events this API key caused (its public id, `k_…`).",
    ),
]


@router.get(
    "/{partner_id}",
    response_model=AuditPartnerResponse,
    responses=AUDIT_PROBLEMS,
    summary="Read a partner as it stood",
)
def get_partner_as_of(
    partner_id: PartnerId,
    conn: ReadConnection,
    runtime: RuntimeDep,
    _: Auditor,
    as_of: AsOf = None,
    position: Position = None,
    business_date: BusinessDate = None,
) -> AuditPartnerResponse:
    """The partner's account, clients, lines, invoices with payments and refunds, bonus wallet,
    price overrides and balances as they stood at the moment named by exactly one of `as_of`,
    `position` or `business_date`, replayed from the log; `cut.position` is the last log
    position included."""
    state = partner_as_of(
        conn,
        runtime.ledger.mapper,
        partner_id,
        as_of=as_of,
        position=position,
        business_date=business_date,
    )
    return AuditPartnerResponse.of(state)


@router.get(
    "/{partner_id}/events",
    response_model=Page[AuditEvent],
    responses=AUDIT_PROBLEMS,
    summary="List a partner's events",
)
def list_partner_events(
    partner_id: PartnerId,
    conn: ReadConnection,
    runtime: RuntimeDep,
    _: Auditor,
    page: Annotated[PageParams, Depends()],
    as_of: AsOf = None,
    position: Position = None,
    actor: Actor = None,
) -> Page[AuditEvent]:
    """The events of the partner's chain in log order, each with its position, recorded
    instant, business date, type, who caused it and one sentence; up to `as_of` or `position`
    (at most one; by default all), and with `actor` only one API key's doing."""
    up_to: int | None = None
    if as_of is not None or position is not None:
        up_to = cut_of(conn, partner_id, as_of=as_of, position=position).position
    after = page.after_as(int)
    entries = partner_events(
        conn,
        runtime.ledger.mapper,
        partner_id,
        up_to=up_to,
        after=after[0] if after else 0,
        actor=actor,
        limit=page.limit + 1,
    )
    return page_of([AuditEvent.of(entry) for entry in entries], page.limit, lambda e: [e.position])
