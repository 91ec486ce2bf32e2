"""Commands on subscription lines: life cycle, locations, autopay, card, leads, transfers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from domain.calendar import Anchor, BillingPeriod, Term, business_date
from domain.errors import ClientNotInUnifiedBilling, CurrencyMismatch
from domain.invoice import Invoice
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import CardToken, PaymentSource
from domain.pricing import PriceUnit
from domain.subscription_line import SubscriptionLine, TransferParty, TransferRequest
from domain.values import Location, Payer
from ledger.billing import after_payment, bill_period, invoice_leads
from ledger.commands.base import (
    LedgerCommand,
    context,
    invoice,
    line,
    owned_line,
    partner,
    today,
)
from ledger.writer import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]


class Outstanding(StrEnum):
    """What to do with failed and overdue payments when the card is updated (R-H5)."""

    CHARGE_ALL = "charge_all"
    """Charge every pending payment to the new card now."""
    MARK_PAID = "mark_paid"
    """Mark every pending payment as paid; charge nothing now."""


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
        account = partner(uow, self.partner_id)
        client = account.client(self.client_id)
        if self.unified_billing and not client.unified_billing:
            raise ClientNotInUnifiedBilling(
                f"Client {client.name} is not in unified billing (R-O4).",
                client_id=client.client_id,
            )
        # One price per currency: the line is sold in the partner's currency (R-X1).
        product = context(uow).catalogue.product(self.product_code, account.currency)
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
        subscription = line(uow, self.line_id)
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
        subscription = line(uow, self.line_id)
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
        return _billed(subscription, issued)


@dataclass(frozen=True, kw_only=True)
class CancelLine(LedgerCommand):
    """End a line (R-H1); how a returned cash, cheque or other payment ends (R-H6)."""

    line_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        account = partner(uow, subscription.partner_id)
        subscription.cancel(self.reason, today(uow, account), uow.now)
        return subscription.id, {"status": subscription.status.value}


@dataclass(frozen=True, kw_only=True)
class PauseLine(LedgerCommand):
    line_id: UUID
    reason: str

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        subscription.pause(self.reason, uow.now)
        return subscription.id, {"status": subscription.status.value}


@dataclass(frozen=True, kw_only=True)
class ResumeLine(LedgerCommand):
    line_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        subscription.resume(uow.now)
        return subscription.id, {"status": subscription.status.value}


@dataclass(frozen=True, kw_only=True)
class AddLocation(LedgerCommand):
    """A location joins a line; per-location billing counts it from the next invoice (R-O3)."""

    line_id: UUID
    location: Location

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        subscription.add_location(self.location, uow.now)
        return subscription.id, {"locations": len(subscription.locations)}


@dataclass(frozen=True, kw_only=True)
class RemoveLocation(LedgerCommand):
    line_id: UUID
    location_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        subscription.remove_location(self.location_id, uow.now)
        return subscription.id, {"locations": len(subscription.locations)}


@dataclass(frozen=True, kw_only=True)
class SetLineAutopay(LedgerCommand):
    """Renewals of this line are paid from this source, or not at all when None (R-C6)."""

    line_id: UUID
    source: PaymentSource | None

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        subscription.set_autopay(self.source, uow.now)
        return subscription.id, {}


@dataclass(frozen=True, kw_only=True)
class AttachLineCard(LedgerCommand):
    """Put a (new) card on a client-paid line; the billing date never moves (R-H5).

    With payments outstanding, MARK_PAID settles them here; CHARGE_ALL answers which invoices
    to charge to the new card, which the ledger then does, each under its own key.
    """

    line_id: UUID
    card: CardToken
    outstanding: Outstanding | None = None

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        account = partner(uow, subscription.partner_id)
        day = today(uow, account)
        subscription.attach_card(self.card, day, uow.now)
        pending = [
            found
            for invoice_id in list(subscription.open_invoices)
            if (found := invoice(uow, UUID(invoice_id))).is_outstanding
        ]
        to_charge: list[str] = []
        if self.outstanding is Outstanding.MARK_PAID:
            for owed in pending:
                payment_id = uuid4()
                owed.mark_paid(payment_id, day, uow.now)
                after_payment(uow, account, owed, payment_id, day)
        elif self.outstanding is Outstanding.CHARGE_ALL:
            to_charge = [str(owed.id) for owed in pending]
        return subscription.id, {
            "outstanding": [str(owed.id) for owed in pending],
            "to_charge": to_charge,
        }


@dataclass(frozen=True, kw_only=True)
class RecordLead(LedgerCommand):
    """A lead was delivered: charged at its price against the budget (R-L1, R-L3).

    Unbilled leads reaching the threshold are invoiced at once (R-L2).
    """

    line_id: UUID
    lead_id: UUID
    delivered_at: datetime
    price: Money | None = None
    """The lead's price; by default the product's."""

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        account = partner(uow, subscription.partner_id)
        price = self.price or subscription.unit_price
        day = business_date(self.delivered_at, account.time_zone)
        reached = account.charge_budget(self.lead_id, price, uow.now, day)
        subscription.record_lead(self.lead_id, price, day, uow.now)
        issued = None
        if subscription.lead_threshold_reached(context(uow).policy):
            issued = invoice_leads(uow, account, subscription, day)
        answer = _billed(subscription, issued)
        answer[1]["budget_reached"] = reached
        return answer


@dataclass(frozen=True, kw_only=True)
class InvoiceLeads(LedgerCommand):
    """The Friday run: unbilled leads go on one invoice (R-L2)."""

    line_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        account = partner(uow, subscription.partner_id)
        issued = invoice_leads(uow, account, subscription, self.on, delivered_before=self.on)
        return _billed(subscription, issued)


@dataclass(frozen=True, kw_only=True)
class RequestTransfer(LedgerCommand):
    """Ask to move a client's subscription to another reseller (R-E1, R-E2, R-E3)."""

    line_id: UUID
    request: TransferRequest
    consents: tuple[TransferParty, ...] = ()

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        account = partner(uow, subscription.partner_id)
        receiving = partner(uow, self.request.new_reseller_id)
        currency = subscription.unit_price.currency
        if receiving.currency != currency:
            raise CurrencyMismatch(
                f"The new reseller bills in {receiving.currency}; this line is in {currency}.",
                expected=currency,
                got=receiving.currency,
            )
        subscription.request_transfer(
            self.request, self.consents, today(uow, account), context(uow).policy, uow.now
        )
        return subscription.id, _transfer(subscription)


