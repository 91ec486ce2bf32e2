"""Generations of a read model: built beside the live one, then swapped in atomically."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from projections.base import Projection


@dataclass(frozen=True)
class Generation:
    """One build of a read model."""

    projection: str
    generation: int
    version: int
    position: int
    live: bool


STOP_REASON_MAX_CHARS = 2_000
"""A stop's reason is the database's error message: kept whole up to this, cut beyond."""


@dataclass(frozen=True)
class Stop:
    """Why the live runner stopped one generation: the event it could not apply."""

    projection: str
    generation: int
    position: int
    topic: str
    reason: str
    stopped_at: datetime

    def describe(self) -> str:
        return f"stopped at log position {self.position} ({self.topic}): {self.reason}"


def record_stop(
    conn: psycopg.Connection[Any],
    name: str,
    generation: int,
    position: int,
    topic: str,
    reason: str,
) -> None:
    """Mark a generation stopped (in the caller's transaction); the first stop is kept."""
    conn.execute(
        "INSERT INTO projection_stops (projection, generation, position, topic, reason) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (name, generation, position, topic, reason[:STOP_REASON_MAX_CHARS]),
    )


def stops(conn: psycopg.Connection[Any]) -> dict[str, Stop]:
    """The stopped live generations, by read model."""
    rows = conn.execute(
        "SELECT s.projection, s.generation, s.position, s.topic, s.reason, s.stopped_at "
        "FROM projection_stops s JOIN projection_generations g USING (projection, generation) "
        "WHERE g.live"
    ).fetchall()
    return {str(row[0]): Stop(*row) for row in rows}


def live_stop(conn: psycopg.Connection[Any], name: str) -> Stop | None:
    """Why the live generation of a read model is stopped, if it is."""
    return stops(conn).get(name)


def clear_stop(conn: psycopg.Connection[Any], name: str) -> Stop | None:
    """Let the runner try the live generation again (after a restart); the stop it had."""
    row = conn.execute(
        "DELETE FROM projection_stops s USING projection_generations g "
        "WHERE s.projection = %s AND g.projection = s.projection "
        "AND g.generation = s.generation AND g.live "
        "RETURNING s.projection, s.generation, s.position, s.topic, s.reason, s.stopped_at",
        (name,),
    ).fetchone()
    return Stop(*row) if row else None


def generations(conn: psycopg.Connection[Any], name: str) -> list[Generation]:
    rows = conn.execute(
        "SELECT projection, generation, version, position, live FROM projection_generations "
        "WHERE projection = %s ORDER BY generation",
        (name,),
    ).fetchall()
    return [Generation(*row) for row in rows]


def live(conn: psycopg.Connection[Any], name: str) -> Generation | None:
    """The generation readers see, if any."""
    return next((g for g in generations(conn, name) if g.live), None)


def live_position(conn: psycopg.Connection[Any], name: str) -> int:
    """The last log position the live read model has applied (0 before any)."""
    row = conn.execute(
        "SELECT position FROM projection_generations WHERE projection = %s AND live", (name,)
    ).fetchone()
    return int(row[0]) if row else 0


def create(conn: psycopg.Connection[Any], projection: Projection) -> int:
    """A new, empty generation beside the others; returns its number."""
    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"generations/{projection.name}",)
        )
        row = conn.execute(
            "SELECT coalesce(max(generation), 0) + 1 FROM projection_generations "
            "WHERE projection = %s",
            (projection.name,),
        ).fetchone()
        generation = int(row[0]) if row else 1
        schema = projection.schema(generation)
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for statement in projection.ddl:
            conn.execute(projection.render(statement, generation))
        conn.execute(
            "INSERT INTO projection_generations (projection, generation, version) "
            "VALUES (%s, %s, %s)",
            (projection.name, generation, projection.version),
        )
    return generation


def promote(conn: psycopg.Connection[Any], projection: Projection, generation: int) -> None:
    """Make a generation the one readers see, in one transaction (views swap atomically)."""
    with conn.transaction():
        conn.execute(
            "UPDATE projection_generations SET live = false WHERE projection = %s AND live",
            (projection.name,),
        )
        conn.execute(
            "UPDATE projection_generations SET live = true, promoted_at = now() "
            "WHERE projection = %s AND generation = %s",
            (projection.name, generation),
        )
        schema = projection.schema(generation)
        for table in projection.tables:
            conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(table)))
            conn.execute(
                sql.SQL("CREATE VIEW {} AS SELECT * FROM {}.{}").format(
                    sql.Identifier(table), sql.Identifier(schema), sql.Identifier(table)
                )
            )


def drop(conn: psycopg.Connection[Any], projection: Projection, generation: int) -> None:
    """Remove a generation that is not live."""
    with conn.transaction():
        row = conn.execute(
            "DELETE FROM projection_generations WHERE projection = %s AND generation = %s "
            "AND NOT live RETURNING generation",
            (projection.name, generation),
        ).fetchone()
        if row is None:
            raise ValueError(f"generation {generation} of {projection.name} is live or unknown")
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(projection.schema(generation))
            )
        )


def ensure_live(conn: psycopg.Connection[Any], projection: Projection) -> Generation:
    """The live generation, creating the first one on a new database."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ensure/{projection.name}",))
        current = live(conn, projection.name)
        if current is None:
            generation = create(conn, projection)
            promote(conn, projection, generation)
            current = live(conn, projection.name)
    assert current is not None  # noqa: S101 - promote() just made it live
    return current
