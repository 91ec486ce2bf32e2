"""`ledgerline audit verify | digest | public-key | export | check-bundle`: proofs that the log
was not altered (issue 14; docs/audit.md).

`check-bundle` needs nothing but its files and the vendor's public key: it reads no setting and
opens no database, so an auditor runs it anywhere.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import psycopg
import typer
from eventsourcing.persistence import Mapper
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli.audit_group import audit_cli
from api.cli.help import ReadableCommand
from api.cli.starting import (
    EXIT_CONFIG,
    EXIT_DATABASE,
    EXIT_USAGE,
    command_settings,
    console,
    started_database,
)
from domain.errors import PartnerNotFound
from ledger.database import Database
from ledger.schema import create_tables
from ledger.settings import Settings
from ledger.transcodings import LedgerMapper, LedgerTranscoder
from replay.bundles import export_bundle
from replay.digests import ChainBroken, MalformedProof, head_position, signed_digest
from replay.proofs_check import check_bundle
from replay.proofs_keys import (
    PublicKeyUnusable,
    SigningKey,
    SigningKeyUnusable,
    VerifyingKey,
    signing_key,
)
from replay.verify import Verification, verify

EXIT_BROKEN = 7
"""`verify`: a chain is broken; `digest`, `export`: nothing signed, a chain is broken;
`check-bundle`: the bundle does not prove what it claims (each finding is printed)."""
EXIT_BAD_INPUT = 8
"""`check-bundle`: a file cannot be read or is not a bundle, a digest or a public key."""
PROOF_FILE_BYTES_MAX = 1024 * 1024 * 1024
"""The largest bundle read whole (1 GiB: some millions of events); a bigger file is refused
before it fills the memory."""

PartnerOption = Annotated[
    UUID | None,
    typer.Option("--partner", metavar="ID", help="Only this partner's chain."),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout, no progress bar.")
]


@contextmanager
def _log(settings: Settings) -> Iterator[Database]:
    """The database with the write side's tables (the log itself), refusing a store with none."""
    # With the settings' cipher key: a sealed ledger refuses a start without it, and the
    # snapshot check opens sealed fields with it.
    with started_database(
        settings, lambda conn: create_tables(conn, settings.sealer())
    ) as database:
        try:
            yield database
        except psycopg.errors.UndefinedTable:
            console.print("[red]This database holds no log yet: start `ledgerline serve`.[/red]")
            raise typer.Exit(EXIT_DATABASE) from None


def _now(settings: Settings) -> datetime:
    # Imported here: the runtime module is most of a command's start-up time.
    from api.runtime import clock_for

    return clock_for(settings).now()


def _signing_key(settings: Settings) -> SigningKey:
    try:
        return signing_key(settings.audit_signing_key, settings.home)
    except SigningKeyUnusable as error:
        console.print(f"[red]{error}[/red] (LEDGERLINE_AUDIT_SIGNING_KEY)")
        raise typer.Exit(EXIT_CONFIG) from None


def _print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


@audit_cli.command("verify", cls=ReadableCommand)
def audit_verify(partner: PartnerOption = None, as_json: JsonOption = False) -> None:
    """Walk the hash chains and report every broken link by position and partner, or "intact"
    with the count. Exits 7 when a chain is broken."""
    settings = command_settings()
    with _log(settings) as database, database.connect() as conn:
        mapper = LedgerMapper(LedgerTranscoder(settings.sealer()))
        if as_json:
            found = verify(conn, partner_id=partner, snapshots=mapper)
        else:
            found = _verify_with_progress(conn, partner, mapper)
    if partner is not None and found.events == 0:
        console.print(f"[red]{PartnerNotFound.of(partner).detail}[/red]")
        raise typer.Exit(EXIT_USAGE)
    if as_json:
        _print_json(found.as_json())
    else:
        _print_verification(found)
    if not found.intact:
        raise typer.Exit(EXIT_BROKEN)


