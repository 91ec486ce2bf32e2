"""Where the events live: the embedded PostgreSQL or the one `DATABASE_URL` names."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import psycopg
import structlog
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")
"""A commit is only durable if none of these is off."""

EMBEDDED_DATABASE = "ledgerline"
CONNECT_TIMEOUT_S = 10
SCHEMA_LOCK_KEY = 0x4C65_6467_6572
"""Serialises creating the database, and then its tables, across processes ("Ledger")."""
HANDLES_FILE = ".handle_pids.json"
"""Where pgserver lists the processes using a data folder (its `PostgresServer.__init__`)."""

log = structlog.get_logger(__name__)


class DatabaseError(Exception):
    """The database cannot be used; the message says why and what to do."""


class CannotConnect(DatabaseError, psycopg.OperationalError):
    """The server could not be reached. Also the driver's OperationalError it stands for, so
    code that rides out a lost connection (a runner's reconnect loop) handles it as one."""


class UnsafeDurabilityError(DatabaseError):
    """The server would acknowledge commits it could lose in a crash."""

    def __init__(self, settings_off: list[str]) -> None:
        self.settings_off = settings_off
        names = ", ".join(settings_off)
        super().__init__(
            f"PostgreSQL has {names} off, so a committed event could be lost in a crash. "
            "Ledgerline refuses to record money on it. Turn the setting back on, or, for a "
            "test run only, set LEDGERLINE_ENVIRONMENT=test."
        )


@dataclass(frozen=True)
class Database:
    """Connection parameters of one PostgreSQL database."""

    url: str

    def params(self) -> dict[str, str]:
        """The libpq parameters of the URL (host may be a Unix socket folder)."""
        return {key: str(value) for key, value in conninfo_to_dict(self.url).items()}

    def conninfo(self, **overrides: str) -> str:
        """A libpq connection string, with a connect timeout unless the URL sets one."""
        params: dict[str, str] = {"connect_timeout": str(CONNECT_TIMEOUT_S)}
        params.update(self.params())
        params.update(overrides)
        return make_conninfo(**params)

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
        """Open one connection (callers close it)."""
        try:
            return psycopg.connect(self.conninfo(), autocommit=autocommit)
        except psycopg.OperationalError as error:
            raise CannotConnect(f"Cannot connect to PostgreSQL: {error}".strip()) from None

    def with_dbname(self, dbname: str) -> Database:
        """The same server and credentials, another database."""
        params = self.params()
        params["dbname"] = dbname
        return Database("postgresql:///?" + urlencode(params, quote_via=quote))

    @property
    def safe_description(self) -> str:
        """Where the database is, without the password, for logs and messages."""
        params = self.params()
        host = params.get("host", "localhost")
        port = params.get("port", "5432")
        return f"{params.get('user', '')}@{host}:{port}/{params.get('dbname', '')}"


def check_durability(database: Database, *, allow_unsafe: bool) -> list[str]:
    """Refuse a server that could lose acknowledged commits; return the settings that are off."""
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT name FROM pg_settings WHERE name = ANY(%s) AND setting = 'off' ORDER BY name",
            (list(DURABILITY_SETTINGS),),
        ).fetchall()
    settings_off = [str(name) for (name,) in rows]
    if settings_off and not allow_unsafe:
        raise UnsafeDurabilityError(settings_off)
    return settings_off


def open_database(
    url: str | None, home: Path, *, allow_unsafe: bool
) -> tuple[Database, EmbeddedPostgres | None]:
    """The database `url` names, or else the embedded one under `home` (started, or joined if
    running), refused unless its commits are durable; and the embedded server, to stop after.

    Whoever opens it closes it: a refused database leaves the embedded server stopped again.
    """
    embedded: EmbeddedPostgres | None = None
    if url:
        database = Database(url)
    else:
        embedded = EmbeddedPostgres(home)
        database = embedded.start()
    try:
        settings_off = check_durability(database, allow_unsafe=allow_unsafe)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    if settings_off:
        log.warning("durability_relaxed_for_test", settings_off=settings_off)
    return database, embedded


class EmbeddedPostgres:
    """Ledgerline's own PostgreSQL, from the pgserver wheel, with its data under `home`."""

    def __init__(self, home: Path) -> None:
        self.data_dir = home.expanduser().resolve() / "pgdata"
        self._server: PostgresServer | None = None

    def start(self) -> Database:
        """Start the cluster (or join the one already running on this folder)."""
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset; harmless here.
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._forget_dead_users()
            self._server = get_server(self.data_dir, cleanup_mode="stop")
        except Exception as error:
            raise DatabaseError(
                f"The embedded PostgreSQL in {self.data_dir} did not start: {error}. "
                f"Its log is {self.data_dir / 'log'}."
            ) from error
        admin = Database(self._server.get_uri())
        create_database(admin, EMBEDDED_DATABASE)
        return Database(self._server.get_uri(EMBEDDED_DATABASE))

    def stop(self) -> None:
        """Stop the cluster, unless another live Ledgerline process still uses it."""
        if self._server is not None:
            self._forget_dead_users()
            self._server.cleanup()
            self._server = None

    def _forget_dead_users(self) -> None:
        """Drop the processes that died without leaving from pgserver's list of users.

        pgserver stops the server when the last process on its list leaves, but a process
        killed (SIGKILL, the OOM killer) never leaves: its pid would keep an
        orphaned server alive past every later clean stop. Pruned under pgserver's own lock,
        the lock it holds while it adds a user or decides to stop.
        """
        from pgserver.postgres_server import PostgresServer
        from pgserver.utils import DiskList, process_is_running

        users = DiskList(self.data_dir / HANDLES_FILE)
        with PostgresServer._lock:
            listed: list[int] = users.get()
            alive = [pid for pid in listed if process_is_running(pid)]
            if alive != listed:
                users.put(alive)
                dead = sorted(set(listed) - set(alive))
                log.warning("embedded_postgres_dead_users_forgotten", pids=dead)


def create_database(admin: Database, name: str) -> None:
    """Create a database on the server unless it exists, safely when several processes start
    at once (`serve` and `keys create` on a fresh home): one creates it, the others find it.

    Looking first and then creating is a race PostgreSQL settles with a unique violation on
    `pg_database`; the advisory lock makes the look and the creation one step among Ledgerline
    processes, and a database someone else created meanwhile still counts as found.
    """
    with admin.connect() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except (errors.DuplicateDatabase, errors.UniqueViolation):
            pass  # created by another client between our look and our creation
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))


@contextmanager
def schema_lock(database: Database) -> Iterator[None]:
    """Hold the cluster-wide advisory lock under which tables are created or changed."""
    with database.connect() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))
