"""The `ledgerline audit` group, which the audit commands register themselves on:
api/cli/audit_history.py (as of a moment, the events that led there) and
api/cli/audit_proofs.py (verify, digest, export, check-bundle); api/cli/audit.py gathers them
(issue 14; docs/audit.md)."""

from __future__ import annotations

import typer

from api.cli.help import ReadableGroup

audit_cli = typer.Typer(
    name="audit",
    cls=ReadableGroup,
    help="Audit the log: any account as it stood at any moment, and proof it was not altered.",
    no_args_is_help=True,
    add_completion=False,
)


@audit_cli.callback()
def _audit() -> None:
    """Audit the log: any account as it stood at any moment, and proof it was not altered."""
