"""Fixtures: one throwaway PostgreSQL per test session, one fresh database per test.

Without DATABASE_URL the session (each pytest-xdist worker is one) starts its own embedded
cluster (pgserver) in a temporary folder and deletes it at the end; with DATABASE_URL the
databases are created on that server (the role needs CREATEDB). Either way every test gets a
database of its own, dropped after it (while the next one runs), so two test runs at once
never meet.

A test's database is a copy of a template that already holds Ledgerline's schema (tables,
the read models' live generations, the keys table), made once per session by starting a
runtime on it (so every session starts Ledgerline once on an empty database):
`CREATE DATABASE … TEMPLATE` copies it in milliseconds. The API is served over real HTTP by
one uvicorn server per session, switched to each test's app in turn.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from psycopg import sql

from api import keys
from api.app import create_app
from api.runtime import PROJECTIONS_TASK, Runtime
from ledger.application import Ledger
from ledger.catalogue import load_catalogue
from ledger.clock import Clock, SimulatedClock
from ledger.database import Database
from ledger.payments.simulator import SimulatedGateway
from ledger.settings import Environment, Settings
from projections.runner import Runner
from tests.support import (
    START,
    DatabaseCopies,
    SwitchedApp,
    created_database,
    embedded_server,
    route_logs_to_pytest,
    served,
)

# No per-example deadline: Hypothesis times each example and fails one that took over 200 ms,
# which on a loaded 2-core machine is the scheduler, not the code (a timing assert in
# disguise; speed is measured in bench/). Every other setting keeps Hypothesis's default.
hypothesis_settings.register_profile("ledgerline", deadline=None)
hypothesis_settings.load_profile("ledgerline")


def pytest_configure(config: pytest.Config) -> None:
    route_logs_to_pytest()
    lag_s = float(os.environ.get(PROJECTION_LAG_VARIABLE) or 0)
    if lag_s > 0:
        hold_back_live_projections(lag_s)


PROJECTION_LAG_VARIABLE = "LEDGERLINE_TEST_PROJECTION_LAG_S"
"""Seconds the live projection runner waits before each batch, in `make test-lagged`."""


def hold_back_live_projections(lag_s: float) -> None:
    """Make the live read models trail the log by about `lag_s` (`make test-lagged`).

    A test that reads what it just wrote without `min_position` (or `caught_up`) passes only
    while the runner happens to be quicker than the test's next request, and fails in CI on a
    slow minute. Held back, the runner is slower than any request, so such a read fails every
    time. Only the live runner's thread waits: a test's own `catch_up` does not.
    """
    catch_up = Runner.catch_up

    def lagging(self: Runner, *args: Any, **kwargs: Any) -> int:
        if threading.current_thread().name == PROJECTIONS_TASK:
            time.sleep(lag_s)
        return catch_up(self, *args, **kwargs)

    setattr(Runner, "catch_up", lagging)  # noqa: B010 (a method, replaced for the whole run)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Database]:
    """An administrative connection to the session's PostgreSQL server."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield Database(url)
        return
    folder = Path(tempfile.mkdtemp(prefix="ledgerline-tests-"))
    server = embedded_server(folder / "pgdata", cleanup_mode="delete")
    admin = Database(server.get_uri())
    with admin.connect() as conn:
        # A test run needs no crash safety: this is what LEDGERLINE_ENVIRONMENT=test permits.
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield admin
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def embedded_home() -> Iterator[Path]:
    """A fresh LEDGERLINE_HOME for a test that starts its own embedded PostgreSQL.

    Not under pytest's tmp_path: run as root, pgserver runs PostgreSQL as another user and
    opens the folders above the data for it, while a concurrent pytest run closes its base
    folder (0700) again.
    """
    folder = Path(tempfile.mkdtemp(prefix="ledgerline-home-"))
    try:
        yield folder / "home"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(postgres_server: Database) -> Iterator[str]:
    """The name of a database holding everything a first start creates, to copy per test."""
    with created_database(postgres_server) as template:
        settings = Settings(database_url=template.url, environment=Environment.TEST, db_pool_size=1)
        started = Runtime.start(settings, clock=SimulatedClock(START))
        # The first start imported the shipped catalogue; the read models have read it, so a
        # test's read models start level with the log, as a running Ledgerline's do.
        for runner in started.projectors:
            runner.catch_up()
        started.close()
        yield template.params()["dbname"]


