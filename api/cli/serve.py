"""`ledgerline serve`: the HTTP API with the projectors, the billing clock and mail."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from api import keys
from api.cli.help import ReadableCommand
from api.cli.starting import EXIT_CONFIG, EXIT_SERVER, command_settings, console, started_runtime
from api.demo.loader import is_empty
from api.server import server_config
from ledger.settings import ClockKind, DemoChoice, Settings

if TYPE_CHECKING:
    from api.runtime import Runtime


serve_cli = typer.Typer(add_completion=False)


class _Terminated(Exception):
    """SIGTERM arrived: stop as cleanly as on Ctrl-C."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


Announce = Callable[[str], None]
"""What is printed before "serving", given the base URL listened on (the demo's keys)."""


def _announce_nothing(base: str) -> None:
    del base


class _Server(uvicorn.Server):
    """uvicorn, announcing the docs URL once the socket is listening."""

    def __init__(self, config: uvicorn.Config, announce: Announce) -> None:
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            host, port = self.config.host, self.config.port
            for server in self.servers:
                for listening in server.sockets:
                    host, port = listening.getsockname()[:2]
            self.announce(f"http://{host}:{port}")
            console.print(f"Ledgerline is serving: [bold]http://{host}:{port}/docs[/bold]")


@serve_cli.command("serve", cls=ReadableCommand)
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="Address to listen on (default: LEDGERLINE_HOST, else 127.0.0.1).",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",  # named: typer 0.27 takes a metavar equal to the name for its option name
            metavar="PORT",
            help="Port to listen on, 0 for any free one (default: LEDGERLINE_PORT, else 8000).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            metavar="COUNT", help="HTTP worker processes (default: LEDGERLINE_WORKERS, else 1)."
        ),
    ] = None,
    reads_only: Annotated[
        bool,
        typer.Option(
            "--reads-only",
            help="Answer reads only, beside a writing instance on the same database: no "
            "background work, commands answered 421 (default: LEDGERLINE_READS_ONLY).",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API, with the projectors, the billing clock and mail, until Ctrl-C."""
    settings = command_settings(
        host=host, port=port, workers=workers, reads_only=True if reads_only else None
    )
    if settings.workers > 1 and settings.clock is ClockKind.SIMULATED:
        console.print(
            "[red]A simulated clock lives in one process: serve it with one worker.[/red]"
        )
        raise typer.Exit(EXIT_CONFIG)
    if settings.database_url is None:
        console.print(f"Starting the embedded PostgreSQL in {settings.home.resolve()} ...")
    started = False
    try:
        # A read-only instance takes no payments: it needs no payment gateway chosen.
        with started_runtime(settings, takes_payments=not settings.reads_only) as runtime:
            started = True
            _serve_until_stopped(settings, runtime)
    finally:
        if started:
            console.print("Stopped.")


def _serve_until_stopped(settings: Settings, runtime: Runtime) -> None:
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it through the handler it
    # found: with ours there, the runtime and the embedded database are closed too.
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        first_start = (
            settings.demo is DemoChoice.FIRST_START
            and not settings.reads_only
            and is_empty(runtime.database)
        )
        with runtime.database.connect() as conn:
            if not first_start and not keys.any_keys(conn):
                console.print(
                    "No API keys yet: make one with "
                    "[bold]ledgerline keys create --role admin[/bold] (in another terminal)."
                )
        if settings.reads_only:  # the writing instance on the database does the rest
            console.print(
                "Reads only: commands answer 421 read_only_instance, and the read models, the "
                "billing clock and mail are the writing instance's to run."
            )
        else:
            runtime.start_background()
        announce = _load_demo(runtime) if first_start else _announce_nothing
        if settings.workers == 1:
            # Imported here: building the HTTP app's routes is most of the command line's
            # start-up time, and only `serve` needs them.
            from api.app import create_app

            config = server_config(
                create_app(runtime, settle_interpreter=True),
                header_timeout_s=settings.http_header_timeout_s,
                body_timeout_s=settings.http_body_timeout_s,
                keep_alive_s=settings.http_keep_alive_s,
                host=settings.host,
                port=settings.port,
            )
            _Server(config, announce).run()
        else:
            _serve_workers(settings, runtime, announce)
    except (KeyboardInterrupt, _Terminated):
        pass  # uvicorn has shut down gracefully and re-raised the signal it caught
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            console.print(
                f"[red]The HTTP server could not start on {settings.host}:{settings.port}.[/red]"
            )
            raise typer.Exit(EXIT_SERVER) from None
        raise


def _load_demo(runtime: Runtime) -> Announce:
    """The first start of an empty database loads the demo (LEDGERLINE_DEMO=first-start, as
    `make run` sets it); its keys and URLs are shown once the port is known, before serving."""
    # Imported here: only a first start needs the demo.
    from api.cli.demo import described, load_or_exit
    from api.demo.loader import load_demo

    console.print(
        "An empty database: loading the demo (LEDGERLINE_DEMO=off skips it) ...", soft_wrap=True
    )
    started = time.perf_counter()
    loaded = load_or_exit(lambda: load_demo(runtime))
    took_s = time.perf_counter() - started

    def announce(base: str) -> None:
        for line in described(loaded, base):
            # Unwrapped, so that a key or a URL copied from a narrow terminal is whole.
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.print(f"  (the demo loaded in {took_s:.1f} s)")

    return announce


def _serve_workers(settings: Settings, runtime: Runtime, announce: Announce) -> None:
    """Several HTTP worker processes on one socket; this process keeps the background work."""
    os.environ["DATABASE_URL"] = runtime.database.url  # the workers' database, embedded or not
    if settings.reads_only:  # the workers read their settings from the environment
        os.environ["LEDGERLINE_READS_ONLY"] = "true"
    config = server_config(
        "api.worker:create",
        header_timeout_s=settings.http_header_timeout_s,
        body_timeout_s=settings.http_body_timeout_s,
        keep_alive_s=settings.http_keep_alive_s,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
    )
    sock = config.bind_socket()
    # Listening now, so connections wait in the queue until a worker takes them: without it,
    # a client told "serving" below is refused until the workers have started (about 1 s).
    sock.listen(config.backlog)
    host, port = sock.getsockname()[:2]
    announce(f"http://{host}:{port}")
    console.print(
        f"Ledgerline is serving: [bold]http://{host}:{port}/docs[/bold] "
        f"({settings.workers} worker processes)"
    )
    Multiprocess(config, sockets=[sock]).run()
