"""How far each projection has read the log, stored beside its rows (exactly once)."""

from __future__ import annotations

import time
from typing import Any

import psycopg

POSITIONS_DDL = """
CREATE TABLE IF NOT EXISTS projection_positions (
    projection text PRIMARY KEY,
    position bigint NOT NULL CHECK (position >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""

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


def create_positions_table(conn: psycopg.Connection[Any], projection: str) -> None:
    """Create the positions table and this projection's row at position 0."""
    conn.execute(POSITIONS_DDL)
    conn.execute(
        "INSERT INTO projection_positions (projection, position) VALUES (%s, 0) "
        "ON CONFLICT (projection) DO NOTHING",
        (projection,),
    )


def read_position(conn: psycopg.Connection[Any], projection: str) -> int:
    """The last log position the projection has applied (0 before any)."""
    row = conn.execute(
        "SELECT position FROM projection_positions WHERE projection = %s", (projection,)
    ).fetchone()
    return int(row[0]) if row else 0


def wait_for_position(
    conn: psycopg.Connection[Any], projection: str, position: int, timeout_s: float
) -> int:
    """Wait until the projection has applied `position`; return the position it reached."""
    deadline = time.monotonic() + min(timeout_s, READ_WAIT_MAX_S)
    pause = POLL_FIRST_S
    while True:
        reached = read_position(conn, projection)
        if reached >= position:
            return reached
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProjectionBehind(projection, position, reached)
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, POLL_MAX_S)
