"""`ledgerline replay what-if …`: history re-decided under proposed rules (issue 14).

The command parses and checks what it is given before it opens the database: a refused
proposal, date or partner id opens nothing and writes nothing (nor does an accepted one: see
replay/what_if.py). The report goes to standard output, a rich table per partner, or one JSON
document with `--json`; the progress bar and refusals go to standard error.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.help import ReadableCommand, ReadableGroup
from api.cli.starting import command_settings, console, started_database
from domain.errors import BillingError, PartnerNotFound, UnknownProduct
from ledger.formatting import format_money

EXIT_REFUSED = 6
"""The proposal is refused: a `--set` that is not NAME=VALUE, names a value a what-if does
not decide again, or a value the policy refuses; a `--price` that is not CODE@CUR=AMOUNT_MINOR
or names a product the catalogue does not price in that currency; or `--from` is not a date
(the message says which). Nothing was written."""
EXIT_UNKNOWN_PARTNER = 7
"""`--partner` is not a partner id, or no partner has it. Nothing was written."""
EXIT_NOT_COMPARABLE = 8
"""A live read model a what-if compares with is missing or was built by other rules than this
code's: rebuild it first (`ledgerline projections rebuild`). Nothing was written."""

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


def _refused(message: str, code: int) -> typer.Exit:
    console.print(f"[red]Refused:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _changes(items: list[str], option: str, example: str) -> dict[str, str]:
    changes: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise _refused(f"{option} takes NAME=VALUE ({example}), not {item!r}.", EXIT_REFUSED)
        changes[name.strip()] = value.strip()
    return changes


@replay_cli.command("what-if", cls=ReadableCommand)
def what_if_command(
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="NAME=VALUE",
            help="A proposed policy value: card_fee_rate, cashback_rate or "
            "duration_discount:TERM (twelve_months). Repeat for several; none at all checks "
            "that the history replays to exactly the live read models.",
        ),
    ] = None,
    from_day: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="DATE",
            help="The first business date (YYYY-MM-DD) the proposed values apply to; earlier "
            "amounts stay as they were decided. Default: the whole history.",
        ),
    ] = None,
    prices: Annotated[
        list[str] | None,
        typer.Option(
            "--price",
            metavar="CODE@CUR=AMOUNT_MINOR",
            help="A proposed monthly unit price of a product in a currency, in minor units "
            "(messaging-line@RUB=160000), for the periods that start from --from on. Repeat "
            "for several.",
        ),
    ] = None,
    partner: Annotated[
        str | None,
        typer.Option("--partner", metavar="ID", help="Replay only this partner's history."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON document on stdout, with no progress bar."),
    ] = False,
) -> None:
    """Re-decide the history's card fees, cashback and duration discounts under proposed
    policy values (and its product lines under proposed prices), and print per partner what
    would differ (invoice totals, fees, discounts,
    cashback, payments, balances). The log and the live read models are never written."""
    # Imported here: the engine (and the ledger it reads the rules from) is most of the start.
    from replay.what_if import NotComparable, proposal, what_if

    try:
        first_day = date.fromisoformat(from_day) if from_day is not None else None
    except ValueError:
        raise _refused(
            f"--from takes a date as YYYY-MM-DD, not {from_day!r}.", EXIT_REFUSED
        ) from None
    try:
        wanted = proposal(
            _changes(sets or [], "--set", "card_fee_rate=0.025"),
            first_day,
            _changes(prices or [], "--price", "messaging-line@RUB=160000"),
        )
    except BillingError as refused:
        raise _refused(str(refused), EXIT_REFUSED) from None
    try:
        partner_id = UUID(partner) if partner is not None else None
    except ValueError:
        raise _refused(
            f"--partner takes a partner id, not {partner!r}.", EXIT_UNKNOWN_PARTNER
        ) from None
    settings = command_settings()
    with started_database(settings, lambda _conn: None) as database:
        try:
            if as_json:
                result = what_if(database, wanted, partner_id=partner_id)
            else:
                with Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=console,
                    transient=True,
                ) as bar:
                    task = bar.add_task("What-if", total=None)

                    def told(step: str, done: int, total: int) -> None:
                        bar.update(task, description=step, completed=done, total=total)

                    result = what_if(database, wanted, partner_id=partner_id, progress=told)
        except PartnerNotFound as unknown:
            raise _refused(str(unknown), EXIT_UNKNOWN_PARTNER) from None
        except UnknownProduct as unknown:
            raise _refused(str(unknown), EXIT_REFUSED) from None
        except NotComparable as stale:
            raise _refused(str(stale), EXIT_NOT_COMPARABLE) from None
    if as_json:
        sys.stdout.write(json.dumps(result.as_json()) + "\n")
        return
    _print_report(result.as_json())


def _print_report(report: dict[str, Any]) -> None:
    out = Console(soft_wrap=True)
    values = {**report["changes"], **report["prices"]}
    proposed = ", ".join(f"{k}={v}" for k, v in values.items()) or "nothing changed"
    since = f" from {report['from']}" if report["from"] else ""
    out.print(
        f"What-if ({proposed}{since}): {report['events_read']:,} events up to log position "
        f"{report['position']:,}, {report['events_redecided']:,} decided otherwise; "
        f"{_partners(report['partners_compared'])} compared.",
        highlight=False,
    )
    if not report["differences"]:
        out.print("No difference from the live read models.")
        return
    for found in report["differences"]:
        currency = found["currency"]
        table = Table(title=f"Partner {found['partner_id']} ({currency})", title_justify="left")
        for column in ("", "live", "what-if", "difference"):
            table.add_column(column, justify="right" if column else "left")
        for name, figure in found["figures"].items():
            table.add_row(
                name.removesuffix("_minor").replace("_", " "), *_amounts(figure, currency)
            )
        for invoice in found["invoices"]:
            table.add_row(
                f"invoice {invoice['number']}", *_amounts(invoice["total_minor"], currency)
            )
        out.print(table)
        hidden = found["invoices_changed"] - len(found["invoices"])
        if hidden > 0:
            out.print(f"… and {hidden:,} more invoices (--json lists the first ones too).")


def _partners(count: int) -> str:
    return f"{count:,} partner" + ("" if count == 1 else "s")


def _amounts(figure: dict[str, int], currency: str) -> tuple[str, str, str]:
    difference = figure["difference"]
    sign = "+" if difference > 0 else ""
    return (
        format_money(figure["live"], currency),
        format_money(figure["what_if"], currency),
        sign + format_money(difference, currency),
    )
