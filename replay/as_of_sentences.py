"""One plain English sentence per kind of event, for the audit listing (issue 14).

A registry: `SENTENCES` maps every event class to a function of the event. A test proves every
event class of tests/specimens.py has one, so a new kind of event cannot reach the listing
unexplained. Sentences name amounts and dates the event decided, never card data (events hold
none) nor secrets; ids are shortened to their first characters, which the listing's columns
and the JSON carry in full where they matter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain.billing_policy import PolicyHistory
from domain.bonus_wallet import BonusWallet
from domain.catalogue import CatalogueProduct
from domain.invoice import Invoice
from domain.partner_account import PartnerAccount
from domain.price_overrides import PartnerPrices
from domain.subscription_line import SubscriptionLine
from domain.test_clock import TestClock

SHORT_ID = 8
"""Characters of an id a sentence shows: enough to tell a partner's things apart."""

Sentence = Callable[[Any], str]


def short(thing_id: UUID | None) -> str:
    return "none" if thing_id is None else str(thing_id)[:SHORT_ID]


def _words(value: Any) -> str:
    """An enum member as words: `bank_transfer` reads "bank transfer"."""
    return str(getattr(value, "value", value)).replace("_", " ")


def _period(period: Any) -> str:
    if period is None:
        return "no period"
    return f"{period.start.isoformat()} to {period.end.isoformat()}"


_ACCOUNT: dict[type[Any], Sentence] = {
    PartnerAccount.Opened: lambda e: (
        f"Partner account {e.name!r} opened in {e.currency}, time zone {e.time_zone}, "
        f"on {e.opened_on}."
    ),
    PartnerAccount.BillingProfileRecorded: lambda e: f"Billing profile recorded for {e.entity!r}.",
    PartnerAccount.PaymentMethodAdded: lambda e: (
        f"Payment method {short(e.method_id)} added{' as the default' if e.is_default else ''}."
    ),
    PartnerAccount.PaymentMethodReplaced: lambda e: (
        f"Payment method {short(e.old_method_id)} replaced by {short(e.method_id)}."
    ),
    PartnerAccount.DefaultPaymentMethodChosen: lambda e: (
        f"Payment method {short(e.method_id)} chosen as the default."
    ),
    PartnerAccount.ClientRegistered: lambda e: (
        f"Client {e.name!r} ({short(e.client_id)}) registered"
        f"{', on unified billing' if e.unified_billing else ''}."
    ),
    PartnerAccount.ClientRemovedFromUnifiedBilling: lambda e: (
        f"Client {short(e.client_id)} removed from unified billing on {e.removed_on}."
    ),
    PartnerAccount.TopUpAnnounced: lambda e: (
        f"A top-up of {e.amount} by {_words(e.source)} announced, not yet received."
    ),
    PartnerAccount.BalanceToppedUp: lambda e: (
        f"Company balance topped up by {e.amount} ({_words(e.source)})."
    ),
    PartnerAccount.BalanceSpent: lambda e: (
        f"{e.amount} of the company balance spent on invoice {short(e.invoice_id)}."
    ),
    PartnerAccount.BalanceRestored: lambda e: (
        f"{e.amount} returned to the company balance (refund on invoice {short(e.invoice_id)})."
    ),
    PartnerAccount.AutopayPreferenceSet: lambda e: f"Autopay set to {_words(e.source)}.",
    PartnerAccount.ChargeDeferred: lambda e: (
        f"A charge of line {short(e.line_id)} deferred to the unified invoice on {e.deferred_on}."
    ),
    PartnerAccount.UnifiedInvoiceIssued: lambda e: (
        f"Unified invoice {short(e.invoice_id)} issued for the charges deferred, on {e.billed_on}."
    ),
    PartnerAccount.BudgetSet: lambda e: f"Lead budget set to {e.amount} for {_period(e.period)}.",
    PartnerAccount.BudgetSpent: lambda e: f"{e.amount} of the lead budget spent on a lead.",
    PartnerAccount.BudgetReached: lambda e: f"Lead budget reached after {e.spent}.",
    PartnerAccount.Paused: lambda e: f"Account paused: {_words(e.reason)}.",
    PartnerAccount.BudgetPeriodStarted: lambda e: (
        f"A new lead budget period began: {_period(e.period)}."
    ),
    PartnerAccount.Resumed: lambda e: f"Account resumed ({_words(e.reason)} cleared).",
    PartnerAccount.PaymentMissed: lambda e: (
        f"Payment of invoice {short(e.invoice_id)} missed; grace ends on {e.grace_ends_on}."
    ),
    PartnerAccount.MissedPaymentSettled: lambda e: (
        f"Missed payment of invoice {short(e.invoice_id)} settled."
    ),
    PartnerAccount.Closed: lambda e: f"Account closed: {e.reason}.",
    PartnerAccount.JoinedTestClock: lambda e: (
        f"The account lives on test clock {short(e.clock_id)}: its instants are the clock's."
    ),
}

