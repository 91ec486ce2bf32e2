"""The `ledgerline` command line."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
from datetime import datetime
from types import FrameType
from typing import Annotated
from uuid import UUID

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.prompt import Confirm
from rich.table import Table
from rich.text import Text
from uvicorn.supervisors import Multiprocess

from api import keys
from api.logs import configure_logging
from api.runtime import GatewayNotChosen, Runtime
from api.server import server_config
from domain.errors import PartnerNotFound
from ledger.billing_clock import tick
from ledger.database import Database, DatabaseError
from ledger.sealing import CipherKeyMissing, CipherKeyWrong, Sealer
from ledger.settings import ClockKind, Settings
from projections.base import Projection
from projections.partners import PartnerDirectory
from projections.registry import all_projections, by_name
from projections.runner import BATCH_SIZE, ProjectionFailed
from replay import rebuild as rebuilding

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
BATCH_SIZE_MAX = 100_000
"""The most log positions a rebuild applies per transaction: a batch must stay short to hold."""
WORKERS_MAX = 16
"""The most runners a rebuild uses at once (more than the machine's cores only adds waiting)."""

cli = typer.Typer(
    name="ledgerline",
    help="Ledgerline: an event-sourced billing ledger for businesses that sell through partners.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)
projections_cli = typer.Typer(
    name="projections",
    help="Read models: how far each is, and rebuilding one beside the live one.",
    no_args_is_help=True,
)
cli.add_typer(projections_cli, name="projections")
keys_cli = typer.Typer(
    name="keys",
    help="API keys: make one (shown once), list them, revoke one; and the cipher key.",
    no_args_is_help=True,
)
cli.add_typer(keys_cli, name="keys")


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
    workers: Annotated[
        int | None,
        typer.Option(help="HTTP worker processes (default: LEDGERLINE_WORKERS, else 1)."),
    ] = None,
) -> None:
    """Serve the HTTP API, with the projectors, the billing clock and mail, until Ctrl-C."""
    settings = load_settings(host=host, port=port, workers=workers)
    configure_logging(settings.log_level, settings.log_format)
    if settings.workers > 1 and settings.clock is ClockKind.SIMULATED:
        console.print(
            "[red]A simulated clock lives in one process: serve it with one worker.[/red]"
        )
        raise typer.Exit(EXIT_CONFIG)
    if settings.database_url is None:
        console.print(f"Starting the embedded PostgreSQL in {settings.home.resolve()} ...")
    runtime = _start(settings)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it through the handler it
    # found: with ours there, the runtime and the embedded database are closed too.
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with runtime.database.connect() as conn:
            if not keys.any_keys(conn):
                console.print(
                    "No API keys yet: make one with "
                    "[bold]ledgerline keys create --role admin[/bold] (in another terminal)."
                )
        runtime.start_background()
        if settings.workers == 1:
            # Imported here: building the HTTP app's routes is most of the command line's
            # start-up time, and only `serve` needs them.
            from api.app import create_app

            config = server_config(
                create_app(runtime),
                header_timeout_s=settings.http_header_timeout_s,
                body_timeout_s=settings.http_body_timeout_s,
                keep_alive_s=settings.http_keep_alive_s,
                host=settings.host,
                port=settings.port,
            )
            _Server(config).run()
        else:
            _serve_workers(settings, runtime)
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


def _serve_workers(settings: Settings, runtime: Runtime) -> None:
    """Several HTTP worker processes on one socket; this process keeps the background work."""
    os.environ["DATABASE_URL"] = runtime.database.url  # the workers' database, embedded or not
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
    console.print(
        f"Ledgerline is serving: [bold]http://{host}:{port}/docs[/bold] "
        f"({settings.workers} worker processes)"
    )
    Multiprocess(config, sockets=[sock]).run()


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


@projections_cli.command("status")
def projections_status() -> None:
    """Each read model: its live generation, version, position, lag, and rebuilds under way."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    runtime = _start(settings, takes_payments=False)
    try:
        with runtime.database.connect() as conn:
            models = rebuilding.status(conn)
    finally:
        runtime.close()
    table = Table(title="Read models")
    for column in ("read model", "live", "version", "position", "lag", "other generations"):
        table.add_column(column, justify="right" if column in ("position", "lag") else "left")
    for model in models:
        version = "-" if model.live is None else str(model.live.version)
        if model.needs_rebuild:
            version = f"[yellow]{version} (code {model.code_version}): needs rebuild[/yellow]"
        elif model.code_version is None:
            version += " (not in this code)"
        lag = f"{model.lag:,}" + ("+" if model.lag >= rebuilding.LAG_COUNT_MAX else "")
        building = ", ".join(
            f"#{g.generation} v{g.version} at {g.position:,}" for g in model.building
        )
        live = "-" if model.live is None else f"#{model.live.generation}"
        table.add_row(model.name, live, version, f"{model.position:,}", lag, building or "-")
    console.print(table)
    for model in models:
        if model.stop is not None:
            console.print(
                f"[red]{model.name} is stopped at log position {model.stop.position} "
                f"({model.stop.topic}) since {model.stop.stopped_at:%Y-%m-%d %H:%M:%S %Z}: "
                f"{model.stop.reason}[/red]",
                highlight=False,
                soft_wrap=True,
            )
    if any(model.stop is not None for model in models):
        console.print(
            "The other read models carry on. Deploy code that applies the event and restart "
            "`ledgerline serve` (it tries again), or rebuild the read model.",
            soft_wrap=True,
        )
        raise typer.Exit(code=1)


@projections_cli.command("rebuild")
def projections_rebuild(
    names: Annotated[
        list[str], typer.Argument(help="The read models to rebuild (see status), or 'all'.")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Swap without asking.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff, then drop the new generation.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=BATCH_SIZE_MAX, help="Log positions per transaction.")
    ] = BATCH_SIZE,
    workers: Annotated[
        int, typer.Option(min=1, max=WORKERS_MAX, help="Runners building at once.")
    ] = rebuilding.WORKERS,
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="Keep the old generation after the swap.")
    ] = False,
) -> None:
    """Rebuild read models beside the live ones, show the diffs, then swap each atomically."""
    projections = _read_models(names)
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    runtime = _start(settings, takes_payments=False)
    try:
        database = runtime.database
        rebuilt = _rebuild_with_progress(database, projections, batch_size, workers)
        try:
            for projection, built in zip(projections, rebuilt, strict=True):
                console.print(
                    f"Generation #{built.generation} of {projection.name} applied "
                    f"{built.applied:,} log positions in {built.seconds:.1f} s."
                )
                _print_diff(rebuilding.compare(database, projection, built.generation))
            swap = not dry_run and (yes or _confirm(projections))
            for projection, built in zip(projections, rebuilt, strict=True):
                if not swap:
                    rebuilding.discard(database, projection, built.generation)
                    console.print(
                        f"{'Dry run: ' if dry_run else ''}generation #{built.generation} of "
                        f"{projection.name} dropped; the live read model is unchanged."
                    )
                    continue
                swapped = rebuilding.swap(database, projection, built.generation, keep_old=keep_old)
                old = "none" if swapped.old_generation is None else f"#{swapped.old_generation}"
                fate = "dropped" if swapped.old_dropped else "kept"
                console.print(
                    f"Generation #{swapped.generation} of {projection.name} is live at position "
                    f"{swapped.position:,} ({swapped.caught_up:,} caught up during the swap); "
                    f"the old one ({old}) was {fate}."
                )
        except BaseException:
            for projection, built in zip(projections, rebuilt, strict=True):
                with contextlib.suppress(ValueError, rebuilding.NotRebuildable):
                    rebuilding.discard(database, projection, built.generation)
            raise
    except ProjectionFailed as failure:
        console.print(f"[red]The rebuild stopped, and nothing was swapped:[/red] {failure}")
        raise typer.Exit(EXIT_PROJECTION) from None
    finally:
        runtime.close()


def _read_models(names: list[str]) -> list[Projection]:
    if names == ["all"]:
        return all_projections()
    return [_read_model(name) for name in dict.fromkeys(names)]


def _read_model(name: str) -> Projection:
    try:
        return by_name(name)
    except KeyError:
        known = ", ".join(p.name for p in all_projections())
        console.print(f"[red]There is no read model {name!r}.[/red] The read models are: {known}.")
        raise typer.Exit(EXIT_USAGE) from None


class _RateColumn(ProgressColumn):
    """Events applied per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} events/s")


