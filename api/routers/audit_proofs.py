"""`/v1/audit/verify` and `/v1/audit/digest`: proofs that the log was not altered, for the
vendor's admin and auditor keys (issue 14; docs/audit.md). Each is one query of replay/."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Query

from api.deps import PositionNotInLog, ReadConnection, RuntimeDep
from api.problems.documented import READ_PROBLEMS, problem_entry
from api.reads import LedgerRouter
from api.schemas.audit_proofs import SignedDigestResponse, VerificationResponse
from api.security import Auditor
from domain.errors import PartnerNotFound
from replay.digests import head_position, signed_digest
from replay.proofs_keys import signing_key
from replay.verify import verify

router = LedgerRouter(prefix="/v1/audit", tags=["audit"])

POSITION_MAX = 2**63 - 1
"""A log position is a PostgreSQL bigint."""
FORBIDDEN = problem_entry(
    "A partner or finance key: only admin and auditor keys audit (`forbidden`)."
)
AUDIT_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **{status: READ_PROBLEMS[status] for status in (401, 422, 429, 503)},
    403: FORBIDDEN,
}


@router.get(
    "/verify",
    response_model=VerificationResponse,
    responses={**AUDIT_PROBLEMS, 404: READ_PROBLEMS[404]},
    summary="Verify the hash chains",
)
def verify_chains(
    conn: ReadConnection,
    runtime: RuntimeDep,
    _: Auditor,
    partner_id: Annotated[UUID | None, Query(description="Walk only this partner's chain.")] = None,
) -> VerificationResponse:
    """Walk the hash chains (all, or one partner's) and report every broken link by log
    position and partner, or that they are intact with the count of events. A broken chain is
    reported with 200: it is the answer, not an error. The walk reads every event (about
    50,000 a second): a partner's chain alone is quicker. Snapshots (the caches an aggregate
    loads from) are checked against the events they stand for too (`snapshot` breaks)."""
    found = verify(conn, partner_id=partner_id, snapshots=runtime.ledger.mapper)
    if partner_id is not None and found.events == 0:
        raise PartnerNotFound.of(partner_id)
    return VerificationResponse.model_validate(found.as_json())


@router.get(
    "/digest",
    response_model=SignedDigestResponse,
    responses={
        **AUDIT_PROBLEMS,
        409: problem_entry(
            "A chain is broken: nothing is signed (`audit_chain_broken`, with the first "
            "break's `position`)."
        ),
    },
    summary="Sign the chains' heads",
)
def get_digest(
    conn: ReadConnection,
    runtime: RuntimeDep,
    _: Auditor,
    position: Annotated[
        int | None,
        Query(ge=1, le=POSITION_MAX, description="The log position; the head now by default."),
    ] = None,
) -> dict[str, Any]:
    """Every chain's head at a log position (chain, link number, hash, the link's position),
    verified by a walk, then signed with the vendor's Ed25519 key. An auditor keeps it: a
    bundle exported later must pass through these heads (`ledgerline audit check-bundle
    --digest`). A position past the end of the log is 422 `position_not_in_log`."""
    if position is not None and position > (head := head_position(conn)):
        raise PositionNotInLog(
            f"The log has no position {position} yet (it is at {head}).",
            min_position=position,
            head=head,
        )
    settings = runtime.settings
    key = signing_key(settings.audit_signing_key, settings.home)
    return signed_digest(conn, key, runtime.ledger.clock.now(), up_to=position)
