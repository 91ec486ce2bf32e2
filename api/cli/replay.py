"""`ledgerline replay what-if …`: history re-decided under proposed rules (issue 14)."""

from __future__ import annotations

import typer

from api.cli.help import ReadableGroup

replay_cli = typer.Typer(
    name="replay",
    cls=ReadableGroup,
    help="Replay history: what would have happened under other rules.",
    no_args_is_help=True,
    add_completion=False,
)


@replay_cli.callback()
def _replay() -> None:
    """Replay history: what would have happened under other rules."""
