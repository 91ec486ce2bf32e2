"""Riding out a database outage: tell a lost connection from other errors, fail fast while
the database is down, and come back by ourselves when it answers again (issue 11, item 2).

Every part that talks to PostgreSQL reports here: the pools as they hand out connections
(`CheckedPool`), the writer as its batches fail or commit, the background tasks as they run
(`BackgroundHealth`). Nothing here retries a command: a caller told `DatabaseUnavailable`
retries with the same idempotency key, which replays the first answer if it did land (R-X5).
"""

from __future__ import annotations

import select
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import structlog
from eventsourcing import persistence
from psycopg_pool import ConnectionPool, PoolTimeout

from ledger.database import CannotConnect

DOWN_WAIT_S = 0.5
"""How long a caller waits for a pooled connection while the database is known to be down. A
reconnection under way takes milliseconds once the server answers; waiting longer only holds
the client (told 503 `database_unavailable`, to retry) and a handler thread. Without it a
caller would wait the pool's whole timeout (30 s by default) for a server that is not there."""
POOL_RECONNECT_TIMEOUT_S = 2.0
"""How long a pool keeps retrying one lost connection. psycopg_pool backs off from 1 s,
doubling, for 5 minutes by default, so a pool could come back minutes after the database;
once it gives up, the next caller that finds no connection starts a fresh attempt at once, so
a pool is back within about a second of the database."""
CHECK_IDLE_S = 1.0
"""A pooled connection is checked (one empty statement, a round trip) before it is handed out
when it has been idle this long, or when something arrived on its socket while it was idle
(a server ending the session says so and closes it). Otherwise it is handed out as it is: the
check was a round trip for every read, each waiting again for the interpreter under load
(issue 16: without it, queries at 200/s beside 1,000 commands/s had a p99 of 14-18 ms against
21-42 ms). A connection that broke silently within this time (a network that drops packets)
fails its first statement instead, answered as an outage (503 `database_unavailable`), and
the pool replaces it."""

BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 2.0
"""A background task retries a lost database after 0.1 s, doubling to 2 s: quick after a
blip, and at worst 2 s late after a long outage; an attempt on a server that is down costs a
refused connection, so waiting longer saves nothing."""
LAST_ERROR_MAX_CHARS = 300
"""A driver's message is a line or two; longer ones are cut for /readyz and the logs."""

CONNECTION_LOST_STATES = frozenset({"57P01", "57P02", "57P03"})
"""admin_shutdown, crash_shutdown, cannot_connect_now: the server is stopping or starting."""

log = structlog.get_logger(__name__)


class DatabaseUnavailable(Exception):
    """The database did not answer; whatever was asked may be asked again (with its same key)."""


def connection_lost(error: BaseException | None) -> bool:
    """Whether `error` says the database could not be reached or the connection broke, as
    opposed to a statement the database refused (a lock or statement timeout is not one)."""
    if isinstance(error, DatabaseUnavailable | CannotConnect | PoolTimeout):
        return True
    if isinstance(error, persistence.OperationalError | persistence.InterfaceError):
        # The event store's library wraps the driver's errors, keeping them as the cause.
        return connection_lost(error.__cause__)
    if isinstance(error, psycopg.InterfaceError):
        return True
    if isinstance(error, psycopg.errors.PipelineAborted):
        # A statement of the pipeline failed (a command's events the database refused) and
        # the rest were skipped: the connection is fine. psycopg makes it an OperationalError
        # without a state, which would otherwise read as a lost connection.
        return False
    if isinstance(error, psycopg.OperationalError):
        state = error.sqlstate
        return state is None or state.startswith("08") or state in CONNECTION_LOST_STATES
    return False


def _text(error: BaseException) -> str:
    return (str(error).strip() or type(error).__name__)[:LAST_ERROR_MAX_CHARS]


