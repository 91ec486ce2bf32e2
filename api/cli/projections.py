"""`ledgerline projections status | rebuild`: the read models, how far each is, and rebuilds."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Annotated, Any

import typer
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

from api.cli.help import ReadableCommand, ReadableGroup
from api.cli.starting import (
    EXIT_PROJECTION,
    EXIT_STOPPED,
    EXIT_USAGE,
    command_settings,
    console,
    started_database,
    started_runtime,
)
from ledger.database import Database
from projections.base import Projection
from projections.generations import Generation
from projections.registry import all_projections, by_name, install_read_models
from projections.runner import BATCH_SIZE, ProjectionFailed
from replay import rebuild as rebuilding

BATCH_SIZE_MAX = 100_000
"""The most log positions a rebuild applies per transaction: a batch must stay short to hold."""
WORKERS_MAX = 16
"""The most runners a rebuild uses at once (more than the machine's cores only adds waiting)."""

projections_cli = typer.Typer(
    name="projections",
    cls=ReadableGroup,
    help="Read models: how far each is, and rebuilding one beside the live one.",
    no_args_is_help=True,
    add_completion=False,
)


@projections_cli.command("status", cls=ReadableCommand)
def projections_status(
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the status as one JSON document on stdout."),
    ] = False,
) -> None:
    """Each read model: its live generation, version, position, lag, and rebuilds under way.

    Exits 1 when a read model is stopped at an event it cannot apply.
    """
    settings = command_settings()
    with started_database(settings, install_read_models) as database, database.connect() as conn:
        models = rebuilding.status(conn)
    if as_json:
        sys.stdout.write(json.dumps({"read_models": [_model_json(m) for m in models]}) + "\n")
    else:
        _print_status(models)
    if any(model.stop is not None for model in models):
        raise typer.Exit(EXIT_STOPPED)


def _model_json(model: rebuilding.ModelStatus) -> dict[str, Any]:
    """A read model's status under field names scripts may rely on."""

    def generation(g: Generation) -> dict[str, int]:
        return {"generation": g.generation, "version": g.version, "position": g.position}

    stop = model.stop
    return {
        "name": model.name,
        "code_version": model.code_version,
        "live": None if model.live is None else generation(model.live),
        "position": model.position,
        "lag": model.lag,
        "lag_capped": model.lag >= rebuilding.LAG_COUNT_MAX,
        "needs_rebuild": model.needs_rebuild,
        "other_generations": [generation(g) for g in model.building],
        "stopped": None
        if stop is None
        else {
            "generation": stop.generation,
            "position": stop.position,
            "topic": stop.topic,
            "reason": stop.reason,
            "stopped_at": stop.stopped_at.isoformat(),
        },
    }


def _print_status(models: list[rebuilding.ModelStatus]) -> None:
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


@projections_cli.command("rebuild", cls=ReadableCommand)
def projections_rebuild(
    names: Annotated[
        list[str],
        typer.Argument(
            metavar="READ_MODEL...",
            help="One or more read models to rebuild (see status), or 'all'.",
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Swap without asking.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff, then drop the new generation.")
    ] = False,
    batch_size: Annotated[
        int,
        typer.Option(
            min=1, max=BATCH_SIZE_MAX, metavar="COUNT", help="Log positions per transaction."
        ),
    ] = BATCH_SIZE,
    workers: Annotated[
        int,
        typer.Option(min=1, max=WORKERS_MAX, metavar="COUNT", help="Runners building at once."),
    ] = rebuilding.WORKERS,
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="Keep the old generation after the swap.")
    ] = False,
) -> None:
    """Rebuild read models beside the live ones, show the diffs, then swap each atomically."""
    projections = _read_models(names)
    settings = command_settings()
    # The whole runtime: a rebuild reads the log, whose tables only the ledger creates.
    with started_runtime(settings, takes_payments=False) as runtime:
        try:
            _rebuild(runtime.database, projections, batch_size, workers, dry_run, yes, keep_old)
        except ProjectionFailed as failure:
            console.print(f"[red]The rebuild stopped, and nothing was swapped:[/red] {failure}")
            raise typer.Exit(EXIT_PROJECTION) from None


def _rebuild(
    database: Database,
    projections: list[Projection],
    batch_size: int,
    workers: int,
    dry_run: bool,
    yes: bool,
    keep_old: bool,
) -> None:
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