def _verify_with_progress(
    conn: psycopg.Connection[Any], partner: UUID | None, mapper: Mapper[UUID]
) -> Verification:
    columns = (
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("verify", total=head_position(conn) or None)
        found = verify(
            conn,
            partner_id=partner,
            progress=lambda at: progress.update(task, completed=at),
            snapshots=mapper,
        )
        progress.update(task, completed=found.up_to)
    return found


def _print_verification(found: Verification) -> None:
    if found.intact:
        sys.stdout.write(found.summary() + "\n")
        return
    sys.stdout.write(found.summary() + "\n")
    for each in found.breaks:
        owner = (
            "outside every chain"
            if each.chain is None
            else f"partner {each.partner_id}"
            if each.partner_id
            else "the vendor's chain"
        )
        sys.stdout.write(f"  position {each.position}  {owner}  {each.kind}: {each.message}\n")
    if found.break_count > len(found.breaks):
        sys.stdout.write(f"  … and {found.break_count - len(found.breaks)} more\n")


@audit_cli.command("digest", cls=ReadableCommand)
def audit_digest(
    position: Annotated[
        int | None,
        typer.Option(min=1, metavar="N", help="The log position (the head now by default)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print every chain's head at a log position, verified then signed with the vendor's
    Ed25519 key: keep it, and a later export proves nothing before it changed. Exits 7
    (nothing signed) when a chain is broken."""
    settings = command_settings()
    key = _signing_key(settings)
    with _log(settings) as database, database.connect() as conn:
        head = head_position(conn)
        if position is not None and position > head:
            console.print(f"[red]The log has no position {position} yet (it is at {head}).[/red]")
            raise typer.Exit(EXIT_USAGE)
        try:
            signed = signed_digest(conn, key, _now(settings), up_to=position)
        except ChainBroken as broken:
            console.print(f"[red]{broken.detail}[/red]")
            raise typer.Exit(EXIT_BROKEN) from None
    _print_json(signed)
    if not as_json:
        chains = len(signed["digest"]["chains"])
        console.print(
            f"Signed by key {signed['key_id']}: {chains} chain{'s' * (chains != 1)} up to "
            f"position {signed['digest']['up_to_position']}."
        )


@audit_cli.command("public-key", cls=ReadableCommand)
def audit_public_key() -> None:
    """Print the vendor's public key (PEM), for auditors to keep and check signatures with."""
    settings = command_settings()
    key = _signing_key(settings)
    sys.stdout.write(key.public.pem())
    console.print(f"Key id {key.public.key_id}, from {key.path}.")


@audit_cli.command("export", cls=ReadableCommand)
def audit_export(
    partner: Annotated[UUID, typer.Option("--partner", metavar="ID", help="The partner.")],
    out: Annotated[
        Path, typer.Option("--out", metavar="FILE", dir_okay=False, help="The bundle to write.")
    ],
) -> None:
    """Write a partner's chain as a self-contained bundle (one JSON file) with its head signed:
    `audit check-bundle` verifies it offline. Exits 7 (nothing written) when the chain is
    broken."""
    settings = command_settings()
    key = _signing_key(settings)
    with _log(settings) as database, database.connect() as conn:
        try:
            bundle = export_bundle(conn, partner, key, _now(settings))
        except PartnerNotFound as unknown:
            console.print(f"[red]{unknown.detail}[/red]")
            raise typer.Exit(EXIT_USAGE) from None
        except ChainBroken as broken:
            console.print(f"[red]{broken.detail}[/red]")
            raise typer.Exit(EXIT_BROKEN) from None
    out.write_text(json.dumps(bundle, indent=1) + "\n")
    console.print(
        f"Wrote {len(bundle['events'])} events of partner {partner} up to position "
        f"{bundle['up_to_position']} to {out}, signed by key {bundle['digest']['key_id']}."
    )


@audit_cli.command("check-bundle", cls=ReadableCommand)
def audit_check_bundle(
    bundle_file: Annotated[
        Path, typer.Argument(metavar="FILE", dir_okay=False, help="A bundle from `audit export`.")
    ],
    public_key: Annotated[
        str,
        typer.Option(
            "--public-key",
            metavar="KEY",
            help="The vendor's public key: a PEM file, or the key itself (PEM or base64).",
        ),
    ],
    digest: Annotated[
        Path | None,
        typer.Option(
            "--digest",
            metavar="FILE",
            dir_okay=False,
            help="A digest kept from earlier (`audit digest`, or an earlier bundle): the "
            "bundle must pass through its head.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a bundle offline, with no database: every hash again from the chain's start, the
    signed head and its signature, and that it extends an earlier digest. Exits 7 when it
    does not prove what it claims, 8 when a file or the key cannot be read."""
    key = _public_key(public_key)
    bundle = _read_json(bundle_file)
    earlier = _read_json(digest) if digest is not None else None
    if isinstance(earlier, dict) and "events" in earlier:
        earlier = earlier.get("digest")  # an earlier bundle: its signed digest
    try:
        checked = check_bundle(bundle, key, earlier)
    except MalformedProof as error:
        console.print(f"[red]Not a bundle or digest:[/red] {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if as_json:
        _print_json(checked.as_json())
    elif checked.valid:
        extends = (
            f"; it extends the earlier digest of position {checked.earlier_up_to}"
            if checked.earlier_up_to is not None
            else ""
        )
        sys.stdout.write(
            f"valid: {checked.events} events of partner {checked.partner_id} up to position "
            f"{checked.up_to}, head link {checked.head.seq if checked.head else 0}, signed by "
            f"key {checked.key_id}{extends}\n"
        )
    else:
        count = len(checked.findings)
        sys.stdout.write(f"INVALID: {count} finding{'s' * (count != 1)}\n")
        for each in checked.findings:
            sys.stdout.write(f"  {each.code}: {each.message}\n")
    if not checked.valid:
        raise typer.Exit(EXIT_BROKEN)


def _public_key(given: str) -> VerifyingKey:
    path = Path(given)
    try:
        text = _read_text(path) if len(given) < 4096 and path.is_file() else given
        return VerifyingKey.parse(text)
    except PublicKeyUnusable as error:
        console.print(f"[red]The public key is unusable:[/red] {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > PROOF_FILE_BYTES_MAX:
            raise OSError(0, f"larger than {PROOF_FILE_BYTES_MAX} bytes")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        console.print(f"[red]{path} cannot be read:[/red] {reason}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        console.print(f"[red]{path} is not JSON:[/red] {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
