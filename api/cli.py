"""The `ledgerline` command line."""

from __future__ import annotations

import signal
import socket
import sys
from datetime import datetime
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console

from api.app import create_app
from api.logs import configure_logging
from api.runtime import Runtime
from ledger.billing_clock import tick
from ledger.database import DatabaseError
from ledger.settings import Settings

EXIT_CONFIG = 2
"""A setting is invalid."""
EXIT_DATABASE = 3
"""The database cannot be used: unreachable, not durable, or the embedded one did not start."""
EXIT_SERVER = 4
"""The HTTP server could not start, for example because the port is taken."""

cli = typer.Typer(
    name="ledgerline",
    help="Ledgerline: an event-sourced billing ledger for businesses that sell through partners.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


@cli.callback()
def _commands() -> None:
    """Ledgerline: an event-sourced billing ledger for businesses that sell through partners."""


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment, or exit with a message naming what is wrong."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as error:
        for item in error.errors():
            field = ".".join(str(part) for part in item["loc"]) or "settings"
            console.print(f"[red]Invalid setting {field}:[/red] {item['msg']}")
        raise typer.Exit(EXIT_CONFIG) from None


class _Terminated(Exception):
    """SIGTERM arrived: stop as cleanly as on Ctrl-C."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


class _Server(uvicorn.Server):
    """uvicorn, announcing the docs URL once the socket is listening."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            host, port = self.config.host, self.config.port
            for server in self.servers:
                for listening in server.sockets:
                    host, port = listening.getsockname()[:2]
            console.print(f"Ledgerline is serving: [bold]http://{host}:{port}/docs[/bold]")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the HTTP API, with the projectors, until Ctrl-C."""
    settings = load_settings(host=host, port=port)
    configure_logging(settings.log_level, settings.log_format)
    if settings.database_url is None:
        console.print(f"Starting the embedded PostgreSQL in {settings.home.resolve()} ...")
    runtime = _start(settings)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it through the handler it
    # found: with ours there, the runtime and the embedded database are closed too.
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        runtime.start_background()
        config = uvicorn.Config(
            create_app(runtime),
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
        )
        _Server(config).run()
    except (KeyboardInterrupt, _Terminated):
        pass  # uvicorn has shut down gracefully and re-raised the signal it caught
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            console.print(
                f"[red]The HTTP server could not start on {settings.host}:{settings.port}.[/red]"
            )
            raise typer.Exit(EXIT_SERVER) from None
        raise
    finally:
        runtime.close()
        console.print("Stopped.")


@cli.command("tick")
def tick_command(
    until: Annotated[
        datetime | None,
        typer.Option(
            help="Do the work due up to this instant (ISO 8601, with its offset); default now.",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
        ),
    ] = None,
) -> None:
    """Run the billing clock once: renewals, invoices, overdue marks, grace, budgets, transfers."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    runtime = _start(settings)
    try:
        instant = runtime.ledger.clock.now() if until is None else _aware(until)
        report = tick(runtime.ledger, instant)
    finally:
        runtime.close()
    done = ", ".join(f"{kind} {count}" for kind, count in sorted(report.done.items())) or "nothing"
    console.print(f"Billing clock at {instant.isoformat()}: {done} done.")
    if report.refused:
        refused = ", ".join(f"{kind} {count}" for kind, count in sorted(report.refused.items()))
        console.print(f"[yellow]Refused: {refused} (see the log).[/yellow]")


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise typer.BadParameter("give the instant with its offset, e.g. 2026-03-01T00:00+00:00")
    return instant


def _start(settings: Settings) -> Runtime:
    try:
        return Runtime.start(settings)
    except DatabaseError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(EXIT_DATABASE) from None


def main() -> None:
    """Entry point of the `ledgerline` console script."""
    sys.exit(cli())
