"""Dependencies the routers declare with `Annotated`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Query, Request

from api.runtime import Runtime
from api.schemas.common import READ_WAIT_DEFAULT_MS, READ_WAIT_MAX_MS
from api.security import Caller
from domain.errors import BillingError, Refusal
from projections.generations import live_position
from projections.tracking import wait_for_position
from replay.rebuild import head_position


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_read_connection(
    runtime: Annotated[Runtime, Depends(get_runtime)],
    _: Caller,
) -> Iterator[psycopg.Connection[Any]]:
    """A read connection, for an authenticated caller only.

    FastAPI solves a route's dependencies in the order its parameters name them, so a route
    naming its connection before its caller used to take a connection and then check the key,
    which needs a connection of its own: a burst of made-up keys, one more than the pool,
    waited on itself for the pool's timeout (issue 11). Depending on the caller here, the key
    is checked first whatever the order, and a request with a bad key never holds a read
    connection. Key lookups use their own small pool besides (`KEY_POOL_SIZE`).
    """
    with runtime.read_pool.connection() as conn:
        yield conn


class ReadAfter:
    """The optional read-your-writes wait of a GET: a log position and how long to wait for it."""

    def __init__(self, min_position: int | None, wait_ms: int) -> None:
        self.min_position = min_position
        self.wait_s = wait_ms / 1000

    def wait(self, conn: psycopg.Connection[Any], projection: str) -> None:
        """Wait until `projection` has applied `min_position` (if asked), or raise: 503
        `projection_behind` after `wait_ms`, at once 422 `position_not_in_log` for a position
        the log has not reached (no command answered it, so no wait can bring it)."""
        if self.min_position is None or live_position(conn, projection) >= self.min_position:
            return
        head = head_position(conn)
        if self.min_position > head:
            raise PositionNotInLog(
                f"The log has no position {self.min_position} yet (it is at {head}).",
                min_position=self.min_position,
                head=head,
            )
        wait_for_position(conn, projection, self.min_position, self.wait_s)


async def read_after(
    min_position: Annotated[
        int | None,
        Query(ge=1, description="Wait until the read model has applied this log position."),
    ] = None,
    wait_ms: Annotated[
        int,
        Query(
            ge=0,
            le=READ_WAIT_MAX_MS,
            description="How long to wait for `min_position` before answering 503.",
        ),
    ] = READ_WAIT_DEFAULT_MS,
) -> ReadAfter:
    """The `min_position` and `wait_ms` query parameters. A coroutine: FastAPI runs a plain
    function (the class itself, as this dependency was) in its thread pool, a hand-off to a
    thread and back for two numbers (issue 16)."""
    return ReadAfter(min_position, wait_ms)


class PositionNotInLog(BillingError):
    """`min_position` is past the end of the log: no command has answered with it."""

    code = "position_not_in_log"
    refusal = Refusal.INVALID


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ReadConnection = Annotated[psycopg.Connection[Any], Depends(get_read_connection)]
ReadAfterDep = Annotated[ReadAfter, Depends(read_after)]
