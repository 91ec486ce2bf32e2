"""`/v1/clients`: a partner's clients, their overdue banner and their own invoices (R-C8).

A client belongs to the partner that registered it, and after a reseller transfer of its line to
the new reseller (R-E1): admin, finance, auditor and that partner's keys may read it, admin and
that partner's keys may act on it; the reseller it moved from still reads its own record of it;
any other partner's key gets the same 404 as for a client that does not exist.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

import psycopg
from fastapi import Depends, Path, Response, status
from pydantic import BaseModel, Field

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.keys import Principal
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.reads import LedgerRouter, ReadsDep
from api.routers.invoice_views import invoice_page
from api.routers.partner_common import invoice_cursor, wait_for
from api.runtime import Runtime
from api.schemas.common import CommandAccepted, Page, PageParams, accepted
from api.schemas.invoices import InvoiceSummaryView
from api.schemas.partner_reads import BannerModel
from api.security import Caller, Commander, IdempotencyKey, visible
from domain.errors import ClientNotFound
from domain.partner_account import PartnerAccount
from projections import banners, documents, invoices
from projections.banners import Banners
from projections.documents import ClosingDocuments
from projections.invoices import InvoiceHistory
from projections.tracking import wait_for_position
from replay.rebuild import head_position

router = LedgerRouter(prefix="/v1/clients", tags=["clients"])

CLIENT_LOOKUP_WAIT_S = 2.0
"""How long a client not yet known to the read model is waited for: it may have been
registered a moment ago (its partner is found through the closing documents' read model)."""
ClientId = Annotated[UUID, Path(description="The client's id (from registering it).")]


def owner_of(
    conn: psycopg.Connection[Any], runtime: Runtime, caller: Principal, client_id: UUID
) -> UUID:
    """The partner a client belongs to, if the caller may see it; else the 404.

    A client the read model does not know may have been registered an instant ago: the read
    model is given until it has applied the whole log as it is now, then asked again. The
    read model names the client's reseller now: after a transfer of its line, the new one
    (R-E1). The reseller it moved from has it among its own clients still, and reads its own
    record of it (R-C8).
    """
    partner_id = documents.client_partner(conn, client_id)
    if partner_id is None:
        wait_for_position(conn, ClosingDocuments.name, head_position(conn), CLIENT_LOOKUP_WAIT_S)
        partner_id = documents.client_partner(conn, client_id)
    if partner_id is None:
        raise ClientNotFound.of(client_id)
    own = caller.partner_id
    if own is not None and own != partner_id:
        account = runtime.ledger.load(PartnerAccount, own)
        if account is not None and str(client_id) in account.clients:
            return own
    visible(caller, partner_id, ClientNotFound.of(client_id))
    return partner_id


class ClientResponse(BaseModel):
    """A partner's client (R-C8)."""

    id: UUID
    partner_id: UUID
    name: str
    email: str | None
    unified_billing: bool = Field(
        description="The partner pays for its lines (R-O4); otherwise the client pays itself."
    )


@router.get(
    "/{client_id}",
    response_model=ClientResponse,
    responses=READ_PROBLEMS,
    summary="Read a client",
)
def get_client(
    client_id: ClientId, conn: ReadConnection, runtime: RuntimeDep, caller: Caller
) -> ClientResponse:
    """A client as its partner's account holds it now (no wait needed)."""
    partner_id = owner_of(conn, runtime, caller, client_id)
    client = runtime.ledger.partner_account(partner_id).client(client_id)
    return ClientResponse(
        id=client.client_id,
        partner_id=partner_id,
        name=client.name,
        email=client.email,
        unified_billing=client.unified_billing,
    )


class ClientBannerResponse(BaseModel):
    """The banner on a client's profile: what its lines owe, whoever pays them (R-H3)."""

    client_id: UUID
    partner_id: UUID
    banner: BannerModel | None = Field(description="Null when nothing is failed or overdue.")


@router.get(
    "/{client_id}/banner",
    response_model=ClientBannerResponse,
    responses=READ_PROBLEMS,
    summary="Read the client's overdue banner",
)
def get_client_banner(
    client_id: ClientId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    runtime: RuntimeDep,
    caller: Caller,
) -> ClientBannerResponse:
    """Failed (a declined card) and overdue (not collected by the due date) payments are both
    outstanding (R-H2); the banner shows the total owed across the client's lines, links to
    the one line owing or lists them, and stays until paid (R-H3)."""
    partner_id = owner_of(conn, runtime, caller, client_id)
    wait_for(conn, read_after, Banners.name)
    return ClientBannerResponse(
        client_id=client_id,
        partner_id=partner_id,
        banner=BannerModel.of(banners.client_banner(conn, partner_id, client_id)),
    )


@router.get(
    "/{client_id}/invoices",
    response_model=Page[InvoiceSummaryView],
    responses=READ_PROBLEMS,
    summary="List the client's invoices",
)
def list_client_invoices(
    client_id: ClientId,
    conn: ReadConnection,
    read_after: ReadAfterDep,
    runtime: RuntimeDep,
    caller: Caller,
    page: Annotated[PageParams, Depends()],
) -> Page[InvoiceSummaryView]:
    """The client's own invoices, newest first (R-C8): a partner's unified invoice names no
    client, so it is not among them."""
    partner_id = owner_of(conn, runtime, caller, client_id)
    wait_for(conn, read_after, InvoiceHistory.name)
    rows = invoices.client_invoices(
        conn, partner_id, client_id, after=invoice_cursor(page), limit=page.limit
    )
    return invoice_page(rows)


@router.post(
    "/{client_id}/remove-from-unified-billing",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses={**COMMAND_PROBLEMS, 503: READ_PROBLEMS[503]},
    summary="Remove the client from unified billing",
)
async def remove_from_unified_billing(
    client_id: ClientId,
    reads: ReadsDep,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CommandAccepted:
    """The partner stops paying for this client (R-O4): its lines bill the client itself from
    now on. Refused with `client_not_in_unified_billing` when it is not in it. A partner acts
    on its own account, which knows its clients (another's is `client_not_found`); the vendor
    on the client's partner, found in the read model."""
    partner_id = caller.partner_id
    if partner_id is None:
        # A read connection only for this lookup, not for the whole request: the command's
        # wait for its batch below needs none.
        partner_id = await reads.run(
            owner_of, {"runtime": runtime, "caller": caller, "client_id": client_id}
        )
    command = await asyncio.to_thread(
        runtime.ledger.unified_billing_removal, partner_id, client_id, caller.actor
    )
    result = await runtime.ledger.submit(command, key)
    return accepted(response, result, f"{router.prefix}/{client_id}", client_id)