def _rebuild_with_progress(
    database: Database, projections: list[Projection], batch_size: int, workers: int
) -> list[rebuilding.Rebuilt]:
    label = ", ".join(p.name for p in projections)
    with Progress(
        TextColumn(f"Rebuilding {label}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("rebuild", total=None)

        def advance(reached: int, head: int) -> None:
            progress.update(task, completed=reached, total=max(head, reached))

        return rebuilding.rebuild_many(
            database, projections, advance, batch_size=batch_size, workers=workers
        )


def _print_diff(difference: rebuilding.Diff) -> None:
    positions = f"live at {difference.old_position:,}, new at {difference.new_position:,}"
    if difference.empty:
        console.print(f"No difference from the live generation ({positions}).")
        return
    console.print(f"Differences from the live generation ({positions}):")
    table = Table()
    for column in ("table", "key", "added", "removed", "changed"):
        table.add_column(column, justify="left" if column in ("table", "key") else "right")
    for t in difference.tables:
        table.add_row(t.table, ", ".join(t.key), f"{t.added:,}", f"{t.removed:,}", f"{t.changed:,}")
    console.print(table)
    for t in difference.tables:
        if t.columns_added or t.columns_removed:
            added, removed = ", ".join(t.columns_added), ", ".join(t.columns_removed)
            console.print(f"{t.table}: columns added: {added or '-'}; removed: {removed or '-'}")
        for label, rows in (("added", t.added_examples), ("removed", t.removed_examples)):
            for row in rows:
                console.print(f"{t.table} {label}: {json.dumps(row, default=str)}", markup=False)
        for before, after in t.changed_examples:
            console.print(f"{t.table} changed: {json.dumps(before, default=str)}", markup=False)
            console.print(
                f"{' ' * len(t.table)}      to: {json.dumps(after, default=str)}", markup=False
            )


def _confirm(projections: list[Projection]) -> bool:
    names = ", ".join(p.name for p in projections)
    try:
        return Confirm.ask(f"Swap the new {names} in?", console=console, default=False)
    except EOFError:  # no one at the terminal to answer: the safe answer
        console.print()
        return False


@keys_cli.command("create")
def keys_create(
    role: Annotated[
        keys.Role, typer.Option(help="admin (the vendor), partner, finance or auditor.")
    ],
    partner: Annotated[
        UUID | None, typer.Option(help="The partner a partner key is bound to.")
    ] = None,
    label: Annotated[str, typer.Option(help="A note on whom the key is for.")] = "",
) -> None:
    """Make an API key and print it, once: it is stored only as a hash."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    runtime = _start(settings, takes_payments=False)
    try:
        if partner is not None:
            with runtime.read_pool.connection() as conn:
                if PartnerDirectory.get(conn, partner) is None and not _partner_in_log(
                    runtime, partner
                ):
                    console.print(f"[red]No partner account {partner}.[/red]")
                    raise typer.Exit(EXIT_USAGE)
        with runtime.database.connect() as conn:
            try:
                key_id, key = keys.create_key(conn, role, partner, label)
            except keys.KeyRefused as refusal:
                console.print(f"[red]{refusal}[/red]")
                raise typer.Exit(EXIT_USAGE) from None
    finally:
        runtime.close()
    console.print(
        f"Made {role.value} key {key_id}"
        + (f" for partner {partner}" if partner else "")
        + ". It is shown this once; keep it secret:"
    )
    # Alone on standard output, for scripts: KEY=$(ledgerline keys create --role admin)
    sys.stdout.write(f"{key}\n")


def _partner_in_log(runtime: Runtime, partner_id: UUID) -> bool:
    """The directory may lag a moment behind a partner just opened: ask the log too."""
    try:
        runtime.ledger.partner_account(partner_id)
    except PartnerNotFound:
        return False
    return True


@keys_cli.command("list")
def keys_list() -> None:
    """List the API keys (never their secrets)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    runtime = _start(settings, takes_payments=False)
    try:
        with runtime.database.connect() as conn:
            found = keys.list_keys(conn)
    finally:
        runtime.close()
    table = Table("key id", "role", "partner", "label", "created", "revoked")
    for info in found:
        table.add_row(
            info.key_id,
            info.role.value,
            str(info.partner_id or ""),
            info.label,
            f"{info.created_at:%Y-%m-%d %H:%M}",
            f"{info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "",
        )
    Console().print(table)


@keys_cli.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id `keys list` shows.")],
) -> None:
    """Revoke a key. Running servers stop accepting it within LEDGERLINE_KEY_CACHE_TTL_S (30 s)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    runtime = _start(settings, takes_payments=False)
    try:
        with runtime.database.connect() as conn:
            revoked = keys.revoke(conn, key_id)
    finally:
        runtime.close()
    if not revoked:
        console.print(f"[red]No live key {key_id}.[/red]")
        raise typer.Exit(EXIT_USAGE)
    console.print(f"Revoked key {key_id}.")


@keys_cli.command("cipher-key")
def keys_cipher_key() -> None:
    """Make a new LEDGERLINE_CIPHER_KEY, which seals personal fields at rest. Keep it safe: a
    ledger sealed with it cannot start, or be read, without it."""
    console.print("A new cipher key (AES-256, base64); set it as LEDGERLINE_CIPHER_KEY:")
    # Alone on standard output, for scripts: export LEDGERLINE_CIPHER_KEY=$(ledgerline keys …)
    sys.stdout.write(f"{Sealer.create_key()}\n")


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise typer.BadParameter("give the instant with its offset, e.g. 2026-03-01T00:00+00:00")
    return instant


def _start(settings: Settings, *, takes_payments: bool = True) -> Runtime:
    try:
        return Runtime.start(settings, takes_payments=takes_payments)
    except (GatewayNotChosen, CipherKeyMissing, CipherKeyWrong) as refused:
        console.print(f"[red]{refused}[/red]")
        raise typer.Exit(EXIT_CONFIG) from None
    except DatabaseError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(EXIT_DATABASE) from None


def main() -> None:
    """Entry point of the `ledgerline` console script."""
    sys.exit(cli())
