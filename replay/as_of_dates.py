"""The business date of each event: the day it takes effect (issue 14; docs/audit.md).

The rule: the date the event itself carries where it has one (the effective, period or payment
date the domain decided and recorded with it), else the day its recorded instant falls on in
the partner's time zone (R-X7). `DATED_BY` names the field for each kind that carries one;
every other kind takes effect when it was recorded. Money events agree with the journal's
`business_date` (domain/postings.py `dated_by`): a test holds the two together.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.bonus_wallet import BonusWallet
from domain.calendar import business_date as day_in_zone
from domain.catalogue import CatalogueProduct
from domain.invoice import Invoice
from domain.partner_account import PartnerAccount
from domain.price_overrides import PartnerPrices
from domain.subscription_line import SubscriptionLine

DATED_BY: dict[type[Any], str] = {
    PartnerAccount.Opened: "opened_on",
    PartnerAccount.ClientRemovedFromUnifiedBilling: "removed_on",
    PartnerAccount.ChargeDeferred: "deferred_on",
    PartnerAccount.UnifiedInvoiceIssued: "billed_on",
    PartnerAccount.BudgetPeriodStarted: "period.start",
    SubscriptionLine.Activated: "period.start",
    SubscriptionLine.Renewed: "period.start",
    SubscriptionLine.TransferRequested: "requested_on",
    SubscriptionLine.Transferred: "effective_on",
    SubscriptionLine.Cancelled: "cancelled_on",
    SubscriptionLine.LeadRecorded: "delivered_on",
    Invoice.Issued: "issued_on",
    Invoice.PaymentFailed: "attempted_on",
    Invoice.PaymentAnnounced: "announced_on",
    Invoice.PaymentPending: "submitted_on",
    Invoice.PaymentReceived: "received_on",
    Invoice.Settled: "settled_on",
    Invoice.PaymentRefunded: "refunded_on",
    Invoice.ClosingDocumentRequested: "requested_on",
    Invoice.MarkedOverdue: "overdue_on",
    Invoice.CreditNoteIssued: "issued_on",
    Invoice.Voided: "voided_on",
    BonusWallet.Credited: "credited_on",
    BonusWallet.Spent: "spent_on",
    BonusWallet.ClawedBack: "clawed_on",
    PartnerPrices.OverrideSet: "override.effective_from",
    CatalogueProduct.Retired: "retired_on",
}
"""Where each kind of event carries the day it takes effect. Left out on purpose: dates that
are not when the event takes effect (a grace period's end, a scheduled start or transfer
date, the period an invoice bills, a budget's period when it is set): those events take effect
when recorded, and the later event that carries the date out (Activated, Transferred,
BudgetPeriodStarted) is dated by it."""


def event_business_date(event: Any, time_zone: str) -> date:
    """The day `event` takes effect, by the rule above, in the partner's zone `time_zone`."""
    path = DATED_BY.get(type(event))
    if path is not None:
        value: Any = event
        for name in path.split("."):
            value = getattr(value, name, None)
        if isinstance(value, date):
            return value
    return day_in_zone(event.timestamp, time_zone)
