"""`ledgerline catalogue import FILE`: a catalogue file into the store, once (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.help import ReadableCommand, ReadableGroup
from api.cli.starting import command_settings, console, started_runtime
from domain.errors import BillingError
from ledger.audit_chain import Cause, caused_by
from ledger.catalogue import CatalogueError, import_catalogue

EXIT_REFUSED = 6
"""The file is malformed, or the catalogue refused one of its products (the message says
which); the products before it were imported, and importing the mended file again adds the
rest (what is in the store already is left as it is)."""

catalogue_cli = typer.Typer(
    name="catalogue",
    cls=ReadableGroup,
    help="The catalogue: products and their prices as history.",
    no_args_is_help=True,
    add_completion=False,
)


@catalogue_cli.callback()
def _catalogue() -> None:
    """The catalogue: products and their prices as history (a group, with `import` for now)."""


@catalogue_cli.command("import", cls=ReadableCommand)
def catalogue_import(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            help="A catalogue in TOML, shaped as ledger/catalogue.toml.",
        ),
    ],
) -> None:
    """Import a catalogue file: new products and prices are added; a file imported again
    writes nothing. A price's change needs an `effective_from` later than the last one."""
    settings = command_settings()
    with started_runtime(settings, takes_payments=False) as runtime:
        try:
            with caused_by(Cause.command_line(f"catalogue import {path.name}")):
                results = import_catalogue(runtime.ledger.execute, path)
        except (CatalogueError, BillingError) as refused:
            console.print(f"[red]Refused:[/red] {refused}")
            raise typer.Exit(EXIT_REFUSED) from None
    written = [result for result in results if not result.replayed]
    created = sum(1 for result in written if result.data.get("created"))
    prices = sum(len(result.data.get("prices_added", [])) for result in written)
    console.print(
        f"Catalogue {path}: {len(results)} products, {created} new, {prices} prices added"
        + ("." if written else " (imported before: nothing written).")
    )
