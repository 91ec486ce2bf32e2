"""Read-your-writes: wait, boundedly, for a read model to reach a log position."""

from __future__ import annotations

import time
from typing import Any

import psycopg

from projections.generations import Stop, live_position, live_stop

READ_WAIT_MAX_S = 10.0
"""The longest a reader may wait for a projection to reach a position (read-your-writes)."""
POLL_FIRST_S = 0.002
POLL_MAX_S = 0.05
"""Polling backs off from 2 ms to 50 ms: a write is usually projected within milliseconds."""


class ProjectionBehind(Exception):
    """A projection did not reach the asked position within the wait."""

    def __init__(self, projection: str, wanted: int, reached: int) -> None:
        super().__init__(f"{projection} has reached position {reached}, not {wanted}, yet.")
        self.projection = projection
        self.wanted = wanted
        self.reached = reached


class ReadModelStopped(Exception):
    """The read model stopped before the asked position: no wait can bring it there."""

    def __init__(self, stop: Stop, wanted: int) -> None:
        super().__init__(
            f"The read model {stop.projection} is {stop.describe()}; it cannot reach "
            f"position {wanted} until it is mended."
        )
        self.stop = stop
        self.wanted = wanted


def wait_for_position(
    conn: psycopg.Connection[Any], projection: str, position: int, timeout_s: float
) -> int:
    """Wait until the live read model has applied `position`; return the position it reached.

    A read model stopped before `position` (an event it cannot apply) fails at once.
    """
    stop = live_stop(conn, projection)
    if stop is not None and stop.position <= position:
        raise ReadModelStopped(stop, position)
    deadline = time.monotonic() + min(timeout_s, READ_WAIT_MAX_S)
    pause = POLL_FIRST_S
    while True:
        reached = live_position(conn, projection)
        if reached >= position:
            return reached
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProjectionBehind(projection, position, reached)
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, POLL_MAX_S)
