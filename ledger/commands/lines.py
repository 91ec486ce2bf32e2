"""Commands on a subscription line's life cycle and billing: create, send, accept, activate,
renew, cancel, pause, resume, locations and autopay (R-C1, R-H1, R-O3, R-C6).

A line's card is in ledger/commands/line_cards.py, its leads in line_leads.py, its transfer to
another reseller in line_transfers.py. Commands the edge issues decide ownership here
(`owned_line`, `owned_partner`: another partner's line is not found); the billing clock's act
as the vendor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from domain.calendar import Anchor, BillingPeriod, Term
from domain.errors import ClientNotInUnifiedBilling
from domain.invoice import Invoice
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from domain.pricing import PriceUnit
from domain.subscription_line import SubscriptionLine
from domain.values import Location, Payer
from ledger.billing import after_payment, bill_period
from ledger.commands.base import (
    LedgerCommand,
    line,
    owned_line,
    owned_partner,
    partner,
    today,
)
from ledger.commands.catalogue import sold_product
from ledger.unit_of_work import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]


class Outstanding(StrEnum):
    """What to do with failed and overdue payments when the card is updated (R-H5)."""

    CHARGE_ALL = "charge_all"
    """Charge every pending payment to the new card now."""
    MARK_PAID = "mark_paid"
    """Mark every pending payment as paid; charge nothing now."""


def settle_outstanding(
    uow: UnitOfWork,
    account: PartnerAccount,
    pending: list[Invoice],
    choice: Outstanding | None,
    day: date,
) -> list[str]:
    """What a new card or payment method does to the payments outstanding (R-H5): MARK_PAID
    settles each here; CHARGE_ALL answers the invoices to charge to it (the ledger charges
    them next, each under its own key); no choice leaves them outstanding."""
    if choice is Outstanding.MARK_PAID:
        for owed in pending:
            payment_id = uuid4()
            owed.mark_paid(payment_id, day, uow.now)
            after_payment(uow, account, owed, payment_id, day)
        return []
    if choice is Outstanding.CHARGE_ALL:
        return [str(owed.id) for owed in pending]
    return []


@dataclass(frozen=True, kw_only=True)
class CreateLine(LedgerCommand):
    """A partner sets up a line for one of its clients, as a draft (R-C1, R-H1)."""

    line_id: UUID
    partner_id: UUID
    client_id: UUID
    product_code: str
    term: Term = Term.MONTHLY
    payer: Payer = Payer.PARTNER
    unified_billing: bool = False
    locations: tuple[Location, ...] = ()
    anchor: Anchor | None = None
    """Calendar or anniversary; unified-billing lines always follow their partner's day."""

    def handle(self, uow: UnitOfWork) -> Answer:
        account = owned_partner(uow, self.partner_id, self.actor)
        client = account.client(self.client_id)
        if self.unified_billing and not client.unified_billing:
            raise ClientNotInUnifiedBilling(
                f"Client {client.name} is not in unified billing (R-O4).",
                client_id=client.client_id,
            )
        # Sold in the partner's currency (R-X1), at the price in force today (issue 13).
        product, price_version = sold_product(uow, self.product_code, account, today(uow, account))
        anchor, anchor_day = self.anchor or Anchor.ANNIVERSARY, None
        if self.unified_billing:
            anchor, anchor_day = account.anchor, account.anchor_day
        subscription = SubscriptionLine.create(
            line_id=self.line_id,
            partner_id=account.id,
            client_id=self.client_id,
            product=product,
            term=self.term,
            anchor=anchor,
            anchor_day=anchor_day,
            payer=self.payer,
            unified_billing=self.unified_billing,
            locations=self.locations,
            now=uow.now,
            price_version=price_version,
        )
        uow.add(subscription)
        return subscription.id, {"status": subscription.status.value}


@dataclass(frozen=True, kw_only=True)
class SendLine(LedgerCommand):
    """Send a draft to the customer to pay and accept (R-H1)."""

    line_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        subscription.send(uow.now)
        return subscription.id, {"status": subscription.status.value}


@dataclass(frozen=True, kw_only=True)
class AcceptLine(LedgerCommand):
    """The customer accepts a pending line (R-H1)."""

    line_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        subscription.accept(uow.now)
        return subscription.id, {"status": subscription.status.value}


@dataclass(frozen=True, kw_only=True)
class ActivateLine(LedgerCommand):
    """Start the line's first period and bill it today; a later start waits for the billing
    clock (R-H1, R-C1, R-O2, R-X7)."""

    line_id: UUID
    start_on: date | None = None
    """The first day; by default today in the partner's time zone."""

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        account = partner(uow, subscription.partner_id)
        day = today(uow, account)
        period = subscription.activate(self.start_on or day, day, uow.now)
        return _started(uow, account, subscription, period, day)


@dataclass(frozen=True, kw_only=True)
class StartScheduledLine(LedgerCommand):
    """The billing clock starts a line on the day it was set to start, and bills it then."""

    line_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        account = partner(uow, subscription.partner_id)
        period = subscription.start_scheduled(self.on, uow.now)
        return _started(uow, account, subscription, period, self.on)


