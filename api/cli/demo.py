"""`ledgerline demo`: load the demo through the API's own routes, and print keys to try it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated

import typer

from api.cli.help import ReadableCommand
from api.cli.starting import EXIT_CONFIG, command_settings, console, started_runtime
from api.demo.driver import DemoRefused
from api.demo.loader import SHOWN_PARTNER, DemoLoaded, load_demo
from ledger.settings import Settings

demo_cli = typer.Typer(add_completion=False)


def base_url(settings: Settings) -> str:
    """Where `serve` listens with these settings, as the printed URLs name it."""
    return f"http://{settings.host}:{settings.port}"


def described(loaded: DemoLoaded, base: str) -> list[str]:
    """The lines that show what the demo made: its keys and three URLs to try."""
    urls = loaded.urls(base)
    return [
        f"The demo: {len(loaded.partners)} partners on {len(loaded.clocks)} test clocks, "
        "January to April 2026 (docs/operations.md, The demo).",
        f"  admin key:    {loaded.admin_key}",
        f"  partner key:  {loaded.partner_key}  ({SHOWN_PARTNER}, {loaded.partner_id})",
        f"  its banner:   {urls['banner']}",
        f"  its invoices: {urls['invoices']}",
        f"  its balance:  {urls['balance']}",
        f"  try:          curl -s -H 'authorization: Bearer {loaded.partner_key}' "
        f"{urls['balance']}",
    ]


def load_or_exit(load: Callable[[], DemoLoaded]) -> DemoLoaded:
    """Run `load`, or exit with the problem the API answered (test clocks refused, say)."""
    try:
        loaded = load()
    except DemoRefused as refused:
        console.print(f"[red]The demo could not load: {refused}[/red]", soft_wrap=True)
        raise typer.Exit(EXIT_CONFIG) from None
    return loaded


@demo_cli.command("demo", cls=ReadableCommand)
def demo(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was made as one JSON object.")
    ] = False,
) -> None:
    """Load the demo: partners in USD, RUB and PLN on three test clocks, four months of their
    history, sent through the API's own routes. Run again, it writes nothing; it prints an admin
    key and a partner key made for this run, and three URLs to try."""
    settings = command_settings()
    with started_runtime(settings) as runtime:
        runtime.start_projectors()
        loaded = load_or_exit(lambda: load_demo(runtime))
    if as_json:
        sys.stdout.write(json.dumps(loaded.as_json(base_url(settings)), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("".join(f"{line}\n" for line in described(loaded, base_url(settings))))
