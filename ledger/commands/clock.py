"""Commands the billing clock issues when their day comes (see ledger/billing_clock.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from domain.invoice import InvoiceKind
from domain.values import Payer
from ledger.billing import expected_source, issue_invoice
from ledger.commands.base import LedgerCommand, partner
from ledger.unit_of_work import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class IssueUnifiedInvoice(LedgerCommand):
    """On the partner's billing day its unified lines' charges go on one invoice (R-O2, R-O3)."""

    partner_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        account = partner(uow, self.partner_id)
        if not account.deferred_charges:
            return account.id, {}
        issued = issue_invoice(
            uow,
            account,
            kind=InvoiceKind.SUBSCRIPTION,
            payer=Payer.PARTNER,
            client_id=None,
            lines=list(account.deferred_charges),
            issued_on=self.on,
            source=expected_source(account, None),
        )
        account.record_unified_invoice(issued.id, self.on, uow.now)
        return account.id, {"invoice_id": str(issued.id), "invoice_number": issued.number}


@dataclass(frozen=True, kw_only=True)
class ExpireGrace(LedgerCommand):
    """The week of grace after a missed payment is over: the account pauses (R-L4)."""

    partner_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        account = partner(uow, self.partner_id)
        paused = account.expire_grace(uow.now, self.on)
        return account.id, {"paused": paused, "status": account.status.value}


@dataclass(frozen=True, kw_only=True)
class StartBudgetPeriod(LedgerCommand):
    """The signup day of month: a new budget period, and leads again if paused for it (R-L3)."""

    partner_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        account = partner(uow, self.partner_id)
        started = account.start_budget_period(uow.now, self.on)
        return account.id, {"started": started, "status": account.status.value}
