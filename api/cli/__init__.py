"""The `ledgerline` command line.

Each command starts what it needs and no more (api/cli/starting.py): the `keys` commands and
`projections status` open the database alone; `serve`, `tick` and `projections rebuild` start
the whole runtime. Each command's module is imported only when it runs: `keys list` never
loads the ledger, the read models or uvicorn.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Annotated

import typer
import typer.main

from api.cli.help import ReadableGroup

if TYPE_CHECKING:
    from typer._click.core import Command, Context

DISTRIBUTION = "ledgerline"
"""The installed package whose version `--version` prints."""
COMMANDS = {
    "serve": "api.cli.serve:serve_cli",
    "demo": "api.cli.demo:demo_cli",
    "tick": "api.cli.tick:tick_cli",
    "projections": "api.cli.projections:projections_cli",
    "keys": "api.cli.keys:keys_cli",
    "catalogue": "api.cli.catalogue:catalogue_cli",
    "audit": "api.cli.audit:audit_cli",
    "replay": "api.cli.replay:replay_cli",
}
"""Each top-level command, and the module and typer app that make it."""


class _Commands(ReadableGroup):
    """The top-level commands, each imported when it runs or when the help lists it."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, app = COMMANDS[cmd_name].split(":")
        return typer.main.get_command(getattr(importlib.import_module(module), app))


cli = typer.Typer(
    name="ledgerline",
    cls=_Commands,
    help="Ledgerline: an event-sourced billing ledger for businesses that sell through partners.",
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(wanted: bool) -> None:
    if wanted:
        # Imported here: reading the installed metadata would cost every command 0.05 s.
        from importlib.metadata import version

        sys.stdout.write(f"{DISTRIBUTION} {version(DISTRIBUTION)}\n")
        raise typer.Exit()


@cli.callback()
def _commands(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Ledgerline: an event-sourced billing ledger for businesses that sell through partners."""


def main() -> None:
    """Entry point of the `ledgerline` console script."""
    sys.exit(cli())
