"""`/v1/policy`: the billing policy's versions (every key reads) and a scheduled change of its
rates and periods (admin keys only). Issue 13: the policy is history; every rule reads the
version in force on the business date it applies to (domain/billing_policy.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Response, status

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.reads import LedgerRouter
from api.routers.partner_common import wait_for
from api.schemas.common import Page, PageParams, accepted, page_of
from api.schemas.policy import (
    PolicyChangeAccepted,
    PolicyChangeRequest,
    PolicyResponse,
    PolicyVersionResponse,
)
from api.security import Admin, Caller, IdempotencyKey
from domain.billing_policy import every_version
from domain.errors import InvalidValue
from ledger.commands.policy import SchedulePolicyChange
from projections.policy_versions import PolicyVersions

PREFIX = "/v1/policy"
router = LedgerRouter(prefix=PREFIX, tags=["policy"])


def _versions(conn: ReadConnection, runtime: RuntimeDep) -> list[PolicyVersionResponse]:
    """Every version with all its values (at most POLICY_VERSIONS_MAX + 1 small rows)."""
    rows = PolicyVersions.all(conn)
    values = every_version(runtime.ledger.policy, [row.change for row in rows])
    return [
        PolicyVersionResponse.of(values[0], None, None),
        *(
            PolicyVersionResponse.of(policy, row.change, row.scheduled_at)
            for policy, row in zip(values[1:], rows, strict=True)
        ),
    ]


def _business_date(text: str) -> date:
    """A date the pattern let through, if the calendar has it (not 2026-02-30)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a date.", field="on") from None


@router.get("", response_model=PolicyResponse, responses=READ_PROBLEMS, summary="Read the policy")
def get_policy(
    conn: ReadConnection,
    runtime: RuntimeDep,
    read_after: ReadAfterDep,
    _: Caller,
    on: Annotated[
        str | None,
        Query(
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="The business date to read it on (YYYY-MM-DD); by default today (UTC).",
            examples=["2027-03-01"],
        ),
    ] = None,
) -> PolicyResponse:
    """The version of the billing policy in force on a business date, and the versions
    scheduled after it, each with every rate and period it holds."""
    wait_for(conn, read_after, PolicyVersions.name)
    day = _business_date(on) if on else runtime.ledger.clock.now().date()
    versions = _versions(conn, runtime)
    begun = [v for v in versions if v.effective_from is None or v.effective_from <= day]
    return PolicyResponse(on=day, in_force=begun[-1], scheduled=versions[len(begun) :])


@router.get(
    "/versions",
    response_model=Page[PolicyVersionResponse],
    responses=READ_PROBLEMS,
    summary="List the policy's versions",
)
def list_policy_versions(
    conn: ReadConnection,
    runtime: RuntimeDep,
    read_after: ReadAfterDep,
    _: Caller,
    page: Annotated[PageParams, Depends()],
) -> Page[PolicyVersionResponse]:
    """Every version of the billing policy from version 0 on, in order: an auditor traces the
    `policy_version` of a card fee or a cashback credit to its rates here."""
    wait_for(conn, read_after, PolicyVersions.name)
    after = page.after_as(int)
    first = after[0] + 1 if after else 0
    items = _versions(conn, runtime)[first : first + page.limit + 1]
    return page_of(items, page.limit, lambda version: [version.version])


@router.post(
    "/changes",
    status_code=status.HTTP_201_CREATED,
    response_model=PolicyChangeAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Schedule a policy change",
)
async def schedule_policy_change(
    body: PolicyChangeRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Admin,
    key: IdempotencyKey,
) -> PolicyChangeAccepted:
    """The vendor changes rates or periods from a future business date on (admin only): the
    policy's next version. Refused, writing nothing: a day some partner has begun
    (`policy_change_not_in_future`), a day before a change already scheduled
    (`policy_change_out_of_order`), or a value the rules would not take (`invalid_value`)."""
    command = SchedulePolicyChange(
        effective_from=body.effective_from,
        changes=tuple(sorted(body.changes().items())),
        actor=caller.actor,
    )
    result = await runtime.ledger.submit(command, key)
    answer = accepted(response, result, f"{PREFIX}/versions")
    return PolicyChangeAccepted.of(answer, result)
