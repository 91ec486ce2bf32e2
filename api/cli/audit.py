"""`ledgerline audit …`: an account as it stood at any moment, and the proofs that the log
was not altered (issue 14; docs/audit.md). The commands live in their own modules, each
registering itself on `audit_cli`: api/cli/audit_history.py (as of a moment, the events that
led there) and api/cli/audit_proofs.py (verify, digest, export, check-bundle)."""

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


def _register() -> None:
    # Imported for their commands, which they add to `audit_cli`.
    import api.cli.audit_history
    import api.cli.audit_proofs  # noqa: F401


_register()
