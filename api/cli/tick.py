"""`ledgerline tick`: the billing clock, once."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated

import typer

from api.cli.help import ReadableCommand
from api.cli.starting import command_settings, console, started_runtime
from ledger.billing_clock import tick

INSTANT_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]
"""ISO 8601 with the offset, to the second or the minute: an instant is never read in a zone
the machine happens to be in."""

tick_cli = typer.Typer(add_completion=False)


@tick_cli.command("tick", cls=ReadableCommand)
def tick_command(
    until: Annotated[
        datetime | None,
        typer.Option(
            metavar="INSTANT",
            help="Do the work due up to this instant, in ISO 8601 with its offset "
            "(2026-03-01T00:00+00:00, seconds optional); default now.",
            formats=INSTANT_FORMATS,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help='Print {"at", "done", "refused"} as one JSON document on stdout.'
        ),
    ] = False,
) -> None:
    """Run the billing clock once: renewals, invoices, overdue marks, grace, budgets, transfers."""
    settings = command_settings()
    until = None if until is None else _aware(until)
    with started_runtime(settings) as runtime:
        instant = runtime.ledger.clock.now() if until is None else until
        report = tick(runtime.ledger, instant)
    if as_json:
        document = {
            "at": instant.isoformat(),
            "done": dict(sorted(report.done.items())),
            "refused": dict(sorted(report.refused.items())),
        }
        sys.stdout.write(json.dumps(document) + "\n")
        return
    done = ", ".join(f"{kind} {count}" for kind, count in sorted(report.done.items())) or "nothing"
    console.print(f"Billing clock at {instant.isoformat()}: {done} done.")
    if report.refused:
        refused = ", ".join(f"{kind} {count}" for kind, count in sorted(report.refused.items()))
        console.print(f"[yellow]Refused: {refused} (see the log).[/yellow]")


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise typer.BadParameter("give the instant with its offset, e.g. 2026-03-01T00:00+00:00")
    return instant