@dataclass(frozen=True, kw_only=True)
class RenewLine(LedgerCommand):
    """Renew a line for the period it names, its next one, invoiced today unless already
    invoiced ahead; a period is renewed once, whoever asks (R-C1, R-C6, R-X5, R-X7)."""

    line_id: UUID
    period_start: date

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        account = partner(uow, subscription.partner_id)
        return _renew(uow, account, subscription, self.period_start, today(uow, account))


@dataclass(frozen=True, kw_only=True)
class RenewDueLine(LedgerCommand):
    """The billing clock renews a line for the period that starts on the day it fell due,
    dated that day; refused if that period was already renewed (R-C1, R-X5)."""

    line_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        account = partner(uow, subscription.partner_id)
        return _renew(uow, account, subscription, self.on, self.on)


@dataclass(frozen=True, kw_only=True)
class InvoiceAhead(LedgerCommand):
    """With invoice autopay, the next period is invoiced 5 days before this one ends (R-C6)."""

    line_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        account = partner(uow, subscription.partner_id)
        following = subscription.next_period
        issued = None
        current = subscription.current_period
        # Work found for a period the line has since left (renewed early) bills nothing: the
        # renewal billed the period it was due for.
        moved_on = current is not None and self.on < current.start
        invoiced = subscription.invoiced_through
        if not moved_on and (invoiced is None or invoiced < following.end):
            issued = bill_period(uow, account, subscription, following, self.on)
        return billed(subscription, issued)


@dataclass(frozen=True, kw_only=True)
class CancelLine(LedgerCommand):
    """End a line (R-H1); how a returned cash, cheque or other payment ends (R-H6)."""

    line_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        account = partner(uow, subscription.partner_id)
        subscription.cancel(self.reason, today(uow, account), uow.now)
        return subscription.id, {"status": subscription.status.value}


@dataclass(frozen=True, kw_only=True)
class PauseLine(LedgerCommand):
    """An active line stops delivering until resumed; its billing date does not move (R-H1)."""

    line_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        subscription.pause(self.reason, uow.now)
        return subscription.id, {"status": subscription.status.value}


@dataclass(frozen=True, kw_only=True)
class ResumeLine(LedgerCommand):
    """A paused line delivers again, on the billing date it always had (R-H1)."""

    line_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        subscription.resume(uow.now)
        return subscription.id, {"status": subscription.status.value}


@dataclass(frozen=True, kw_only=True)
class AddLocation(LedgerCommand):
    """A location joins a line; per-location billing counts it from the next invoice (R-O3)."""

    line_id: UUID
    location: Location

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        subscription.add_location(self.location, uow.now)
        return subscription.id, {"locations": len(subscription.locations)}


@dataclass(frozen=True, kw_only=True)
class RemoveLocation(LedgerCommand):
    """A location leaves a line; a per-location line keeps at least one (R-O3)."""

    line_id: UUID
    location_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        subscription.remove_location(self.location_id, uow.now)
        return subscription.id, {"locations": len(subscription.locations)}


@dataclass(frozen=True, kw_only=True)
class SetLineAutopay(LedgerCommand):
    """Renewals of this line are paid from this source, or not at all when None (R-C6)."""

    line_id: UUID
    source: PaymentSource | None

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = owned_line(uow, self.line_id, self.actor)
        subscription.set_autopay(self.source, uow.now)
        return subscription.id, {}


def _started(
    uow: UnitOfWork,
    account: PartnerAccount,
    subscription: SubscriptionLine,
    period: BillingPeriod | None,
    day: date,
) -> Answer:
    """Bill a line's first period on `day`; a start that waits for its day bills nothing yet."""
    issued = None
    if period is not None and subscription.unit is not PriceUnit.PER_LEAD:
        issued = bill_period(uow, account, subscription, period, day)
    return billed(subscription, issued)


def _renew(
    uow: UnitOfWork,
    account: PartnerAccount,
    subscription: SubscriptionLine,
    period_start: date,
    day: date,
) -> Answer:
    """Renew the period from `period_start`, billed on `day` unless invoiced ahead (R-C6)."""
    period = subscription.renewal(period_start, day)
    issued = None
    if subscription.invoiced_through is None or subscription.invoiced_through < period.end:
        issued = bill_period(uow, account, subscription, period, day)
    subscription.renew(period_start, day, uow.now)
    return billed(subscription, issued)


def billed(subscription: SubscriptionLine, issued: Invoice | None) -> Answer:
    data: dict[str, Any] = {"status": subscription.status.value}
    if subscription.starts_on is not None:
        data["starts_on"] = subscription.starts_on.isoformat()
    if subscription.current_period is not None:
        data["period_start"] = subscription.current_period.start.isoformat()
        data["period_end"] = subscription.current_period.end.isoformat()
    if issued is not None:
        data["invoice_id"] = str(issued.id)
        data["invoice_number"] = issued.number
    return subscription.id, data
