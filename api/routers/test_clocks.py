"""`/v1/test-clocks` (issue 15): clocks of their own for test partners, advanced over HTTP with
everything due on the way done, as Stripe's test clocks are.

Admin keys make, advance and delete them; admin, finance and auditor keys read them; partner
keys neither. Refused in production (`test_clocks_not_allowed`, 403) unless the deployment is
a sandbox that allows them (LEDGERLINE_TEST_CLOCKS=allow). How an advance works is in
docs/operations.md ("Test clocks") and ledger/test_clocks.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Query, Response, status

from api.deps import ReadConnection, RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.reads import LedgerRouter
from api.schemas.common import (
    COMMAND_ANSWER,
    CommandAccepted,
    Page,
    PageParams,
    accepted,
    page_of,
)
from api.schemas.test_clocks import (
    AdvanceAnswer,
    AdvanceRequest,
    TestClockAccepted,
    TestClockRequest,
    TestClockResponse,
)
from api.security import Admin, IdempotencyKey, Overseer
from domain.errors import TestClockNotFound
from ledger import test_clock_index
from ledger.errors import TestClocksNotAllowed

PREFIX = "/v1/test-clocks"
router = LedgerRouter(prefix=PREFIX, tags=["test clocks"])
ClockId = Annotated[UUID, Path(description="The test clock's id.")]
ADVANCE_WAIT_DEFAULT_MS = 5_000
"""How long an advance is waited for before answering 202: a few months of a few partners'
work takes well under a second."""
ADVANCE_WAIT_MAX_MS = 10_000
"""The longest a caller may ask to wait, as for reads (`wait_ms`)."""


async def require_test_clocks(runtime: RuntimeDep) -> None:
    """Refuse test clocks where the settings do: production, unless a sandbox allows them."""
    if not runtime.settings.test_clocks_allowed:
        raise TestClocksNotAllowed(
            "Test clocks are refused in production; a sandbox deployment allows them with "
            "LEDGERLINE_TEST_CLOCKS=allow."
        )


TestClocksAllowed = Annotated[None, Depends(require_test_clocks)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TestClockAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Make a test clock",
)
async def create_test_clock(
    body: TestClockRequest,
    runtime: RuntimeDep,
    response: Response,
    _: Admin,
    key: IdempotencyKey,
    __: TestClocksAllowed,
) -> TestClockAccepted:
    """A clock standing at `frozen_time` (admin only). Partners opened on it
    (`POST /v1/partners` with `test_clock`) live at its instant, and an advance moves it."""
    result = await asyncio.to_thread(
        runtime.ledger.test_clocks.create, body.name, body.frozen_time, key
    )
    answer = accepted(response, result, f"{PREFIX}/{result.aggregate_id}")
    return TestClockAccepted.of(answer, result)


@router.get(
    "", response_model=Page[TestClockResponse], responses=READ_PROBLEMS, summary="List test clocks"
)
def list_test_clocks(
    conn: ReadConnection,
    _: Overseer,
    __: TestClocksAllowed,
    page: Annotated[PageParams, Depends()],
) -> Page[TestClockResponse]:
    """Every test clock, deleted ones too, oldest first."""
    after = page.after_as(datetime.fromisoformat, UUID)
    rows = test_clock_index.clock_page(
        conn, (after[0], after[1]) if after else None, page.limit + 1
    )
    items = [
        TestClockResponse.of(row, test_clock_index.partners_on(conn, row.clock_id)) for row in rows
    ]
    return page_of(items, page.limit, lambda clock: [clock.created_at.isoformat(), clock.id])


@router.get(
    "/{clock_id}",
    response_model=TestClockResponse,
    responses=READ_PROBLEMS,
    summary="Read a test clock",
)
def get_test_clock(
    clock_id: ClockId, conn: ReadConnection, _: Overseer, __: TestClocksAllowed
) -> TestClockResponse:
    """Where the clock stands, whether it is advancing (and to where), its partners. Written
    with the clock's events, so a read after a command sees it at once."""
    row = test_clock_index.clock_row(conn, clock_id)
    if row is None:
        raise TestClockNotFound.of(clock_id)
    return TestClockResponse.of(row, test_clock_index.partners_on(conn, clock_id))


@router.post(
    "/{clock_id}/advance",
    status_code=status.HTTP_201_CREATED,
    response_model=AdvanceAnswer,
    responses={
        **COMMAND_PROBLEMS,
        202: {
            "model": AdvanceAnswer,
            "description": "Still advancing after `wait_ms`: read the clock until it is "
            "`ready`; sent again with the same Idempotency-Key, the advance's answer once done.",
            "headers": COMMAND_ANSWER["headers"],
        },
    },
    summary="Advance a test clock",
)
async def advance_test_clock(
    clock_id: ClockId,
    body: AdvanceRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Admin,
    key: IdempotencyKey,
    __: TestClocksAllowed,
    wait_ms: Annotated[
        int,
        Query(
            ge=0,
            le=ADVANCE_WAIT_MAX_MS,
            description="How long to wait for the advance before answering 202.",
        ),
    ] = ADVANCE_WAIT_DEFAULT_MS,
) -> AdvanceAnswer:
    """Move the clock forward to `frozen_time` (admin only), doing on the way, in order, all
    the billing clock's work of its partners as it falls due; answered 201 with what was done,
    like every command, or 202 if still advancing after `wait_ms`. Refused, writing nothing: a
    time not later than the clock's (`test_clock_not_forward`), a clock advancing or deleted
    (`test_clock_busy`)."""
    started, finished = await asyncio.to_thread(
        runtime.ledger.test_clocks.advance_to,
        clock_id,
        body.frozen_time,
        key,
        wait_ms / 1000,
        caller.actor,
    )
    answer = accepted(response, started, f"{PREFIX}/{clock_id}")
    if finished is None:
        response.status_code = status.HTTP_202_ACCEPTED
        return AdvanceAnswer.running(answer, started)
    done = CommandAccepted(id=answer.id, position=max(answer.position, finished.position))
    return AdvanceAnswer.finished(done, finished)


@router.delete(
    "/{clock_id}",
    response_model=TestClockAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Delete a test clock",
)
async def delete_test_clock(
    clock_id: ClockId, runtime: RuntimeDep, response: Response, _: Admin, __: TestClocksAllowed
) -> TestClockAccepted:
    """Delete the clock with the partners on it (admin only): their accounts are closed ("test
    clock deleted"), their history stays in the log. Deleting it again answers the same."""
    result = await asyncio.to_thread(
        runtime.ledger.test_clocks.delete, clock_id, f"test-clock/{clock_id}/delete"
    )
    answer = accepted(response, result, f"{PREFIX}/{clock_id}")
    return TestClockAccepted.of(answer, result)