_LINE: dict[type[Any], Sentence] = {
    SubscriptionLine.Created: lambda e: (
        f"Line for {e.product_name!r} created for client {short(e.client_id)} at "
        f"{e.unit_price} {_words(e.unit)}, {_words(e.term)}, paid by the {_words(e.payer)}."
    ),
    SubscriptionLine.Sent: lambda e: "Line sent to the customer to pay and accept.",
    SubscriptionLine.Accepted: lambda e: "Line accepted by the customer.",
    SubscriptionLine.StartScheduled: lambda e: f"Line's start scheduled for {e.starts_on}.",
    SubscriptionLine.Activated: lambda e: f"Line activated for {_period(e.period)}.",
    SubscriptionLine.LocationAdded: lambda e: f"Location {e.location.name!r} added to the line.",
    SubscriptionLine.LocationRemoved: lambda e: (
        f"Location {short(e.location_id)} removed from the line."
    ),
    SubscriptionLine.AutopaySet: lambda e: f"Line's autopay set to {_words(e.source)}.",
    SubscriptionLine.CardAttached: lambda e: "A card token attached to the line.",
    SubscriptionLine.Invoiced: lambda e: (
        f"Line invoiced {e.amount} on invoice {e.invoice_number} for {_period(e.period)}."
    ),
    SubscriptionLine.InvoiceSettled: lambda e: f"Line's invoice {short(e.invoice_id)} settled.",
    SubscriptionLine.InvoiceVoided: lambda e: f"Line's invoice {short(e.invoice_id)} voided.",
    SubscriptionLine.Renewed: lambda e: f"Line renewed for {_period(e.period)}.",
    SubscriptionLine.Paused: lambda e: f"Line paused: {e.reason}.",
    SubscriptionLine.Resumed: lambda e: "Line resumed.",
    SubscriptionLine.RemovedFromUnifiedBilling: lambda e: "Line removed from unified billing.",
    SubscriptionLine.TransferRequested: lambda e: (
        f"Transfer of the line to reseller {short(e.request.new_reseller_id)} requested "
        f"on {e.requested_on}."
    ),
    SubscriptionLine.TransferConsentGiven: lambda e: (
        f"The {_words(e.party)} consented to the line's transfer."
    ),
    SubscriptionLine.TransferScheduled: lambda e: (
        f"Line's transfer scheduled for {e.effective_on}."
    ),
    SubscriptionLine.Transferred: lambda e: (
        f"Line transferred from reseller {short(e.partner_id)} to {short(e.new_partner_id)} "
        f"on {e.effective_on}."
    ),
    SubscriptionLine.Cancelled: lambda e: f"Line cancelled on {e.cancelled_on}: {e.reason}.",
    SubscriptionLine.LeadRecorded: lambda e: (
        f"Lead {short(e.lead_id)} delivered on {e.delivered_on} at {e.price}."
    ),
    SubscriptionLine.LeadsInvoiced: lambda e: (
        f"{len(e.lead_ids)} lead(s) invoiced for {e.amount} on invoice {short(e.invoice_id)}."
    ),
}

