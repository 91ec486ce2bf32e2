"""`GET /v1/partners/{id}/e-mails`: the e-mails the ledger sent, or will send, about a partner.

Commands write each e-mail to the outbox with the events that cause it (ledger/mail/outbox.py sends
them), so the list is current as soon as a command has answered. Admin, finance, auditor and
the partner's own keys may read; another partner's id answers as one that does not exist.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.problems.documented import READ_PROBLEMS
from api.reads import LedgerRouter
from api.routers.partner_common import PREFIX, readable_partner
from api.schemas.common import Page, PageParams, page_of
from api.schemas.partner_overview import EmailResponse
from api.security import Caller
from ledger import reads

router = LedgerRouter(prefix=PREFIX, tags=["partners"])
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]


@router.get(
    "/{partner_id}/e-mails",
    response_model=Page[EmailResponse],
    responses=READ_PROBLEMS,
    summary="List the e-mails sent or to send",
)
def list_emails(
    partner_id: PartnerId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
    runtime: RuntimeDep,
) -> Page[EmailResponse]:
    """The e-mails the ledger wrote to its outbox about the partner's account, newest first:
    invoices (R-O5), failed payments with their reason and the link to update the card
    (R-H4), refund receipts (R-H6); with whether each went out. Never card data (R-X4)."""
    readable_partner(conn, caller, partner_id, read_after)
    after = page.after_as(int)
    rows = reads.partner_mail(
        conn,
        partner_id,
        before=after[0] if after else None,
        limit=page.limit + 1,
        sealer=runtime.sealer,
    )
    emails = [EmailResponse.of(mail) for mail in rows]
    return page_of(emails, page.limit, lambda m: [m.id])
