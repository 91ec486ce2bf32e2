"""What a command starts, and no more: settings and logs, then the database or the runtime.

A command that reads or writes one table (`keys`, `projections status`) opens the database and
creates the tables it needs; only `serve`, `tick`, `projections rebuild` and a partner key's
`keys create` start the whole runtime (the ledger, its event store, pools and read models),
which costs about a third of a second more, most of it importing the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
import typer
from pydantic import ValidationError
from rich.console import Console

from api.logs import configure_logging
from ledger.database import Database, DatabaseError, open_database, schema_lock
from ledger.sealing import CipherKeyMissing, CipherKeyWrong
from ledger.settings import Settings

if TYPE_CHECKING:
    from api.runtime import Runtime

EXIT_CONFIG = 2
"""A setting is invalid."""
EXIT_DATABASE = 3
"""The database cannot be used: unreachable, not durable, or the embedded one did not start."""
EXIT_SERVER = 4
"""The HTTP server could not start, for example because the port is taken."""
EXIT_USAGE = 2
"""The command line names something that does not exist (as for click's usage errors)."""
EXIT_PROJECTION = 5
"""A read model's rules failed on the log: the rebuild stopped and nothing was swapped."""
EXIT_STOPPED = 1
"""`projections status`: a read model is stopped at an event it cannot apply."""

console = Console(stderr=True)
"""Messages for the person at the terminal; standard output keeps what scripts read."""


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment, or exit with a message naming what is wrong."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as error:
        for item in error.errors():
            field = ".".join(str(part) for part in item["loc"]) or "settings"
            console.print(f"[red]Invalid setting {field}:[/red] {item['msg']}")
        raise typer.Exit(EXIT_CONFIG) from None


def command_settings(**overrides: object) -> Settings:
    """A command's settings, with logging configured from them."""
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    return settings


@contextmanager
def _refusals() -> Iterator[None]:
    """A start refused for the settings or the database exits with its code and message."""
    try:
        yield
    except (CipherKeyMissing, CipherKeyWrong) as refused:
        console.print(f"[red]{refused}[/red]")
        raise typer.Exit(EXIT_CONFIG) from None
    except DatabaseError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(EXIT_DATABASE) from None


@contextmanager
def started_database(
    settings: Settings, install: Callable[[psycopg.Connection[Any]], object]
) -> Iterator[Database]:
    """The database alone (DATABASE_URL's, or the embedded one, stopped again after), checked
    durable, with the tables `install` creates (idempotently, under the schema lock)."""
    with _refusals():
        database, embedded = open_database(
            settings.database_url, settings.home, allow_unsafe=settings.is_test
        )
    try:
        with _refusals(), schema_lock(database), database.connect() as conn:
            install(conn)
        yield database
    finally:
        if embedded is not None:
            embedded.stop()


@contextmanager
def started_runtime(settings: Settings, *, takes_payments: bool = True) -> Iterator[Runtime]:
    """The whole runtime (closed again after); its background work is the command's to start."""
    # Imported here: the ledger, the event store and the read models are most of a command's
    # start-up time, and the commands that open the database alone need none of them.
    from api.runtime import GatewayNotChosen, Runtime

    try:
        with _refusals():
            runtime = Runtime.start(settings, takes_payments=takes_payments)
    except GatewayNotChosen as refused:
        console.print(f"[red]{refused}[/red]")
        raise typer.Exit(EXIT_CONFIG) from None
    try:
        yield runtime
    finally:
        runtime.close()
