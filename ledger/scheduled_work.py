"""The billing clock's work: each kind of scheduled work (ledger/schedule.py `Work`) mapped to
what does it, under a key naming the work, so each piece is done once (R-X5).

Most kinds are a command; two talk to the payment processor first (charging an invoice
autopay pays, looking whether direct debits settled), and the kinds that issue an invoice are
followed by its autopay charge.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID

from ledger.charging import Charging
from ledger.command_bus import CommandBus
from ledger.command_records import CommandResult
from ledger.commands import clock as clock_commands
from ledger.commands import invoices as invoice_commands
from ledger.commands import line_leads, line_transfers
from ledger.commands import lines as line_commands
from ledger.schedule import Work
from ledger.unit_of_work import Command

COMMANDS: dict[Work, Callable[[UUID, date], Command]] = {
    Work.ACTIVATE: lambda line_id, on: line_commands.StartScheduledLine(line_id=line_id, on=on),
    Work.RENEW: lambda line_id, on: line_commands.RenewDueLine(line_id=line_id, on=on),
    Work.INVOICE_AHEAD: lambda line_id, on: line_commands.InvoiceAhead(line_id=line_id, on=on),
    Work.INVOICE_LEADS: lambda line_id, on: line_leads.InvoiceLeads(line_id=line_id, on=on),
    Work.COMPLETE_TRANSFER: lambda line_id, on: line_transfers.CompleteTransfer(
        line_id=line_id, on=on
    ),
    Work.MARK_OVERDUE: lambda invoice_id, on: invoice_commands.MarkOverdue(
        invoice_id=invoice_id, on=on
    ),
    Work.UNIFIED_INVOICE: lambda partner_id, on: clock_commands.IssueUnifiedInvoice(
        partner_id=partner_id, on=on
    ),
    Work.EXPIRE_GRACE: lambda partner_id, on: clock_commands.ExpireGrace(
        partner_id=partner_id, on=on
    ),
    Work.START_BUDGET_PERIOD: lambda partner_id, on: clock_commands.StartBudgetPeriod(
        partner_id=partner_id, on=on
    ),
}
"""The command each kind of work issues for its subject (a line, an invoice or a partner) and
its business day; the kinds missing here talk to the processor (`ScheduledWork.do`)."""

ISSUES_INVOICES = frozenset(
    {Work.ACTIVATE, Work.RENEW, Work.INVOICE_AHEAD, Work.INVOICE_LEADS, Work.UNIFIED_INVOICE}
)
"""Work whose command may issue an invoice that autopay by card or debit then charges."""


def work_key(work: Work, subject_id: UUID, on: date) -> str:
    """The idempotency key of one piece of work: a second run of it does nothing (R-X5)."""
    return f"clock/{work.value}/{subject_id}/{on.isoformat()}"


class ScheduledWork:
    """Does one piece of the billing clock's work, once."""

    def __init__(self, bus: CommandBus, charging: Charging) -> None:
        self.bus = bus
        self.charging = charging

    def do(self, work: Work, subject_id: UUID, on: date) -> CommandResult | None:
        """Do `work` for its subject on business day `on`, under a key naming it."""
        key = work_key(work, subject_id, on)
        if work is Work.SETTLE_DEBIT:
            return self.charging.settle_debits(subject_id, on, key)
        if work is Work.CHARGE:
            return self.charging.charge_due_invoice(subject_id, key)
        result = self.bus.execute(COMMANDS[work](subject_id, on), key)
        if work in ISSUES_INVOICES:
            return self.charging.charge_after_issue(result, key)
        return result
