"""Runs a projection: reads the log in batches, applies each batch and its position atomically."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from psycopg import sql

from projections.tracking import create_positions_table, read_position

BATCH_SIZE = 1_000
"""Events per transaction: large enough to amortise a commit, small enough to keep it short."""
IDLE_WAKEUP_S = 0.5
"""Without a notification the projector still looks at the log this often (and sees a stop)."""
RECONNECT_PAUSE_S = 1.0

log = structlog.get_logger(__name__)

Decoder = Callable[[StoredEvent], object]


@dataclass(frozen=True)
class Projected:
    """One event from the log with its position."""

    position: int
    event: Any


class ProjectionFailed(Exception):
    """The projection met an event it could not apply; it stopped there and skipped nothing.

    `position` is the first log position not applied: the event, or the first of the batch,
    that failed.
    """

    def __init__(self, projection: str, position: int, cause: BaseException) -> None:
        super().__init__(
            f"Projection {projection} stopped before log position {position}: {cause!r}"
        )
        self.projection = projection
        self.position = position


class Projection(ABC):
    """A read model: its tables, the events it reads, and how a batch of them changes its rows."""

    name: ClassVar[str]
    event_classes: ClassVar[tuple[type, ...]]

    @classmethod
    def topics(cls) -> list[str]:
        """The log topics this projection reads; all others are not its business."""
        return [get_topic(event_class) for event_class in cls.event_classes]

    @abstractmethod
    def create_tables(self, conn: psycopg.Connection[Any]) -> None:
        """Create the read model's tables if they do not exist."""

    @abstractmethod
    def apply(self, conn: psycopg.Connection[Any], batch: Sequence[Projected]) -> None:
        """Apply a batch of events inside the caller's transaction."""


class Projector:
    """Keeps one projection up to date with the events table, exactly once."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        projection: Projection,
        decode: Decoder,
        *,
        events_table: str,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.connect = connect
        self.projection = projection
        self.decode = decode
        self.events_table = events_table
        self.batch_size = batch_size
        self.failure: ProjectionFailed | None = None
        self._topics = projection.topics()
        self._head_sql = sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(
            sql.Identifier(events_table)
        )
        self._batch_sql = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {} WHERE notification_id > %s AND notification_id <= %s "
            "AND topic = ANY(%s) ORDER BY notification_id LIMIT %s"
        ).format(sql.Identifier(events_table))

    @property
    def name(self) -> str:
        return self.projection.name

    def create_tables(self) -> None:
        """Create the tracking row and the projection's tables."""
        with self.connect() as conn, conn.transaction():
            create_positions_table(conn, self.name)
            self.projection.create_tables(conn)

    def position(self) -> int:
        """The last log position applied."""
        with self.connect() as conn:
            return read_position(conn, self.name)

    def run_once(self) -> tuple[int, bool]:
        """Apply the next batch; return how many events it applied and whether the log is done."""
        with self.connect() as conn, conn.transaction():
            # Locking the position row makes a second projector of the same name wait, so
            # no batch is ever applied twice.
            row = conn.execute(
                "SELECT position FROM projection_positions WHERE projection = %s FOR UPDATE",
                (self.name,),
            ).fetchone()
            if row is None:
                raise RuntimeError(f"projection {self.name} has no tables; create them first")
            start = int(row[0])
            head_row = conn.execute(self._head_sql).fetchone()
            head = int(head_row[0]) if head_row else 0
            # The events-table lock makes commit order equal id order, so every event up to
            # `head` is visible now, and none below it can appear later.
            rows = conn.execute(
                self._batch_sql, (start, head, self._topics, self.batch_size)
            ).fetchall()
            batch = [self._decoded(row) for row in rows]
            full = len(rows) == self.batch_size
            end = batch[-1].position if full else head
            if end <= start:
                return 0, True
            if batch:
                try:
                    self.projection.apply(conn, batch)
                except Exception as error:
                    raise ProjectionFailed(self.name, batch[0].position, error) from error
            conn.execute(
                "UPDATE projection_positions SET position = %s, updated_at = now() "
                "WHERE projection = %s",
                (end, self.name),
            )
        return len(batch), not full

    def catch_up(self) -> int:
        """Apply batches until the projection has read the whole log; return events applied."""
        applied = 0
        while True:
            count, done = self.run_once()
            applied += count
            if done:
                return applied

    def run(self, stop: threading.Event) -> None:
        """Follow the log until `stop` is set, woken by the events table's notifications."""
        listen = sql.SQL("LISTEN {}").format(sql.Identifier(self.events_table))
        while not stop.is_set():
            try:
                with self.connect() as listener:
                    listener.execute(listen)
                    while not stop.is_set():
                        self.catch_up()
                        for _ in listener.notifies(timeout=IDLE_WAKEUP_S, stop_after=1):
                            pass
            except ProjectionFailed as failure:
                self.failure = failure
                log.error("projection_failed", projection=self.name, error=str(failure))
                return
            except psycopg.OperationalError as error:
                log.warning("projection_reconnecting", projection=self.name, error=str(error))
                stop.wait(RECONNECT_PAUSE_S)

    def wake(self) -> None:
        """Wake a projector waiting for notifications, so it sees a stop at once."""
        with self.connect() as conn:
            conn.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(self.events_table)))

    def _decoded(self, row: tuple[Any, ...]) -> Projected:
        position, originator_id, originator_version, topic, state = row
        stored = StoredEvent(
            originator_id=originator_id if isinstance(originator_id, UUID) else UUID(originator_id),
            originator_version=originator_version,
            topic=topic,
            state=bytes(state),
        )
        try:
            event = self.decode(stored)
        except Exception as error:
            raise ProjectionFailed(self.name, position, error) from error
        return Projected(position=position, event=event)
