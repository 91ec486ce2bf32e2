"""Helpers shared by the tests."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import psycopg
import structlog
import uvicorn
from psycopg import sql
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api import keys
from api.app import create_app, use_handler_threads
from api.runtime import Runtime
from api.server import server_config
from ledger.application import EVENTS_TABLE
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.settings import HTTP_BODY_TIMEOUT_S, HTTP_HEADER_TIMEOUT_S, Environment, Settings
from replay.rebuild import head_position

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

START = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
SERVER_START_TIMEOUT_S = 10.0
SOAK = os.environ.get("LEDGERLINE_SOAK") == "1"
"""The long variants of the crash and concurrency tests (`LEDGERLINE_SOAK=1 make pytest`):
many more seeds, threads and kill points than the few seconds an ordinary run spends."""

NOT_CATALOGUE = "topic NOT LIKE 'domain.catalogue:%%'"
"""A filter of the events a test wrote: the template database holds the shipped catalogue,
imported by its first start (api/runtime.py), before any test's own events."""
NOT_CATALOGUE_IMPORT = "command <> 'import_product'"
"""A filter of the commands a test logged: not the template's catalogue import."""


FORK_SERVER_PRELOAD = ["__main__", "tests.api.crash_server", "tests.projections.crash_worker"]
"""What the fork server imports once: every module whose functions the tests run in a forked
process. One list for all: the first test to fork starts the session's fork server, with its
preload, for every later one."""


def fork_server() -> multiprocessing.context.ForkServerContext:
    """Processes forked from a server that has already imported Ledgerline: a real process,
    killed for real, that costs what it runs and not a fresh interpreter's imports (about 1 s of
    CPU for the API, 0.4 s for a projector, paid once by the fork server)."""
    context = multiprocessing.get_context("forkserver")
    # The main module too (pytest's script, under plain pytest), or each process would run it
    # again.
    context.set_forkserver_preload(FORK_SERVER_PRELOAD)
    return context


def route_logs_to_pytest() -> None:
    """structlog through the standard library's logging, where pytest captures each test's
    lines and shows them with its failure, instead of printing them between the dots.

    A line logged between tests (a background thread winding down) goes nowhere.
    """
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.processors.format_exc_info,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    if not any(isinstance(handler, logging.NullHandler) for handler in root.handlers):
        root.addHandler(logging.NullHandler())


def embedded_server(
    data_dir: Path, cleanup_mode: Literal["stop", "delete"] = "delete"
) -> PostgresServer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server
    return get_server(data_dir, cleanup_mode=cleanup_mode)


def _create_statement(name: str, template: str | None) -> sql.Composed:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    return statement


def _drop_statement(database: Database) -> sql.Composed:
    return sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
        sql.Identifier(database.params()["dbname"])
    )


def create_database(server: Database, template: str | None = None) -> Database:
    """A new database on `server`: empty, or a copy of `template`."""
    name = f"ledgerline_test_{uuid.uuid4().hex[:16]}"
    with server.connect() as conn:
        conn.execute(_create_statement(name, template))
    return server.with_dbname(name)


def drop_database(server: Database, database: Database) -> None:
    with server.connect() as conn:
        conn.execute(_drop_statement(database))


@contextmanager
def created_database(server: Database, template: str | None = None) -> Iterator[Database]:
    """A new database on `server` (empty, or a copy of `template`), dropped afterwards."""
    database = create_database(server, template)
    try:
        yield database
    finally:
        drop_database(server, database)