_INVOICE: dict[type[Any], Sentence] = {
    Invoice.Issued: lambda e: (
        f"Invoice {e.number} issued to the {_words(e.payer)} for {e.total}, due {e.due_on}."
    ),
    Invoice.PaymentFailed: lambda e: (
        f"A {_words(e.source)} payment of {e.amount} failed ({e.decline_code})."
    ),
    Invoice.PaymentAnnounced: lambda e: (
        f"A {_words(e.source)} payment of {e.amount} announced, not yet received."
    ),
    Invoice.CardFeeAdded: lambda e: f"Card fee of {e.line.amount} added to the invoice.",
    Invoice.PaymentReceived: lambda e: (
        f"Payment of {e.amount} received by {_words(e.source)}"
        f"{f' (card fee {e.fee})' if e.fee.is_positive() else ''}."
    ),
    Invoice.Settled: lambda e: f"Invoice settled on {e.settled_on}.",
    Invoice.PaymentRefunded: lambda e: (
        f"{e.amount} refunded to the payer by {_words(e.source)}: {e.reason}."
    ),
    Invoice.ClosingDocumentRequested: lambda e: (
        f"Closing document {e.document_number} requested for {e.amount}."
    ),
    Invoice.MarkedOverdue: lambda e: f"Invoice overdue since {e.overdue_on}.",
    Invoice.CreditNoteIssued: lambda e: (
        f"Credit note {e.credit_note_number} of {e.amount} issued: {e.reason}."
    ),
    Invoice.Voided: lambda e: f"Invoice voided ({e.amount}): {e.reason}.",
    Invoice.PaymentPending: lambda e: f"A debit of {e.amount} submitted, waiting to settle.",
}

_OTHERS: dict[type[Any], Sentence] = {
    BonusWallet.Opened: lambda e: f"Bonus wallet opened in {e.currency}.",
    BonusWallet.Credited: lambda e: f"Bonus wallet credited {e.amount} ({_words(e.reason)}).",
    BonusWallet.Spent: lambda e: (
        f"{e.amount} of the bonus wallet spent on invoice {short(e.invoice_id)}."
    ),
    BonusWallet.ClawedBack: lambda e: (
        f"{e.amount} clawed back from the bonus wallet (a refunded payment's cashback)."
    ),
    PolicyHistory.Started: lambda e: "The billing policy's history began.",
    PolicyHistory.ChangeScheduled: lambda e: (
        f"Billing policy version {e.version} scheduled from {e.effective_from}."
    ),
    CatalogueProduct.Created: lambda e: f"Product {e.code!r} added to the catalogue.",
    CatalogueProduct.PriceAdded: lambda e: "A price version added to the product.",
    CatalogueProduct.Retired: lambda e: f"Product retired on {e.retired_on}.",
    TestClock.Created: lambda e: f"Test clock {e.name!r} made, frozen at {e.frozen_at}.",
    TestClock.AdvanceStarted: lambda e: f"The test clock began to advance to {e.target}.",
    TestClock.MovedTo: lambda e: f"The test clock moved to {e.instant}.",
    TestClock.AdvanceFinished: lambda e: "The test clock finished advancing.",
    TestClock.Deleted: lambda e: "The test clock was deleted, with the partners on it.",
    PartnerPrices.Opened: lambda e: "The partner's price list opened.",
    PartnerPrices.OverrideSet: lambda e: (
        f"Partner price for {e.override.product_code!r} set: {e.override.label}, "
        f"from {e.override.effective_from}."
    ),
}

SENTENCES: dict[type[Any], Sentence] = {**_ACCOUNT, **_LINE, **_INVOICE, **_OTHERS}
"""Every kind of event and the sentence that tells it."""


def sentence(event: Any) -> str:
    """The event in one plain sentence (its class name for a kind without one)."""
    tell = SENTENCES.get(type(event))
    return tell(event) if tell is not None else f"{type(event).__qualname__}."