@pytest.fixture(scope="session")
def database_copies(postgres_server: Database, template_database: str) -> Iterator[DatabaseCopies]:
    copies = DatabaseCopies(postgres_server, template_database)
    try:
        yield copies
    finally:
        copies.close()


@pytest.fixture
def database(database_copies: DatabaseCopies) -> Iterator[Database]:
    """A new database for one test, with Ledgerline's schema and no data."""
    database = database_copies.take()
    try:
        yield database
    finally:
        database_copies.give_back(database)


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    # A home of the test's own: the audit signing key is made there on first use.
    return Settings(
        database_url=database.url, environment=Environment.TEST, db_pool_size=4, home=tmp_path
    )


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def gateway() -> SimulatedGateway:
    return SimulatedGateway()


@pytest.fixture
def ledger(database: Database, clock: Clock, gateway: SimulatedGateway) -> Iterator[Ledger]:
    """The ledger alone on the test's database, with the shipped catalogue and the simulator."""
    app = Ledger(
        database,
        clock,
        gateway,
        catalogue=load_catalogue(),
        public_url="https://billing.example",
        pool_size=2,
    )
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def second_process(database: Database) -> Iterator[Ledger]:
    """Another Ledgerline process on the same database, with its own writer and cache."""
    other = Ledger(database, SimulatedClock(START), catalogue=load_catalogue(), pool_size=1)
    try:
        yield other
    finally:
        other.close()


@pytest.fixture
def runtime(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    """A started Ledgerline with its projectors following the log."""
    started = Runtime.start(settings, clock=clock)
    started.start_projectors()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="session")
def http_server() -> Iterator[tuple[SwitchedApp, str]]:
    """One uvicorn server on a free loopback port for the session, and its switch."""
    switch = SwitchedApp()
    with served(switch) as url:
        yield switch, url


@pytest.fixture
def base_url(runtime: Runtime, http_server: tuple[SwitchedApp, str]) -> Iterator[str]:
    """The API over this test's runtime, served over real HTTP."""
    switch, url = http_server
    switch.app = create_app(runtime)
    try:
        yield url
    finally:
        switch.app = None


TLS = httpx.create_ssl_context()
"""One TLS context, httpx's own default, for every test client: httpx otherwise makes one per
client, loading the CA bundle (about 20 ms of CPU) for URLs that are all plain HTTP."""


def _fresh_idempotency_key(request: httpx.Request) -> None:
    """Every POST needs an Idempotency-Key; tests that are not about it get a fresh one."""
    if request.method == "POST" and "idempotency-key" not in request.headers:
        request.headers["Idempotency-Key"] = str(uuid.uuid4())


@pytest.fixture
def make_key(runtime: Runtime) -> Callable[..., str]:
    """Make an API key: `make_key("partner", partner_id)`; answers the whole key."""

    def make(role: str, partner_id: uuid.UUID | None = None) -> str:
        with runtime.database.connect() as conn:
            return keys.create_key(conn, keys.Role(role), partner_id, label="test")[1]

    return make


@pytest.fixture
def client_for(base_url: str) -> Iterator[Callable[[str | None], httpx.Client]]:
    """An HTTP client presenting `key` (or none), adding Idempotency-Keys to POSTs."""
    opened: list[httpx.Client] = []

    def client(key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        made = httpx.Client(
            base_url=base_url,
            timeout=10.0,
            headers=headers,
            event_hooks={"request": [_fresh_idempotency_key]},
            verify=TLS,
        )
        opened.append(made)
        return made

    try:
        yield client
    finally:
        for made in opened:
            made.close()


@pytest.fixture
def http(
    client_for: Callable[[str | None], httpx.Client], make_key: Callable[..., str]
) -> httpx.Client:
    """An HTTP client with an admin key."""
    return client_for(make_key("admin"))
