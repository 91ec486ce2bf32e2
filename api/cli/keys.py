"""`ledgerline keys …`: API keys, and the cipher key that seals personal fields."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from api import keys
from api.cli.help import ReadableCommand, ReadableGroup
from api.cli.starting import (
    EXIT_USAGE,
    command_settings,
    console,
    started_database,
    started_runtime,
)
from ledger.database import Database
from ledger.sealing import Sealer

if TYPE_CHECKING:
    from api.runtime import Runtime

keys_cli = typer.Typer(
    name="keys",
    cls=ReadableGroup,
    help="API keys: make one (shown once), list them, revoke one; and the cipher key.",
    no_args_is_help=True,
    add_completion=False,
)


@keys_cli.command("create", cls=ReadableCommand)
def keys_create(
    role: Annotated[
        keys.Role,
        typer.Option(
            "--role",  # named: typer 0.27 takes a metavar equal to the name for its option name
            metavar="ROLE",
            help="admin (the vendor), partner, finance or auditor.",
            show_choices=False,
        ),
    ],
    partner: Annotated[
        UUID | None,
        typer.Option(metavar="PARTNER_ID", help="The partner a partner key is bound to (a UUID)."),
    ] = None,
    label: Annotated[str, typer.Option(metavar="TEXT", help="A note on whom the key is for.")] = "",
) -> None:
    """Make an API key and print it, once: it is stored only as a hash."""
    settings = command_settings()
    if partner is None:
        with started_database(settings, keys.install) as database:
            key_id, key = _create(database, role, None, label)
    else:
        # A partner key needs the partner to exist: its read model, or the log, says so.
        with started_runtime(settings, takes_payments=False) as runtime:
            if not _partner_exists(runtime, partner):
                console.print(f"[red]No partner account {partner}.[/red]")
                raise typer.Exit(EXIT_USAGE)
            key_id, key = _create(runtime.database, role, partner, label)
    console.print(
        f"Made {role.value} key {key_id}"
        + (f" for partner {partner}" if partner else "")
        + ". It is shown this once; keep it secret:"
    )
    # Alone on standard output, for scripts: KEY=$(ledgerline keys create --role admin)
    sys.stdout.write(f"{key}\n")


def _create(
    database: Database, role: keys.Role, partner: UUID | None, label: str
) -> tuple[str, str]:
    with database.connect() as conn:
        try:
            return keys.create_key(conn, role, partner, label)
        except keys.KeyRefused as refusal:
            console.print(f"[red]{refusal}[/red]")
            raise typer.Exit(EXIT_USAGE) from None


def _partner_exists(runtime: Runtime, partner_id: UUID) -> bool:
    """The directory may lag a moment behind a partner just opened: ask the log too."""
    from domain.errors import PartnerNotFound
    from projections.partners import PartnerDirectory

    with runtime.read_pool.connection() as conn:
        if PartnerDirectory.get(conn, partner_id) is not None:
            return True
    try:
        runtime.ledger.partner_account(partner_id)
    except PartnerNotFound:
        return False
    return True


@keys_cli.command("list", cls=ReadableCommand)
def keys_list() -> None:
    """List the API keys (never their secrets)."""
    settings = command_settings()
    with started_database(settings, keys.install) as database, database.connect() as conn:
        found = keys.list_keys(conn)
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


@keys_cli.command("revoke", cls=ReadableCommand)
def keys_revoke(
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key id `keys list` shows.")],
) -> None:
    """Revoke a key. Running servers stop accepting it within LEDGERLINE_KEY_CACHE_TTL_S (30 s)."""
    settings = command_settings()
    with started_database(settings, keys.install) as database, database.connect() as conn:
        revoked = keys.revoke(conn, key_id)
    if not revoked:
        console.print(f"[red]No live key {key_id}.[/red]")
        raise typer.Exit(EXIT_USAGE)
    console.print(f"Revoked key {key_id}.")


@keys_cli.command("cipher-key", cls=ReadableCommand)
def keys_cipher_key() -> None:
    """Make a new LEDGERLINE_CIPHER_KEY, which seals personal fields at rest.

    Keep it safe: a ledger sealed with it cannot start, or be read, without it.
    """
    console.print("A new cipher key (AES-256, base64); set it as LEDGERLINE_CIPHER_KEY:")
    # Alone on standard output, for scripts: export LEDGERLINE_CIPHER_KEY=$(ledgerline keys …)
    sys.stdout.write(f"{Sealer.create_key()}\n")
