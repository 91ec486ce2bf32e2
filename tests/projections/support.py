"""Helpers for read-model tests: a runner over live generations, and decoded events."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg import sql

from ledger.application import EVENTS_TABLE, Ledger
from ledger.database import Database
from projections import generations
from projections.base import Projection, install_functions
from projections.runner import Runner, Target


def live_runner(database: Database, *projections: Projection, batch_size: int = 5_000) -> Runner:
    """A runner of these read models' live generations (created on first use)."""
    with database.connect() as conn:
        install_functions(conn)
        targets = [
            Target(projection, generations.ensure_live(conn, projection).generation)
            for projection in projections
        ]
    return Runner(database.connect, targets, events_table=EVENTS_TABLE, batch_size=batch_size)


def logged_events(ledger: Ledger, database: Database) -> list[tuple[int, Any]]:
    """Every event in the log with its position, decoded by the domain's own mapper."""
    with database.connect() as conn:
        rows = conn.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {EVENTS_TABLE} ORDER BY notification_id"
        ).fetchall()
    return [
        (
            position,
            ledger.mapper.to_domain_event(StoredEvent(originator_id, version, topic, bytes(state))),
        )
        for position, originator_id, version, topic, state in rows
    ]


def stored_backwards(database: Database) -> None:
    """Store the log again newest first, so its rows lie on disk in the reverse of the log's
    order, and have later sessions read it without an index scan: a scan returns rows in the
    order they lie (after a vacuum, a restore or concurrent writers, not the log's), and a read
    model must not depend on that order."""
    with database.connect() as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET enable_indexscan = off").format(
                sql.Identifier(conn.info.dbname)
            )
        )
        table = sql.Identifier(EVENTS_TABLE)
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE backwards AS SELECT * FROM {} ORDER BY notification_id DESC"
            ).format(table)
        )
        stored = sql.SQL(", ").join(
            sql.Identifier(str(row[0]))
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND is_generated = 'NEVER' ORDER BY ordinal_position",
                (EVENTS_TABLE,),
            )
        )
        conn.execute(sql.SQL("DELETE FROM {}").format(table))
        conn.execute(
            sql.SQL("INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM backwards").format(
                table, stored, stored
            )
        )
        conn.execute(sql.SQL("ANALYZE {}").format(table))
