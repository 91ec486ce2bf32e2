"""Business refusals: each has a stable snake_case code and structured fields.

A refused command changes nothing: every command validates and decides before it triggers
any event. The edges map the `refusal` kind once to their own status codes (HTTP 422, 404,
409; a non-zero exit on the command line).
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar, Self
from uuid import UUID


class Refusal(Enum):
    """Why a command was refused."""

    INVALID = "invalid"
    """The request itself is wrong: a bad value, an unknown currency, a card that fails Luhn."""
    NOT_FOUND = "not_found"
    """A thing the command names does not exist (or is not the caller's to see)."""
    CONFLICT = "conflict"
    """The request is well formed but the current state does not allow it."""
    NOT_PERMITTED = "not_permitted"
    """The caller may see the thing but may not do this to it (a consent not its to give)."""


class BillingError(Exception):
    """A command the business rules refuse."""

    code: ClassVar[str] = "billing_error"
    refusal: ClassVar[Refusal] = Refusal.CONFLICT

    def __init__(self, detail: str, **fields: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


# --- The request is wrong (INVALID) -------------------------------------------------------


class InvalidValue(BillingError):
    """A value in the command is not acceptable; `field` names it."""

    code = "invalid_value"
    refusal = Refusal.INVALID


class AmountNotPositive(BillingError):
    """An amount that must be above zero is zero or negative."""

    code = "amount_not_positive"
    refusal = Refusal.INVALID


class AmountTooLarge(BillingError):
    """An amount, or a sum it would grow to (a balance, a wallet, an invoice's total), is
    above the bound the ledger keeps for it (domain/money.py); `field` names the amount and
    `limit_minor` the bound."""

    code = "amount_too_large"
    refusal = Refusal.INVALID


class UnknownCurrency(BillingError):
    """The currency is not an ISO 4217 currency."""

    code = "currency_unknown"
    refusal = Refusal.INVALID


class CurrencyWithdrawn(BillingError):
    """The currency left ISO 4217 (BGN): old amounts still read, a new account cannot use it."""

    code = "currency_withdrawn"
    refusal = Refusal.INVALID


class BonusCreditTooLarge(BillingError):
    """A vendor's bonus credit above the most one credit may grant."""

    code = "bonus_credit_too_large"
    refusal = Refusal.INVALID


class CurrencyMismatch(BillingError):
    """Two amounts in different currencies were to be combined (R-X1)."""

    code = "currency_mismatch"
    refusal = Refusal.INVALID


class PaymentMethodKindMismatch(BillingError):
    """The payment method named is of another kind than the source asked for (R-C2, R-O7)."""

    code = "payment_method_kind_mismatch"
    refusal = Refusal.INVALID


class UnknownTimeZone(BillingError):
    """The time zone is not in the IANA time zone database (R-X7)."""

    code = "time_zone_unknown"
    refusal = Refusal.INVALID


class CardInvalid(BillingError):
    """The card number is not a valid card number (length, digits or Luhn check; R-X4)."""

    code = "card_invalid"
    refusal = Refusal.INVALID


class CardExpired(BillingError):
    """The card's expiry month has passed (R-X4)."""

    code = "card_expired"
    refusal = Refusal.INVALID


class CvvInvalid(BillingError):
    """The card verification value has the wrong format for the card's brand."""

    code = "cvv_invalid"
    refusal = Refusal.INVALID


class RoutingNumberInvalid(BillingError):
    """The ABA routing number fails its format or checksum (R-X4)."""

    code = "routing_number_invalid"
    refusal = Refusal.INVALID


class AccountNumberInvalid(BillingError):
    """The bank account number has the wrong format."""

    code = "account_number_invalid"
    refusal = Refusal.INVALID


class CardNumberInText(BillingError):
    """A free-text field holds what looks like a card number, which must never be stored."""

    code = "card_number_in_text"
    refusal = Refusal.INVALID


class TaxIdInvalid(BillingError):
    """A tax id is empty, too long, or holds what no tax id holds (issue 17); `field` names it."""

    code = "tax_id_invalid"
    refusal = Refusal.INVALID


class UnknownProduct(BillingError):
    """The product is not in the catalogue."""

    code = "product_unknown"
    refusal = Refusal.INVALID


class PriceChangeTooSoon(BillingError):
    """A price or a partner's override would take effect before the earliest day no partner
    has reached yet (a period already billed would then have used the wrong price);
    `earliest` says which day may be named."""

    code = "price_change_too_soon"
    refusal = Refusal.INVALID


class PeriodNotNext(BillingError):
    """A renewal names a day that does not start the line's next period (R-C1);
    `next_period_start` says which day does."""

    code = "period_not_next"
    refusal = Refusal.INVALID


class DateOutOfRange(BillingError):
    """A business date lies further back or further ahead than the ledger accepts (R-X7);
    `earliest` and `latest` bound it."""

    code = "date_out_of_range"
    refusal = Refusal.INVALID


# --- Something named does not exist (NOT_FOUND) -------------------------------------------


class NotFound(BillingError):
    """Something a command or query names does not exist, or is not the caller's to see.

    The one builder of these refusals is `of`: the same words and the same field for a thing,
    wherever it is looked for (a command, a query, the edge hiding another partner's id).
    """

    refusal = Refusal.NOT_FOUND
    what: ClassVar[str]
    """The thing, in the detail's words: `No {what} {id}.`"""
    id_field: ClassVar[str]
    """The problem's field that carries the id."""

    @classmethod
    def of(cls, thing_id: UUID | str, *, what: str | None = None, where: str = "") -> Self:
        """The refusal for this id: `No invoice 1f….`, or with `what` and `where` the words of
        a narrower search (`No announced payment 1f… on this invoice.`)."""
        return cls(f"No {what or cls.what} {thing_id}{where}.", **{cls.id_field: thing_id})


class PartnerNotFound(NotFound):
    """No partner account has this id."""

    code = "partner_not_found"
    what, id_field = "partner account", "partner_id"


class ClientNotFound(NotFound):
    """The partner has no client with this id."""

    code = "client_not_found"
    what, id_field = "client", "client_id"


class LineNotFound(NotFound):
    """No subscription line has this id."""

    code = "line_not_found"
    what, id_field = "subscription line", "line_id"


class InvoiceNotFound(NotFound):
    """No invoice has this id."""

    code = "invoice_not_found"
    what, id_field = "invoice", "invoice_id"


class ClosingDocumentNotFound(NotFound):
    """No closing document with that id (or not the calling partner's to see)."""

    code = "closing_document_not_found"
    what, id_field = "closing document", "document_id"


class PaymentNotFound(NotFound):
    """The invoice has no payment with this id."""

    code = "payment_not_found"
    what, id_field = "payment", "payment_id"


class PaymentMethodNotFound(NotFound):
    """The account or line has no payment method with this id."""

    code = "payment_method_not_found"
    what, id_field = "payment method", "method_id"


class LocationNotFound(NotFound):
    """The line has no location with this id."""

    code = "location_not_found"
    what, id_field = "location", "location_id"


class ProductNotFound(NotFound):
    """No product in the catalogue has this code."""

    code = "product_not_found"
    what, id_field = "product", "code"


# --- The state does not allow it (CONFLICT) -----------------------------------------------


class InvalidTransition(BillingError):
    """The thing is not in a status that allows this command (R-H1)."""

    code = "invalid_transition"


class LineNotActive(BillingError):
    """The subscription line is not active, so it cannot be billed, renewed or changed."""

    code = "line_not_active"


class PeriodAlreadyRenewed(BillingError):
    """The period named was already renewed: a period of a line is invoiced at most once
    (R-C1, R-X5); `invoice_id` and `invoice_number` name the invoice that billed it, when
    it has one (a unified-billing line's period waits for its partner's invoice)."""

    code = "period_already_renewed"


class AccountPaused(BillingError):
    """The partner account is paused (budget reached, or payment overdue; R-L3, R-L4)."""

    code = "account_paused"


class AccountClosed(BillingError):
    """The partner account is closed."""

    code = "account_closed"


class BudgetExhausted(BillingError):
    """The monthly budget has no room for this charge (R-L3)."""

    code = "budget_exhausted"


class InsufficientBalance(BillingError):
    """The company balance is smaller than the amount to spend (R-C2)."""

    code = "insufficient_balance"


class InsufficientBonus(BillingError):
    """The bonus wallet holds less than the amount to spend (R-C5)."""

    code = "insufficient_bonus"


class InvoiceNotSettled(BillingError):
    """Invoices are still open; `unsettled` lists their numbers (R-E3)."""

    code = "invoice_not_settled"


class InvoiceSettled(BillingError):
    """The invoice is already paid in full."""

    code = "invoice_already_settled"


class InvoiceVoided(BillingError):
    """The invoice was voided; nothing more can happen to it (R-X6)."""

    code = "invoice_voided"


class Overpayment(BillingError):
    """The payment is larger than what the invoice still owes."""

    code = "overpayment"


class VoidNotAllowed(BillingError):
    """An invoice with payments cannot be voided; issue a credit note instead (R-X6)."""

    code = "void_not_allowed"


class CreditExceedsInvoice(BillingError):
    """Credit notes would credit more than the invoice's total (R-X6)."""

    code = "credit_exceeds_invoice"


class RefundExceedsPayment(BillingError):
    """The refund is larger than what was paid and not yet refunded (R-H6)."""

    code = "refund_exceeds_payment"


class OfflinePaymentNotRefundable(BillingError):
    """Cash, cheque and other payments are not refunded through Ledgerline (R-H6)."""

    code = "offline_payment_not_refundable"


class BonusPaymentNotRefundable(BillingError):
    """A payment made with bonuses is not refunded; credit the invoice instead."""

    code = "bonus_payment_not_refundable"


class ClosingDocumentNotAllowed(BillingError):
    """No closing document for this invoice (R-C7); `reason` says why: `not_paid`,
    `already_requested`, `paid_with_bonuses`, or `nothing_documentable` (paid only in cash,
    cheque or other, or refunded in full)."""

    code = "closing_document_not_allowed"


class ConsentMissing(BillingError):
    """A transfer lacks the consent of the client or of a reseller; `missing` lists them (R-E2)."""

    code = "consent_missing"


class ConsentNotPermitted(BillingError):
    """A partner gave a consent that is not its to give: each reseller gives its own, and the
    client's is recorded by its current reseller (R-E2); `parties` lists the refused ones.

    Its code is the one the HTTP edge answered before the rule moved into the domain, 403
    `forbidden`, so clients see no change."""

    code = "forbidden"
    refusal = Refusal.NOT_PERMITTED


class TransferNotAllowed(BillingError):
    """The line cannot be transferred now (no request, already requested, or same reseller)."""

    code = "transfer_not_allowed"


class ClientNotInUnifiedBilling(BillingError):
    """The client is not in the partner's unified billing (R-O4)."""

    code = "client_not_in_unified_billing"


class NoPaymentMethod(BillingError):
    """There is no card or bank account of the kind asked for to charge; nothing was charged."""

    code = "no_payment_method"


class NothingOutstanding(BillingError):
    """There is nothing pending to charge or mark as paid (R-H5)."""

    code = "nothing_outstanding"


# --- The billing policy's history ---------------------------------------------------------


class PolicyChangeNotInFuture(BillingError):
    """A policy change would apply from a day some partner has already begun (today or
    earlier): rates never change under a day already being billed; `earliest` is the first
    day a change may start."""

    code = "policy_change_not_in_future"
    refusal = Refusal.INVALID


class PolicyChangeOutOfOrder(BillingError):
    """A policy change would start before a change already scheduled: versions follow each
    other in effective-date order; `earliest` is the last scheduled change's first day."""

    code = "policy_change_out_of_order"


class PolicyChangesExhausted(BillingError):
    """The policy has as many versions as it keeps (POLICY_VERSIONS_MAX)."""

    code = "policy_changes_exhausted"


class PolicyChangeNotPermitted(BillingError):
    """Only the vendor changes the billing policy; a partner may read it."""

    code = "policy_change_not_permitted"
    refusal = Refusal.NOT_PERMITTED


class ProductExists(BillingError):
    """A product with this code is in the catalogue already (its code is its identity)."""

    code = "product_exists"
    refusal = Refusal.CONFLICT


class ProductRetired(BillingError):
    """The product is retired: no new line may be sold (existing lines keep renewing)."""

    code = "product_retired"
    refusal = Refusal.CONFLICT


class PriceNotLater(BillingError):
    """A new price (or override) must take effect after the last one of its currency: history
    is added to, never rewritten; `latest_effective_from` names the last one."""

    code = "price_not_later"
    refusal = Refusal.CONFLICT


# --- Test clocks (issue 15) ---------------------------------------------------------------


class TestClockNotFound(NotFound):
    """No test clock has this id."""

    __test__ = False  # not a pytest class, whatever its name
    code = "test_clock_not_found"
    what = "test clock"
    id_field = "test_clock_id"


class TestClockNotForward(BillingError):
    """A test clock moves forward only: the new instant must be later than its frozen one;
    `frozen_time` names where it stands."""

    __test__ = False
    code = "test_clock_not_forward"


class TestClockBusy(BillingError):
    """The test clock is advancing (one advance at a time), or was deleted; `status` says
    which."""

    __test__ = False
    code = "test_clock_busy"
