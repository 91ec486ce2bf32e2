"""A pay-per-lead line's leads: each delivered lead, and the Friday run that invoices them
(R-L1, R-L2, R-L3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from domain.calendar import DATE_MAX, DATE_MIN, business_date, plausible_date
from domain.money import Money
from domain.values import PRICE_SET_ON_LEAD
from ledger.billing import invoice_leads
from ledger.commands.base import LedgerCommand, line, owned_line, partner, policy_on
from ledger.commands.lines import Answer, billed
from ledger.prices import line_price
from ledger.unit_of_work import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class RecordLead(LedgerCommand):
    """A lead was delivered: charged at its price against the budget (R-L1, R-L3).

    Unbilled leads reaching the threshold are invoiced at once (R-L2).
    """

    line_id: UUID
    lead_id: UUID
    delivered_at: datetime
    """When the lead was delivered, kept in UTC: one instant, one fingerprint, whatever offset
    it was written with."""
    price: Money | None = None
    """The lead's price; by default the catalogue's in force on the delivery day, with the
    partner's override then. A price set here names no catalogue version (`PRICE_SET_ON_LEAD`)."""

    def __post_init__(self) -> None:
        at = self.delivered_at
        # A date past the calendar's bounds stays as sent, for `handle` to refuse: turned to
        # UTC first, 9999-12-31T23:59-12:00 would overflow instead.
        if at.utcoffset() is not None and DATE_MIN <= at.date() <= DATE_MAX:
            object.__setattr__(self, "delivered_at", at.astimezone(UTC))

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        plausible_date(self.delivered_at.date(), "delivered_at")
        account = partner(uow, subscription.partner_id)
        day = business_date(self.delivered_at, account.time_zone)
        if self.price is None:
            catalogue = line_price(uow, subscription, day)
            price, version, override = (
                catalogue.amount,
                catalogue.price_version,
                catalogue.price_override,
            )
        else:
            price, version, override = self.price, None, PRICE_SET_ON_LEAD
        reached = account.charge_budget(self.lead_id, price, uow.now, day)
        subscription.record_lead(
            self.lead_id, price, day, uow.now, price_version=version, price_override=override
        )
        issued = None
        if subscription.lead_threshold_reached(policy_on(uow, day)):
            issued = invoice_leads(uow, account, subscription, day)
        aggregate_id, data = billed(subscription, issued)
        return aggregate_id, {**data, "budget_reached": reached}


@dataclass(frozen=True, kw_only=True)
class InvoiceLeads(LedgerCommand):
    """The Friday run: unbilled leads go on one invoice (R-L2)."""

    line_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        account = partner(uow, subscription.partner_id)
        issued = invoice_leads(uow, account, subscription, self.on, delivered_before=self.on)
        return billed(subscription, issued)
