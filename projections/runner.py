"""Applies the log to read models, a batch per transaction, exactly once.

Each batch: lock the generations' position rows, take the events after the lowest position
up to `batch_size` further (or the head of the log), parse them once into `batch_events`,
run every projection's statements, and move the positions, all in one transaction. A crash
at any point leaves either the whole batch or none of it. An event whose kind the runner does
not know stops it before anything of that batch is applied: it never skips.

Live, it follows the log through LISTEN/NOTIFY on the events table's channel, and runs in one
process at a time: it holds a session advisory lock, so when the process holding it dies,
another takes over as soon as PostgreSQL notices the lost session.

The live runner (`Runner.following_live`) also follows the generations: each batch applies to
whichever generation of each read model is live at that moment (read under the same row lock
that guards its position), so a generation promoted by a rebuild, in this process or another,
is maintained from the next batch on, and never one built by another version of the code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog
from psycopg import sql

from projections import generations
from projections.base import Projection, event_topics, stage, statement_topics

BATCH_SIZE = 5_000
"""Log positions per transaction: large enough to amortise a commit, short enough to hold."""
IDLE_WAKEUP_S = 0.5
"""Without a notification the runner still looks at the log this often (and sees a stop)."""
LOCK_RETRY_S = 1.0
"""How often a runner that does not hold the lock tries again (takeover within seconds)."""
RECONNECT_PAUSE_S = 0.1
RECONNECT_PAUSE_MAX_S = 2.0
"""After a lost connection the runner tries again in 0.1 s, doubling to 2 s: back quickly
after a blip, and at worst 2 s after the database returns from a long outage."""

log = structlog.get_logger(__name__)


class _Unappliable(Exception):
    """A live batch failed in the database: it is applied again one read model at a time."""


def lost_connection(error: psycopg.Error) -> bool:
    """Whether the connection is gone (the runner reconnects), not a statement refused (a
    read model stops). A pipeline aborted by a refused statement is an OperationalError to
    psycopg, but the connection is fine."""
    if isinstance(error, psycopg.errors.PipelineAborted):
        return False
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)


class _Probed(Exception):
    """Rolls a probe's savepoint back once its statements have applied."""


class ProjectionFailed(Exception):
    """A batch could not be applied; the runner stopped before it and skipped nothing."""

    def __init__(self, projections: str, position: int, cause: BaseException | str) -> None:
        super().__init__(f"{projections} stopped after log position {position}: {cause}")
        self.projections = projections
        self.position = position


@dataclass(frozen=True)
class Target:
    """One generation of one read model."""

    projection: Projection
    generation: int

    @property
    def schema(self) -> str:
        return self.projection.schema(self.generation)


