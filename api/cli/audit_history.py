"""`ledgerline audit partner ID`: a partner's account as it stood at a moment, and every event
that led there with who caused it (issue 14; docs/audit.md "As of")."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from api.cli.audit_group import audit_cli
from api.cli.help import ReadableCommand
from api.cli.starting import EXIT_USAGE, command_settings, console, started_runtime
from api.cli.tick import INSTANT_FORMATS
from api.schemas.audit_history import AuditEvent, AuditPartnerResponse
from domain.errors import BillingError, Refusal
from ledger.formatting import format_money
from replay.as_of import PartnerAsOf, partner_as_of
from replay.as_of_events import EVENTS_LISTED_MAX, EventEntry, events_to

EXIT_NOT_FOUND = 6
"""No partner has this id, or the ledger had recorded nothing of it by the moment named."""
DATE_FORMATS = ["%Y-%m-%d"]
RECORDED_FORMAT = "%Y-%m-%d %H:%M:%SZ"
"""A recorded instant in the listing: UTC, to the second (the JSON keeps microseconds)."""


@audit_cli.command("partner", cls=ReadableCommand)
def audit_partner(
    partner_id: Annotated[UUID, typer.Argument(metavar="ID", help="The partner account's id.")],
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            metavar="INSTANT",
            formats=INSTANT_FORMATS,
            help="What the ledger knew at this instant, ISO 8601 with its offset "
            "(2026-03-01T00:00+00:00, seconds optional).",
        ),
    ] = None,
    position: Annotated[
        int | None,
        typer.Option(metavar="N", min=1, help="Every event up to this log position."),
    ] = None,
    business_date: Annotated[
        datetime | None,
        typer.Option(
            "--business-date",
            metavar="DATE",
            formats=DATE_FORMATS,
            help="What was in effect on this day (YYYY-MM-DD) in the partner's zone, by "
            "everything recorded up to now, corrections included.",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(metavar="KEY_ID", help="List only the events this API key caused."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help='Print {"partner", "events"} as one JSON document on stdout.'),
    ] = False,
) -> None:
    """A partner's account, clients, lines, invoices, bonus wallet and balances as they stood
    at a moment (exactly one of --as-of, --position, --business-date), replayed from the log,
    and every event that led there: position, instant, business date, type, who, what."""
    if sum(value is not None for value in (as_of, position, business_date)) != 1:
        console.print(
            "[red]Name the moment with exactly one of --as-of, --position or --business-date.[/red]"
        )
        raise typer.Exit(EXIT_USAGE)
    settings = command_settings()
    with started_runtime(settings, takes_payments=False) as runtime:
        mapper = runtime.ledger.mapper
        with runtime.database.connect() as conn:
            try:
                state = partner_as_of(
                    conn,
                    mapper,
                    partner_id,
                    as_of=as_of,
                    position=position,
                    business_date=business_date.date() if business_date else None,
                )
                events = events_to(conn, mapper, partner_id, state.cut, actor=actor)
            except BillingError as refused:
                console.print(f"[red]{refused.detail}[/red]")
                code = EXIT_NOT_FOUND if refused.refusal is Refusal.NOT_FOUND else EXIT_USAGE
                raise typer.Exit(code) from None
    if len(events) >= EVENTS_LISTED_MAX:
        console.print(
            f"[yellow]The listing stops at {EVENTS_LISTED_MAX} events: narrow it with --actor "
            "or an earlier moment.[/yellow]"
        )
    if as_json:
        document = {
            "partner": AuditPartnerResponse.of(state).model_dump(mode="json"),
            "events": [AuditEvent.of(entry).model_dump(mode="json") for entry in events],
        }
        sys.stdout.write(json.dumps(document) + "\n")
        return
    _print(Console(), state, events, actor)


def _money(amount_minor: int, currency: str) -> str:
    return format_money(amount_minor, currency)


def _print(out: Console, state: PartnerAsOf, events: list[EventEntry], actor: str | None) -> None:
    account, money = state.account, state.balances
    currency = money.currency
    out.print(f"[bold]{account.name}[/bold] ({account.id}) {state.cut.describe()}")
    out.print(
        f"Status {account.status.value}; company balance "
        f"{_money(money.company_balance_minor, currency)}; bonus wallet "
        f"{_money(money.bonus_wallet_minor, currency)}; owed on invoices "
        f"{_money(sum(money.receivable_minor.values()), currency)}."
    )
    clients = Table("Client", "Name", "Unified billing", title="Clients")
    for key, client in sorted(account.clients.items()):
        clients.add_row(key, client.name, "yes" if client.unified_billing else "no")
    lines = Table("Line", "Client", "Product", "Status", "Payer", "Period", title="Lines")
    for line in state.lines:
        period = line.current_period
        lines.add_row(
            str(line.id),
            str(line.client_id),
            line.product_code,
            line.status.value,
            line.payer.value,
            f"{period.start} to {period.end}" if period else "",
        )
    invoices = Table(
        "Invoice", "Issued", "Status", "Total", "Paid", "Refunded", "Outstanding", title="Invoices"
    )
    for invoice in state.invoices:
        invoices.add_row(
            invoice.number,
            invoice.issued_on.isoformat(),
            invoice.status.value,
            _money(invoice.total.amount_minor, currency),
            _money(invoice.paid.amount_minor, currency),
            _money(invoice.refunded.amount_minor, currency),
            _money(invoice.outstanding.amount_minor, currency),
        )
    listing = Table(
        "Position",
        "Recorded",
        "Business date",
        "Type",
        "Who",
        "What",
        title=f"Events{f' caused by {actor}' if actor else ''} ({len(events)})",
    )
    for column in listing.columns[3:5]:
        column.overflow = "fold"  # a type and a key id are read whole, never cut short
    for entry in events:
        listing.add_row(
            str(entry.position),
            entry.recorded_at.astimezone(UTC).strftime(RECORDED_FORMAT)
            if entry.recorded_at
            else "",
            entry.business_date.isoformat(),
            entry.type,
            entry.caused_by,
            entry.sentence,
        )
    for table in (clients, lines, invoices, listing):
        out.print(table)
