"""`/v1/partners`: partner accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.problems import COMMAND_PROBLEMS, READ_PROBLEMS
from api.schemas import CommandAccepted, accepted
from api.security import Admin, Caller, IdempotencyKey, visible
from domain.errors import PartnerNotFound
from projections.partners import PartnerDirectory
from projections.tracking import wait_for_position

router = APIRouter(prefix="/v1/partners", tags=["partners"])


class OpenPartnerRequest(BaseModel):
    """Open an account for a partner (a reseller who pays for its clients)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Acme Resellers", "currency": "USD", "time_zone": "America/New_York"}
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200, description="The partner's company name.")
    currency: str = Field(
        pattern=r"^[A-Z]{3}$", description="ISO 4217 code of the account's currency."
    )
    time_zone: str = Field(
        min_length=1, max_length=64, description="IANA time zone of the partner's business dates."
    )


class PartnerResponse(BaseModel):
    """A partner account."""

    id: UUID
    name: str
    currency: str
    time_zone: str
    opened_at: datetime = Field(description="When the account was opened (UTC).")
    position: int = Field(description="Log position of the event that last changed this view.")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Open a partner account",
)
def open_partner(
    body: OpenPartnerRequest,
    runtime: RuntimeDep,
    response: Response,
    _: Admin,
    key: IdempotencyKey,
) -> CommandAccepted:
    result = runtime.ledger.open_partner_account(
        name=body.name, currency=body.currency, time_zone=body.time_zone, key=key
    )
    return accepted(response, result, f"{router.prefix}/{result.aggregate_id}")


@router.get(
    "/{partner_id}",
    response_model=PartnerResponse,
    responses=READ_PROBLEMS,
    summary="Read a partner account",
)
def get_partner(
    partner_id: Annotated[UUID, Path(description="The partner account's id.")],
    conn: ReadConnection,
    read_after: ReadAfterDep,
    caller: Caller,
) -> PartnerResponse:
    visible(caller, partner_id, PartnerNotFound(f"No partner account {partner_id}."))
    if read_after.min_position is not None:
        wait_for_position(conn, PartnerDirectory.name, read_after.min_position, read_after.wait_s)
    view = PartnerDirectory.get(conn, partner_id)
    if view is None:
        raise PartnerNotFound(f"No partner account {partner_id}.", partner_id=partner_id)
    return PartnerResponse(
        id=view.partner_id,
        name=view.name,
        currency=view.currency,
        time_zone=view.time_zone,
        opened_at=view.opened_at,
        position=view.position,
    )