class DatabaseCopies:
    """Copies of a template database, each made while the test before it runs and dropped while
    the test after it runs.

    Copying the template (about 0.07 s: PostgreSQL copies every relation's files) and dropping
    a copy (about 0.03 s: in PostgreSQL 16 a drop waits for a checkpoint) are most of a
    database test's setup and teardown, twice that on a loaded machine. Made one step ahead and
    dropped one step behind, in one thread with one administrative connection (a connection
    costs PostgreSQL a process start), they overlap the tests instead of adding to them. A drop
    that failed fails the next `take` (or the session's end), as it failed the test before.
    """

    def __init__(self, server: Database, template: str) -> None:
        self._server = server
        self._template = template
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        """Used by the executor's one thread only."""
        self._drops: list[Future[None]] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="database-copies")
        self._next = self._executor.submit(self._create)

    def _execute(self, statement: sql.Composed) -> None:
        if self._conn is None or self._conn.closed:
            self._conn = self._server.connect()
        self._conn.execute(statement)

    def _create(self) -> Database:
        name = f"ledgerline_test_{uuid.uuid4().hex[:16]}"
        self._execute(_create_statement(name, self._template))
        return self._server.with_dbname(name)

    def _drop(self, database: Database) -> None:
        self._execute(_drop_statement(database))

    def _check_drops(self) -> None:
        done = [drop for drop in self._drops if drop.done()]
        self._drops = [drop for drop in self._drops if not drop.done()]
        for drop in done:
            drop.result()

    def take(self) -> Database:
        self._check_drops()
        database = self._next.result()
        self._next = self._executor.submit(self._create)
        return database

    def give_back(self, database: Database) -> None:
        """Drop a database `take` gave out (its test is done with it), in the background."""
        self._drops.append(self._executor.submit(self._drop, database))

    def close(self) -> None:
        unused = self._next.result()
        self.give_back(unused)
        self._executor.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()
        self._check_drops()


class SwitchedApp:
    """One ASGI server for a whole test session, serving whichever test's app is switched in.

    Starting and stopping uvicorn costs a test about 0.2 s; with one server per pytest worker,
    every API test still goes over real HTTP, to its own runtime and database.
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self.app is None:
            await PlainTextResponse("no test is being served", status_code=503)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        """What create_app's lifespan does at start: as many handler threads as in production."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                use_handler_threads()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def free_port() -> int:
    """A loopback port nothing listens on now (for a test's own SMTP server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(
    runtime: Runtime | ASGIApp,
    header_timeout_s: float = HTTP_HEADER_TIMEOUT_S,
    body_timeout_s: float = HTTP_BODY_TIMEOUT_S,
) -> Iterator[str]:
    """The API over `runtime` (or an ASGI app), served over real HTTP on a free loopback port,
    by the server `ledgerline serve` runs: its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(runtime) if isinstance(runtime, Runtime) else runtime
    config = server_config(app, header_timeout_s=header_timeout_s, body_timeout_s=body_timeout_s)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test API server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SERVER_START_TIMEOUT_S)
        sock.close()


AUTH_FAILURES_UNLIMITED = 1_000_000
"""For fuzzing: hundreds of requests without a key from one address are the answers under
test (401), not the failed-key limit's 429."""


@dataclass(frozen=True)
class ServedLedger:
    """A module's own Ledgerline over real HTTP: its runtime, base URL and an admin key."""

    runtime: Runtime
    base_url: str
    admin_key: str


@contextmanager
def served_ledger(
    server: Database, template: str | None = None, *, label: str
) -> Iterator[ServedLedger]:
    """A started runtime on a database of its own, projectors following, served over HTTP,
    with an admin key and no limit on failed key checks (for modules that fuzz the API)."""
    with created_database(server, template) as database, tempfile.TemporaryDirectory() as home:
        settings = Settings(
            database_url=database.url,
            environment=Environment.TEST,
            db_pool_size=4,
            auth_failures_per_minute=AUTH_FAILURES_UNLIMITED,
            home=Path(home),  # the audit signing key is made there on first use
        )
        runtime = Runtime.start(settings, clock=SimulatedClock(START))
        try:
            runtime.start_projectors()
            with runtime.database.connect() as conn:
                _, admin = keys.create_key(conn, keys.Role.ADMIN, label=label)
            with served(runtime) as base_url:
                yield ServedLedger(runtime, base_url, admin)
        finally:
            runtime.close()


CAUGHT_UP_TIMEOUT_S = 20.0
"""How long `caught_up` waits for the read models (they take milliseconds)."""


def caught_up(runtime: Runtime) -> None:
    """Wait until every read model has applied the whole log, as it is now (reads that follow
    are about everything written before them)."""
    deadline = time.monotonic() + CAUGHT_UP_TIMEOUT_S
    with runtime.database.connect() as conn:
        head = head_position(conn)
        while time.monotonic() < deadline:
            behind = conn.execute(
                "SELECT count(*) FROM projection_generations WHERE live AND position < %s",
                (head,),
            ).fetchone()
            if behind and behind[0] == 0:
                return
            time.sleep(0.05)
    raise AssertionError("the read models did not catch up with the setup")


def event_count(runtime: Runtime) -> int:
    """How many events the log holds: a refused command leaves it as it was."""
    with runtime.database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    return int(row[0])