class DatabaseHealth:
    """Whether the database answered the last time anyone asked, shared by the whole process.

    Down, a pool waits `DOWN_WAIT_S` rather than its timeout; the first failure of an outage
    logs a warning and the first answer after it an info line, so an outage is two log lines.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: datetime | None = None
        self.last_error: str | None = None
        self.outages = 0
        self._down_at = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.last_error = _text(error)
            if self.down_since is not None:
                return
            self.down_since = datetime.now(UTC)
            self._down_at = time.monotonic()
            self.outages += 1
        log.warning("database_unavailable", error=self.last_error)

    def answered(self) -> None:
        if self.down_since is not None:  # else the usual case: no lock taken
            self._back()

    def _back(self) -> None:
        with self._lock:
            since, self.down_since = self.down_since, None
            down_s = time.monotonic() - self._down_at
        if since is not None:  # else another thread saw it back first
            log.info("database_back", down_s=round(down_s, 3))


def pool(conninfo: str, size: int, timeout_s: float) -> ConnectionPool[psycopg.Connection[Any]]:
    """A pool of autocommit connections, open and holding one, that gives up on a lost
    connection after `POOL_RECONNECT_TIMEOUT_S` (see there)."""
    return ConnectionPool(
        conninfo,
        min_size=1,
        max_size=size,
        timeout=timeout_s,
        reconnect_timeout=POOL_RECONNECT_TIMEOUT_S,
        kwargs={"autocommit": True},
        open=True,
    )


def _quiet(conn: psycopg.Connection[Any]) -> bool:
    """Nothing has arrived on the idle connection's socket: a server that ends a session (a
    restart, `pg_terminate_backend`) says so and closes it, which makes it readable at once."""
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return False
    return not readable


class CheckedPool:
    """A connection pool that checks a connection idle for `CHECK_IDLE_S` (or any, while the
    database is down) before handing it out, and tells the process's `DatabaseHealth` what it
    found.

    A connection broken by an outage is dropped and another taken (the pool connects anew),
    so the first callers after the database is back are served; while the database is down a
    caller waits `DOWN_WAIT_S` at most and hears `DatabaseUnavailable`. The check is one empty
    statement, a round trip of tens of microseconds on a local socket.
    """

    def __init__(
        self,
        pool: ConnectionPool[psycopg.Connection[Any]],
        health: DatabaseHealth,
        check_idle_s: float = CHECK_IDLE_S,
    ) -> None:
        self.pool = pool
        self.health = health
        self.check_idle_s = check_idle_s
        self._given_back: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = (
            weakref.WeakKeyDictionary()
        )
        """When each connection was last given back (`time.monotonic`)."""

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection[Any]]:
        """A checked connection, given back afterwards; `timeout` as the pool's own."""
        conn = self._checked(self.pool.timeout if timeout is None else timeout)
        try:
            with conn:
                yield conn
        except Exception as error:
            if connection_lost(error):
                self.health.failed(error)
            raise
        finally:
            self._given_back[conn] = time.monotonic()
            self.pool.putconn(conn)

    def _checked(self, timeout_s: float) -> psycopg.Connection[Any]:
        # Down when asked: this caller's short wait ending is the outage (even if the
        # database answered another part of the process meanwhile), not a busy pool.
        down = self.health.down
        wait_s = min(timeout_s, DOWN_WAIT_S) if down else timeout_s
        broken: BaseException | None = None
        # Every connection the pool holds may be broken, and one more try gets a fresh one.
        for _ in range(self.pool.max_size + 1):
            try:
                conn = self.pool.getconn(wait_s)
            except PoolTimeout as timeout:
                if broken is None and not down and not self.health.down:
                    raise  # every connection is busy: the database is fine
                self.health.failed(broken or timeout)
                raise DatabaseUnavailable(_text(broken or timeout)) from timeout
            # While the database is down every connection is checked: its answer is the news.
            idle_s = time.monotonic() - self._given_back.get(conn, float("-inf"))
            checked = down or self.health.down or idle_s >= self.check_idle_s or not _quiet(conn)
            try:
                if checked:
                    ConnectionPool.check_connection(conn)
            except psycopg.Error as error:
                broken = error
                self.pool.putconn(conn)  # found broken: the pool drops it and connects anew
                wait_s = min(wait_s, DOWN_WAIT_S)
                continue
            if checked:
                self.health.answered()
            return conn
        assert broken is not None  # noqa: S101 - the loop runs at least once
        self.health.failed(broken)
        raise DatabaseUnavailable(_text(broken)) from broken

    def close(self) -> None:
        self.pool.close()


class Backoff:
    """Pauses between a background task's attempts while the database is down: from
    `BACKOFF_FIRST_S`, doubling, up to `BACKOFF_MAX_S`."""

    def __init__(self, first_s: float = BACKOFF_FIRST_S, max_s: float = BACKOFF_MAX_S) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self._next_s = first_s

    def next_s(self) -> float:
        pause_s = self._next_s
        self._next_s = min(self._next_s * 2, self.max_s)
        return pause_s

    def reset(self) -> None:
        self._next_s = self.first_s


class BackgroundHealth:
    """How one background task of the process is doing: running and connected (`ok`) since
    when, how many rounds it finished, and the last error that stopped a round."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ok = False
        self.since = datetime.now(UTC)
        self.last_error: str | None = None
        self.rounds = 0
        self._waiting = False

    def ran(self) -> None:
        """A round finished: the task is running and reached the database."""
        self.rounds += 1
        if self.ok:
            return
        self.ok, self.since = True, datetime.now(UTC)
        if self._waiting:
            self._waiting = False
            log.info("background_task_back", task=self.name)

    def failed(self, error: BaseException) -> None:
        """A round could not reach the database; the first failure of an outage is logged."""
        self.last_error = _text(error)
        if self._waiting:
            return
        self._waiting = True
        self.ok, self.since = False, datetime.now(UTC)
        log.warning("background_task_waiting_for_database", task=self.name, error=self.last_error)

    def stopped(self, error: BaseException | None = None) -> None:
        """The task ended (asked to, or by an error that needs a person)."""
        if error is not None:
            self.last_error = _text(error)
        self.ok, self.since = False, datetime.now(UTC)