@dataclass(frozen=True, kw_only=True)
class GiveConsent(LedgerCommand):
    """The client or a reseller consents; with all three the transfer is scheduled (R-E4)."""

    line_id: UUID
    party: TransferParty

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        account = partner(uow, subscription.partner_id)
        subscription.give_consent(self.party, today(uow, account), context(uow).policy, uow.now)
        return subscription.id, _transfer(subscription)


@dataclass(frozen=True, kw_only=True)
class CompleteTransfer(LedgerCommand):
    """On its effective date the line moves to the new reseller (R-E1, R-E3, R-E4)."""

    line_id: UUID
    on: date

    def handle(self, uow: UnitOfWork) -> Answer:
        subscription = line(uow, self.line_id)
        request = subscription.transfer
        new_partner_id = subscription.complete_transfer(self.on, uow.now)
        receiving = partner(uow, new_partner_id)
        if request is not None and str(subscription.client_id) not in receiving.clients:
            receiving.register_client(
                subscription.client_id,
                request.end_user_name,
                request.invoice_email,
                unified_billing=False,
                now=uow.now,
            )
        return subscription.id, {"partner_id": str(new_partner_id)}


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
    return _billed(subscription, issued)


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
    return _billed(subscription, issued)


def _billed(subscription: SubscriptionLine, issued: Invoice | None) -> Answer:
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


def _transfer(subscription: SubscriptionLine) -> dict[str, Any]:
    effective_on = subscription.transfer_effective_on
    return {
        "missing_consents": [party.value for party in subscription.missing_consents],
        "effective_on": effective_on.isoformat() if effective_on else None,
    }