class Runner:
    """Keeps some generations of read models up to date with the log."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        targets: list[Target],
        *,
        events_table: str,
        batch_size: int = BATCH_SIZE,
        lock_key: str | None = None,
    ) -> None:
        self.connect = connect
        self.targets = targets
        self.events_table = events_table
        self.batch_size = batch_size
        self.lock_key = lock_key
        self.failure: ProjectionFailed | None = None
        self.holds_lock = False
        self.connected = False
        """True while `run` follows the log on a live connection (what readiness asks)."""
        self.last_error: str | None = None
        self.applied = 0
        self._relevant = sorted({topic for t in targets for topic in t.projection.topics()})
        self._known = frozenset(event_topics().values())
        self._rendered = self._render(targets)
        self._following: tuple[Projection, ...] = ()
        self._conn: psycopg.Connection[Any] | None = None

    @classmethod
    def following_live(
        cls,
        connect: Callable[[], psycopg.Connection[Any]],
        projections: list[Projection],
        *,
        events_table: str,
        batch_size: int = BATCH_SIZE,
        lock_key: str | None = None,
    ) -> Runner:
        """A runner of whichever generation of each read model is live when a batch starts.

        A read model whose live generation was built by another version of its code is left
        alone until a generation of this version is promoted (`ledgerline projections rebuild`).
        """
        runner = cls(
            connect, [], events_table=events_table, batch_size=batch_size, lock_key=lock_key
        )
        runner._following = tuple(projections)
        runner._relevant = sorted({topic for p in projections for topic in p.topics()})
        return runner

    @staticmethod
    def _render(targets: list[Target]) -> list[list[tuple[sql.Composed, frozenset[str]]]]:
        """Each target's statements, with the event topics each one names (if any)."""
        return [
            [
                (target.projection.render(s, target.generation), statement_topics(s))
                for s in target.projection.statements
            ]
            for target in targets
        ]

    @property
    def name(self) -> str:
        return ", ".join(f"{t.projection.name}#{t.generation}" for t in self.targets)

    # --- one batch ----------------------------------------------------------------------

    def run_once(self, conn: psycopg.Connection[Any], until: int | None = None) -> tuple[int, bool]:
        """Apply the next batch; return how far the positions moved and whether the log is done.

        A live runner (`following_live`) that meets an event one read model cannot apply stops
        that read model alone: the batch is rolled back and applied again one read model at a
        time, the failing one up to the event before the one it cannot apply, which is recorded
        as its stop (`projection_stops`); the others carry on. A runner of given generations (a
        rebuild) raises `ProjectionFailed` instead. A lost connection is never a stop: it
        propagates as psycopg's `OperationalError` for the caller to reconnect.
        """
        try:
            return self._batch(conn, until, one_by_one=False)
        except _Unappliable:
            return self._batch(conn, until, one_by_one=True)

    def _batch(
        self, conn: psycopg.Connection[Any], until: int | None, *, one_by_one: bool
    ) -> tuple[int, bool]:
        with conn.transaction():
            if self._following:
                self._follow_live(conn)
                if not self.targets:
                    return 0, True
            keys = [(t.projection.name, t.generation) for t in self.targets]
            rows = conn.execute(
                sql.SQL(
                    "SELECT projection, generation, position,"
                    " (SELECT coalesce(max(notification_id), 0) FROM {})"
                    " FROM projection_generations"
                    " WHERE (projection, generation) IN"
                    " (SELECT * FROM unnest(%s::text[], %s::int[]))"
                    " ORDER BY projection, generation FOR UPDATE"
                ).format(sql.Identifier(self.events_table)),
                ([k[0] for k in keys], [k[1] for k in keys]),
            ).fetchall()
            positions = {(row[0], row[1]): int(row[2]) for row in rows}
            if len(positions) != len(keys):
                raise RuntimeError(f"{self.name}: a generation is missing")
            low = min(positions.values())
            head = int(rows[0][3])
            if until is not None:
                head = min(head, until)
            # The events-table lock makes commit order equal id order, so every event up to
            # `head` is visible now, and none below it can appear later.
            high = min(head, low + self.batch_size)
            if high <= low:
                return 0, True
            present = self._stage(conn, low, high)
            unknown = self._first_unknown(conn, present)
            if unknown is not None:
                position, topic = unknown
                if not self._following:
                    raise ProjectionFailed(
                        self.name, position - 1, f"an event of unknown kind {topic!r}"
                    )
                # Every read model stops before it: none can say it would not have needed it.
                stopped = self._apply_one_by_one(conn, positions, position - 1, (low, high))
                for target in self.targets:
                    if target not in stopped:  # one stopped earlier keeps that stop
                        self._stop(conn, target, position, f"an event of unknown kind {topic!r}")
                return position - 1 - low, False
            if one_by_one:
                self._apply_one_by_one(conn, positions, high, (low, high))
                return high - low, high >= head
            # Every statement, the positions and the notification go in one pipeline: the
            # server runs them back to back, and the client waits once, at the end.
            try:
                with conn.pipeline():
                    for target, statements in zip(self.targets, self._rendered, strict=True):
                        since = positions[(target.projection.name, target.generation)]
                        for statement, topics in statements:
                            # A statement that reads only some kinds of event has nothing to
                            # do in a batch without them (most live batches hold a few kinds).
                            if topics and topics.isdisjoint(present):
                                continue
                            conn.execute(statement, {"lo": since, "hi": high})
                    self._move(conn, keys, high)
            except psycopg.Error as error:
                if lost_connection(error):
                    raise
                if self._following:
                    raise _Unappliable from error
                raise ProjectionFailed(self.name, low, error) from error
        return high - low, high >= head

    def _stage(self, conn: psycopg.Connection[Any], low: int, high: int) -> set[str]:
        """Stage the batch's events in `batch_events`; the kinds of event it holds."""
        return {
            str(row[0])
            for row in conn.execute(
                sql.SQL(
                    "WITH staged AS (INSERT INTO batch_events (position, originator_id,"
                    " version, topic, event, recorded_at)"
                    " SELECT position, originator_id, version, topic, event,"
                    " ll_instant(event -> 'timestamp')"
                    " FROM (SELECT notification_id AS position, originator_id,"
                    " originator_version AS version, topic,"
                    " CASE WHEN topic = ANY(%(relevant)s) THEN '{{}}'::jsonb || event"
                    " END AS event"
                    " FROM {} WHERE notification_id > %(low)s"
                    " AND notification_id <= %(high)s) e"
                    " RETURNING topic)"
                    " SELECT DISTINCT topic FROM staged"
                ).format(sql.Identifier(self.events_table)),
                {"relevant": self._relevant, "low": low, "high": high},
            )
        }

    def _first_unknown(
        self, conn: psycopg.Connection[Any], present: set[str]
    ) -> tuple[int, str] | None:
        """The first staged event of a kind this code does not know, if any."""
        if present <= self._known:
            return None
        row = conn.execute(
            "SELECT position, topic FROM batch_events WHERE topic <> ALL(%s) "
            "ORDER BY position LIMIT 1",
            (sorted(self._known),),
        ).fetchone()
        assert row is not None  # noqa: S101 - a topic not known is in the batch
        return int(row[0]), str(row[1])

    def _move(self, conn: psycopg.Connection[Any], keys: list[tuple[str, int]], to: int) -> None:
        conn.execute(
            "UPDATE projection_generations SET position = %s WHERE "
            "(projection, generation) IN (SELECT * FROM unnest(%s::text[], %s::int[]))",
            (to, [k[0] for k in keys], [k[1] for k in keys]),
        )
        conn.execute(sql.SQL("NOTIFY {}").format(sql.Identifier("projection_positions")))

    def _attempt(
        self,
        conn: psycopg.Connection[Any],
        index: int,
        since: int,
        to: int,
        staged: tuple[int, int],
        *,
        keep: bool,
    ) -> psycopg.Error | None:
        """One target's statements over (since, to] in a savepoint: the error, if they fail.

        Statements read every staged event after their target's position, so a shorter range
        is applied by unstaging the events after `to` first; kept, the batch is staged again
        for the next target. Kept if the statements apply and `keep`, rolled back otherwise
        (a probe). A lost connection is not an answer about the events: it propagates.
        """
        try:
            with conn.transaction():
                if to < staged[1]:
                    conn.execute("DELETE FROM batch_events WHERE position > %s", (to,))
                for statement, _ in self._rendered[index]:
                    conn.execute(statement, {"lo": since, "hi": to})
                if not keep:
                    raise _Probed
        except _Probed:
            return None
        except psycopg.Error as error:
            if lost_connection(error):
                raise
            return error
        if to < staged[1]:
            conn.execute("DELETE FROM batch_events")
            self._stage(conn, *staged)
        return None

    def _apply_one_by_one(
        self,
        conn: psycopg.Connection[Any],
        positions: dict[tuple[str, int], int],
        high: int,
        staged: tuple[int, int],
    ) -> list[Target]:
        """Apply each target alone up to `high`; one that fails stops before its bad event.
        Answers the targets stopped.

        The first event a target cannot apply is found by halving (statements apply a range
        of positions, so applying (since, p] fails exactly when p is at or past it): about
        log2(batch size) savepoints, paid only on the batch where a read model stops.
        """
        stopped: list[Target] = []
        for index, target in enumerate(self.targets):
            key = (target.projection.name, target.generation)
            since = positions[key]
            if since >= high:
                continue
            failure = self._attempt(conn, index, since, high, staged, keep=True)
            if failure is None:
                self._move(conn, [key], high)
                continue
            good, bad = since, high
            while bad - good > 1:
                middle = (good + bad) // 2
                error = self._attempt(conn, index, since, middle, staged, keep=False)
                if error is None:
                    good = middle
                else:
                    bad, failure = middle, error
            if good > since:
                self._attempt(conn, index, since, good, staged, keep=True)
                self._move(conn, [key], good)
            self._stop(conn, target, bad, str(failure).strip())
            stopped.append(target)
        return stopped

    def _stop(self, conn: psycopg.Connection[Any], target: Target, position: int, why: str) -> None:
        row = conn.execute(
            sql.SQL("SELECT topic FROM {} WHERE notification_id = %s").format(
                sql.Identifier(self.events_table)
            ),
            (position,),
        ).fetchone()
        topic = str(row[0]) if row else "?"
        generations.record_stop(
            conn, target.projection.name, target.generation, position, topic, why
        )
        log.error(
            "projection_stopped",
            projection=target.projection.name,
            generation=target.generation,
            position=position,
            topic=topic,
            reason=why,
            hint="the other read models carry on; fix the code and restart, or rebuild",
        )

    def _follow_live(self, conn: psycopg.Connection[Any]) -> None:
        """Target the live generations, locking their rows until the batch commits.

        A promotion waits for this lock, and a batch that waited for a promotion finds the
        generation it waited on no longer live: it leaves that read model for the next batch.
        """
        rows = conn.execute(
            "SELECT projection, generation, version, EXISTS (SELECT 1 FROM projection_stops s"
            " WHERE s.projection = g.projection AND s.generation = g.generation)"
            " FROM projection_generations g"
            " WHERE projection = ANY(%s) AND live ORDER BY projection, generation FOR UPDATE",
            ([p.name for p in self._following],),
        ).fetchall()
        live = {str(row[0]): (int(row[1]), int(row[2])) for row in rows if not row[3]}
        targets = [
            Target(p, live[p.name][0])
            for p in self._following
            if p.name in live and live[p.name][1] == p.version
        ]
        if [t.schema for t in targets] != [t.schema for t in self.targets]:
            log.info(
                "projection_generations_followed",
                live=[t.schema for t in targets],
                left_alone=sorted(set(live) - {t.projection.name for t in targets}),
                stopped=sorted(str(row[0]) for row in rows if row[3]),
            )
            self.targets = targets
            self._rendered = self._render(targets)

    def catch_up(
        self, until: int | None = None, progress: Callable[[int], None] | None = None
    ) -> int:
        """Apply batches until the log (or `until`) is reached; return positions moved."""
        conn = self._connection()
        moved = 0
        while True:
            step, done = self.run_once(conn, until)
            moved += step
            self.applied += step
            if progress is not None and step:
                progress(step)
            if done:
                return moved

    # --- live -----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Follow the log until `stop`, in one process at a time (see the module docstring)."""
        pause_s = RECONNECT_PAUSE_S
        while not stop.is_set():
            try:
                conn = self._connection()
                if not self._lock(conn):
                    self.connected = True  # another process applies the log: all is well
                    stop.wait(LOCK_RETRY_S)
                    continue
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.events_table)))
                if self.last_error is not None:
                    log.info("projection_reconnected", projections=self.name)
                self.connected, self.last_error, pause_s = True, None, RECONNECT_PAUSE_S
                while not stop.is_set():
                    self.catch_up()
                    # Notifications that arrived while catching up wait in psycopg's backlog,
                    # so this returns at once for them: none is lost.
                    for _ in conn.notifies(timeout=IDLE_WAKEUP_S, stop_after=1):
                        pass
            except ProjectionFailed as failure:
                self.failure, self.connected = failure, False
                log.error("projection_failed", projections=self.name, error=str(failure))
                return
            except (psycopg.OperationalError, psycopg.InterfaceError) as error:
                pause_s = self._reconnect_after(error, stop, pause_s)
        self.connected = False
        self._drop_connection()

    def _reconnect_after(
        self, error: psycopg.Error, stop: threading.Event, pause_s: float
    ) -> float:
        """Drop the lost connection and wait `pause_s`; the next pause, backed off."""
        if self.last_error is None:  # the first failure of an outage
            log.warning("projection_reconnecting", projections=self.name, error=str(error))
        self.connected, self.last_error = False, str(error) or type(error).__name__
        self._drop_connection()
        stop.wait(pause_s)
        return min(pause_s * 2, RECONNECT_PAUSE_MAX_S)

    def wake(self) -> None:
        """Make a waiting runner look at the log now (and see a stop)."""
        with self.connect() as conn:
            conn.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(self.events_table)))

    def close(self) -> None:
        self._drop_connection()

    def _lock(self, conn: psycopg.Connection[Any]) -> bool:
        if self.lock_key is None or self.holds_lock:
            return True
        row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self.lock_key,)).fetchone()
        self.holds_lock = bool(row and row[0])
        if self.holds_lock:
            log.info("projection_lock_taken", projections=self.name)
        return self.holds_lock

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            conn = self.connect()
            stage(conn)
            self._conn = conn
            self.holds_lock = False
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self.holds_lock = False
