"""The partner account: a reseller who pays for its clients' subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.calendar import (
    Anchor,
    BillingPeriod,
    add_months,
    budget_period,
    business_date,
    month_day,
)
from domain.errors import (
    AccountClosed,
    AccountPaused,
    AmountNotPositive,
    BudgetExhausted,
    ClientNotFound,
    ClientNotInUnifiedBilling,
    CurrencyMismatch,
    InsufficientBalance,
    InvalidValue,
    NoPaymentMethod,
    PaymentMethodKindMismatch,
    PaymentMethodNotFound,
    PaymentNotFound,
)
from domain.money import (
    AMOUNT_MAX_MINOR,
    BALANCE_MAX_MINOR,
    BUDGET_MAX_MINOR,
    Money,
    check_new_account_currency,
    require_at_most,
    total,
)
from domain.payment_methods import (
    AUTOPAY_SOURCES,
    BankAccountToken,
    CardToken,
    PaymentSource,
    refuse_expired,
)
from domain.time import zone
from domain.values import (
    Address,
    InvoiceLine,
    clean_email,
    clean_processor_id,
    clean_tax_id,
    clean_text,
)

PaymentMethod = CardToken | BankAccountToken
"""What an account keeps of a payment method: a gateway token and safe display data (R-X4)."""

TOP_UP_SOURCES = frozenset(
    {PaymentSource.CARD, PaymentSource.DIRECT_DEBIT, PaymentSource.BANK_TRANSFER}
)
"""R-C2: the company balance is topped up with real money, never with itself or bonuses."""
PAYMENT_METHODS_MAX = 20
"""Enough cards and bank accounts for any partner; bounds the account's state."""


class AccountStatus(StrEnum):
    """Whether the account receives service (R-L3, R-L4)."""

    ACTIVE = "active"
    IN_GRACE = "in_grace"
    """A payment was missed; service continues until the grace period ends (R-L4)."""
    PAUSED = "paused"
    CLOSED = "closed"


class PauseReason(StrEnum):
    """Why an account is paused; it resumes when every reason is lifted."""

    BUDGET_REACHED = "budget_reached"
    """R-L3: the monthly budget is spent; lifted when the next budget period starts."""
    PAYMENT_OVERDUE = "payment_overdue"
    """R-L4: the grace period ended unpaid; lifted when the balance is settled."""


@dataclass(frozen=True, slots=True)
class Client:
    """A partner's end customer (R-C8: its data and documents are its own)."""

    client_id: UUID
    name: str
    email: str | None
    unified_billing: bool


class PartnerAccount(Aggregate):
    """A partner's account: billing profile, payment methods, clients, balance and status."""

    class Event(Aggregate.Event):
        """An account event; its originator id is the partner's id."""

    class Opened(Event, Aggregate.Created):
        """The vendor opened an account for a partner."""

        name: str
        currency: str
        time_zone: str
        anchor: Anchor
        anchor_day: int
        opened_on: date

    def __init__(
        self,
        name: str,
        currency: str,
        time_zone: str,
        anchor: Anchor,
        anchor_day: int,
        opened_on: date,
    ) -> None:
        self.name = name
        self.currency = currency
        self.time_zone = time_zone
        self.anchor = anchor
        self.anchor_day = anchor_day
        self.opened_on = opened_on
        self.entity: str | None = None
        self.address: Address | None = None
        self.billing_email: str | None = None
        self.payment_methods: dict[str, PaymentMethod] = {}
        self.default_method_id: UUID | None = None
        self.clients: dict[str, Client] = {}
        self.balance = Money.zero(currency)
        self.budget: Money | None = None
        self.budget_period: BillingPeriod | None = None
        self.budget_spent = Money.zero(currency)
        self.missed_invoices: dict[str, date] = {}
        """Invoice id -> the day its grace period ends (R-L4)."""
        self.pause_reasons: tuple[PauseReason, ...] = ()
        self.autopay: PaymentSource | None = None
        self.closed = False
        self.deferred_charges: list[InvoiceLine] = []
        """Charges of unified-billing lines waiting for the partner's next invoice (R-O3)."""
        self.deferred_since: date | None = None
        self.announced_top_ups: dict[str, tuple[Money, PaymentSource, str]] = {}
        """Transfers announced for the balance and not yet confirmed, by top-up id: amount,
        source and reference, kept apart from the balance (R-C2, R-H2)."""

    class_version = 2
    """Version 2 keeps the transfers announced for the balance apart from it (R-C2)."""

    tax_id: str | None = None
    """The partner's tax id as its billing profile recorded it (issue 17), or None. A class
    default, so accounts and snapshots from before it load with none."""

    test_clock_id: UUID | None = None
    """The test clock the partner lives on (issue 15), or None: the server's clock. A class
    default, so accounts and snapshots from before test clocks load as on none."""

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot from before version 2 had no announced transfers."""
        state.setdefault("announced_top_ups", state.pop("announced", {}))

    @classmethod
    def open(
        cls,
        *,
        partner_id: UUID,
        name: str,
        currency: str,
        time_zone: str,
        now: datetime,
        anchor: Anchor = Anchor.ANNIVERSARY,
    ) -> PartnerAccount:
        """Open an account in one currency, billed on business dates of one time zone (R-O2)."""
        clean_name = clean_text("name", name)
        check_new_account_currency(currency)
        zone(time_zone)
        opened_on = business_date(now, time_zone)
        return cls._create(
            cls.Opened,
            id=partner_id,
            name=clean_name,
            currency=currency,
            time_zone=time_zone,
            anchor=anchor,
            anchor_day=1 if anchor is Anchor.CALENDAR else opened_on.day,
            opened_on=opened_on,
            timestamp=now,
        )

    class JoinedTestClock(Event):
        """The account lives on a test clock: its instants are the clock's (issue 15)."""

        clock_id: UUID

        def apply(self, account: PartnerAccount) -> None:
            account.test_clock_id = self.clock_id

    def join_test_clock(self, clock_id: UUID, now: datetime) -> None:
        """Live on a test clock from the opening on: recorded with the opening, never later."""
        if self.version != 1 or self.test_clock_id is not None:
            raise ValueError("a partner joins a test clock when it is opened, and only then")
        self.trigger_event(self.JoinedTestClock, clock_id=clock_id, timestamp=now)

    @property
    def status(self) -> AccountStatus:
        if self.closed:
            return AccountStatus.CLOSED
        if self.pause_reasons:
            return AccountStatus.PAUSED
        if self.missed_invoices:
            return AccountStatus.IN_GRACE
        return AccountStatus.ACTIVE

    def today(self, now: datetime) -> date:
        """The partner's business date at this instant (R-X7)."""
        return business_date(now, self.time_zone)

    # --- billing profile and payment methods (R-O1, R-O6) ----------------------------

    class BillingProfileRecorded(Event):
        """Who invoices are addressed to, where, with which tax id, and where they are e-mailed
        (R-O1); documents print the entity, address and tax id as the customer's (issue 17)."""

        class_version = 2

        entity: str
        address: Address
        billing_email: str
        tax_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 recorded no tax id (before issue 17)."""
            state["tax_id"] = None

        def apply(self, account: PartnerAccount) -> None:
            account.entity = self.entity
            account.address = self.address
            account.billing_email = self.billing_email
            account.tax_id = self.tax_id

    def record_billing_profile(
        self,
        entity: str,
        address: Address,
        billing_email: str,
        now: datetime,
        tax_id: str | None = None,
    ) -> None:
        """Record who invoices are addressed to (R-O1); it replaces the one before, a tax id
        left out included (issue 17)."""
        self._require_not_closed()
        # An Address built without `Address.of` is checked too: no bad country, no card number.
        checked = Address.of(address.lines, address.city, address.postal_code, address.country)
        self.trigger_event(
            self.BillingProfileRecorded,
            entity=clean_text("entity", entity),
            address=checked,
            billing_email=clean_email("billing_email", billing_email),
            tax_id=clean_tax_id("tax_id", tax_id),
            timestamp=now,
        )

    class PaymentMethodAdded(Event):
        """A card or bank account was added, as a token with safe display data (R-O1, R-X4)."""

        method_id: UUID
        method: PaymentMethod
        is_default: bool

        def apply(self, account: PartnerAccount) -> None:
            account.payment_methods[str(self.method_id)] = self.method
            if self.is_default:
                account.default_method_id = self.method_id

    def add_payment_method(
        self, method_id: UUID, method: PaymentMethod, make_default: bool, now: datetime
    ) -> None:
        self._require_not_closed()
        if str(method_id) in self.payment_methods:
            return
        if len(self.payment_methods) >= PAYMENT_METHODS_MAX:
            raise InvalidValue(
                f"An account keeps at most {PAYMENT_METHODS_MAX} payment methods.",
                field="payment_methods",
            )
        self._require_current(method, self.today(now))
        self.trigger_event(
            self.PaymentMethodAdded,
            method_id=method_id,
            method=method,
            is_default=make_default or self.default_method_id is None,
            timestamp=now,
        )

    class PaymentMethodReplaced(Event):
        """The partner updated a payment method; the billing date does not move (R-O6, R-H5)."""

        old_method_id: UUID
        method_id: UUID
        method: PaymentMethod

        def apply(self, account: PartnerAccount) -> None:
            del account.payment_methods[str(self.old_method_id)]
            account.payment_methods[str(self.method_id)] = self.method
            if account.default_method_id == self.old_method_id:
                account.default_method_id = self.method_id

    def replace_payment_method(
        self, old_method_id: UUID, method_id: UUID, method: PaymentMethod, now: datetime
    ) -> None:
        self._require_not_closed()
        self._method(old_method_id)
        if method_id != old_method_id and str(method_id) in self.payment_methods:
            raise InvalidValue(
                f"Payment method {method_id} is another method of this account.",
                field="method_id",
            )
        self._require_current(method, self.today(now))
        self.trigger_event(
            self.PaymentMethodReplaced,
            old_method_id=old_method_id,
            method_id=method_id,
            method=method,
            timestamp=now,
        )

    class DefaultPaymentMethodChosen(Event):
        """Payments use this method unless told otherwise (R-O6)."""

        method_id: UUID

        def apply(self, account: PartnerAccount) -> None:
            account.default_method_id = self.method_id

    def make_default_payment_method(self, method_id: UUID, now: datetime) -> None:
        self._require_not_closed()
        self._method(method_id)
        if self.default_method_id != method_id:
            self.trigger_event(self.DefaultPaymentMethodChosen, method_id=method_id, timestamp=now)

    @property
    def default_method(self) -> PaymentMethod | None:
        if self.default_method_id is None:
            return None
        return self.payment_methods.get(str(self.default_method_id))

    def payment_method(self, method_id: UUID) -> PaymentMethod:
        return self._method(method_id)

    def method_to_charge(
        self, source: PaymentSource | None, method_id: UUID | None
    ) -> tuple[UUID, PaymentMethod]:
        """The method a charge from `source` goes to (R-C2): the one named, which must be of
        that kind; else the default if it is of that kind, else the first kept of that kind.
        With no source, the one named or the default, whatever its kind."""
        if method_id is not None:
            method = self._method(method_id)
            require_kind(method, source, method_id)
            return method_id, method
        candidates = [
            (UUID(key), method)
            for key, method in self.payment_methods.items()
            if source is None or method.source is source
        ]
        candidates.sort(key=lambda candidate: candidate[0] != self.default_method_id)
        if not candidates:
            raise NoPaymentMethod(
                "The partner has no "
                + ("payment method." if source is None else f"method for {source.value}."),
                source=None if source is None else source.value,
            )
        return candidates[0]

    # --- clients (R-O4, R-C8) -------------------------------------------------------

    class ClientRegistered(Event):
        """A client of the partner was registered, in unified billing or paying itself."""

        client_id: UUID
        name: str
        email: str | None
        unified_billing: bool

        def apply(self, account: PartnerAccount) -> None:
            account.clients[str(self.client_id)] = Client(
                self.client_id, self.name, self.email, self.unified_billing
            )

    def register_client(
        self,
        client_id: UUID,
        name: str,
        email: str | None,
        unified_billing: bool,
        now: datetime,
    ) -> None:
        self._require_not_closed()
        if str(client_id) in self.clients:
            return
        self.trigger_event(
            self.ClientRegistered,
            client_id=client_id,
            name=clean_text("client name", name),
            email=None if email is None else clean_email("email", email),
            unified_billing=unified_billing,
            timestamp=now,
        )

    class ClientRemovedFromUnifiedBilling(Event):
        """The partner stopped paying for this client (R-O4)."""

        client_id: UUID
        removed_on: date

        def apply(self, account: PartnerAccount) -> None:
            client = account.clients[str(self.client_id)]
            account.clients[str(self.client_id)] = Client(
                client.client_id, client.name, client.email, unified_billing=False
            )

    def remove_client_from_unified_billing(self, client_id: UUID, now: datetime) -> None:
        self._require_not_closed()
        client = self.client(client_id)
        if not client.unified_billing:
            raise ClientNotInUnifiedBilling(
                f"Client {client.name} is not in unified billing.", client_id=client_id
            )
        self.trigger_event(
            self.ClientRemovedFromUnifiedBilling,
            client_id=client_id,
            removed_on=self.today(now),
            timestamp=now,
        )

    def client(self, client_id: UUID) -> Client:
        try:
            return self.clients[str(client_id)]
        except KeyError:
            raise ClientNotFound.of(client_id) from None

    # --- company balance (R-C2) -----------------------------------------------------------

    class BalanceToppedUp(Event):
        """The partner prepaid money onto its company balance (R-C2); no closing document."""

        top_up_id: UUID
        amount: Money
        source: PaymentSource
        reference: str | None

        def apply(self, account: PartnerAccount) -> None:
            account.balance = account.balance + self.amount
            account.announced_top_ups.pop(str(self.top_up_id), None)

    class TopUpAnnounced(Event):
        """The partner says it sent a bank transfer for its balance; the balance grows only
        once the vendor confirms the money arrived (R-C2, R-H2)."""

        top_up_id: UUID
        amount: Money
        source: PaymentSource
        reference: str

        def apply(self, account: PartnerAccount) -> None:
            account.announced_top_ups[str(self.top_up_id)] = (
                self.amount,
                self.source,
                self.reference,
            )

    @property
    def announced_total(self) -> Money:
        """What the partner says it sent for its balance, not yet received (R-C2)."""
        return total([amount for amount, _, _ in self.announced_top_ups.values()], self.currency)

    def announce_top_up(
        self, top_up_id: UUID, amount: Money, reference: str, now: datetime
    ) -> None:
        """Note a bank transfer the partner says it sent for its balance (R-C2)."""
        self._require_not_closed()
        self._require_amount(amount)
        if str(top_up_id) in self.announced_top_ups:
            return
        require_at_most(
            self.announced_total + amount, BALANCE_MAX_MINOR, "amount", "Announced top-ups"
        )
        self.trigger_event(
            self.TopUpAnnounced,
            top_up_id=top_up_id,
            amount=amount,
            source=PaymentSource.BANK_TRANSFER,
            reference=clean_text("reference", reference),
            timestamp=now,
        )

    def confirm_top_up(self, top_up_id: UUID, now: datetime) -> Money:
        """The vendor received an announced transfer: it is on the balance now (R-C2)."""
        announced = self.announced_top_ups.get(str(top_up_id))
        if announced is None:
            raise PaymentNotFound.of(top_up_id, what="announced top-up")
        amount, source, reference = announced
        self.top_up(top_up_id, amount, source, now, reference)
        return amount

    def check_top_up(self, amount: Money, source: PaymentSource) -> None:
        """Raise what `top_up` would refuse, without recording anything: a card is charged
        only for a top-up the account would take (R-C2)."""
        self._require_not_closed()
        self._require_amount(amount)
        if source not in TOP_UP_SOURCES:
            raise InvalidValue(f"A top-up cannot be paid with {source.value}.", field="source")
        require_at_most(self.balance + amount, BALANCE_MAX_MINOR, "amount", "The company balance")

    def top_up(
        self,
        top_up_id: UUID,
        amount: Money,
        source: PaymentSource,
        now: datetime,
        reference: str | None = None,
    ) -> None:
        self.check_top_up(amount, source)
        # A card's reference is the processor's id for the charge, not text a person typed: a
        # random one may hold a Luhn-valid run of digits, and the card is already charged.
        if reference is not None:
            reference = (
                clean_processor_id("reference", reference)
                if source.is_gateway
                else clean_text("reference", reference)
            )
        self.trigger_event(
            self.BalanceToppedUp,
            top_up_id=top_up_id,
            amount=amount,
            source=source,
            reference=reference,
            timestamp=now,
        )

    class BalanceSpent(Event):
        """Part of the company balance paid an invoice (R-C2)."""

        spend_id: UUID
        amount: Money
        invoice_id: UUID

        def apply(self, account: PartnerAccount) -> None:
            account.balance = account.balance - self.amount

    def spend_balance(self, spend_id: UUID, amount: Money, invoice_id: UUID, now: datetime) -> None:
        self._require_amount(amount)
        if amount > self.balance:
            raise InsufficientBalance(
                f"The company balance holds {self.balance}, not {amount}.",
                available=self.balance.amount_minor,
                needed=amount.amount_minor,
            )
        self.trigger_event(
            self.BalanceSpent,
            spend_id=spend_id,
            amount=amount,
            invoice_id=invoice_id,
            timestamp=now,
        )

    class BalanceRestored(Event):
        """A refund of a balance payment went back onto the company balance (R-H6)."""

        refund_id: UUID
        amount: Money
        invoice_id: UUID

        def apply(self, account: PartnerAccount) -> None:
            account.balance = account.balance + self.amount

    def restore_balance(
        self, refund_id: UUID, amount: Money, invoice_id: UUID, now: datetime
    ) -> None:
        self._require_amount(amount)
        require_at_most(self.balance + amount, BALANCE_MAX_MINOR, "amount", "The company balance")
        self.trigger_event(
            self.BalanceRestored,
            refund_id=refund_id,
            amount=amount,
            invoice_id=invoice_id,
            timestamp=now,
        )

    # --- autopay (R-C6) ---------------------------------------------------------------

    class AutopayPreferenceSet(Event):
        """New lines renew automatically from this source, or not when None (R-C6)."""

        source: PaymentSource | None

        def apply(self, account: PartnerAccount) -> None:
            account.autopay = self.source

    def set_autopay(self, source: PaymentSource | None, now: datetime) -> None:
        self._require_not_closed()
        if source is not None and source not in AUTOPAY_SOURCES:
            raise InvalidValue(f"Autopay cannot use {source.value}.", field="source")
        if source != self.autopay:
            self.trigger_event(self.AutopayPreferenceSet, source=source, timestamp=now)

    # --- unified billing (R-O2, R-O3) ------------------------------------------------------

    class ChargeDeferred(Event):
        """A unified-billing line's charge waits for the partner's next invoice (R-O3)."""

        line_id: UUID
        lines: tuple[InvoiceLine, ...]
        deferred_on: date

        def apply(self, account: PartnerAccount) -> None:
            account.deferred_charges.extend(self.lines)
            if account.deferred_since is None:
                account.deferred_since = self.deferred_on

    def defer_charge(
        self, line_id: UUID, lines: Sequence[InvoiceLine], on: date, now: datetime
    ) -> None:
        """Put a line's charge on the partner's next consolidated invoice."""
        self._require_not_closed()
        if not lines:
            raise InvalidValue("A charge has at least one line.", field="lines")
        for line in lines:
            if line.amount.currency != self.currency:
                raise CurrencyMismatch(
                    f"The account is in {self.currency}.",
                    expected=self.currency,
                    got=line.amount.currency,
                )
        self.trigger_event(
            self.ChargeDeferred, line_id=line_id, lines=tuple(lines), deferred_on=on, timestamp=now
        )

    @property
    def next_billing_date(self) -> date | None:
        """The partner's billing day on or after its oldest deferred charge (R-O2)."""
        if self.deferred_since is None:
            return None
        since = self.deferred_since
        on_anchor = month_day(since.year, since.month, self.anchor_day)
        return on_anchor if on_anchor >= since else add_months(since, 1, self.anchor_day)

    class UnifiedInvoiceIssued(Event):
        """The deferred charges went out on one invoice to the partner (R-O3)."""

        invoice_id: UUID
        billed_on: date

        def apply(self, account: PartnerAccount) -> None:
            account.deferred_charges = []
            account.deferred_since = None

    def record_unified_invoice(self, invoice_id: UUID, on: date, now: datetime) -> None:
        if not self.deferred_charges:
            raise InvalidValue("Nothing is waiting to be invoiced.", field="deferred_charges")
        self.trigger_event(
            self.UnifiedInvoiceIssued, invoice_id=invoice_id, billed_on=on, timestamp=now
        )

    # --- budget (R-L3) ---------------------------------------------------------------

    class BudgetSet(Event):
        """A monthly budget, reset on the signup day of month (R-L3)."""

        amount: Money | None
        period: BillingPeriod

        def apply(self, account: PartnerAccount) -> None:
            account.budget = self.amount
            if account.budget_period != self.period:
                account.budget_spent = Money.zero(account.currency)
            account.budget_period = self.period

    def set_budget(self, amount: Money | None, now: datetime) -> None:
        """Set (or remove, with None) the monthly budget; it applies to the current period."""
        self._require_not_closed()
        if amount is not None:
            self._require_amount(amount)
            require_at_most(amount, BUDGET_MAX_MINOR, "amount", "A monthly budget")
        period = budget_period(self.opened_on.day, self.today(now))
        self.trigger_event(self.BudgetSet, amount=amount, period=period, timestamp=now)
        if self.budget is not None and self.budget_spent >= self.budget:
            # Lowered to what this period has already spent: that is reaching it (R-L3).
            self._reach_budget(now)
        else:
            self._lift_budget_pause_if_room(now)

    class BudgetSpent(Event):
        """A lead's price counted against this period's budget (R-L3)."""

        lead_id: UUID
        amount: Money

        def apply(self, account: PartnerAccount) -> None:
            account.budget_spent = account.budget_spent + self.amount

    class BudgetReached(Event):
        """This period's budget is spent (R-L3)."""

        spent: Money

    class BudgetPeriodStarted(Event):
        """A new budget period began on the signup day of month (R-L3)."""

        period: BillingPeriod

        def apply(self, account: PartnerAccount) -> None:
            account.budget_period = self.period
            account.budget_spent = Money.zero(account.currency)

    def charge_budget(
        self, lead_id: UUID, amount: Money, now: datetime, today: date | None = None
    ) -> bool:
        """Count a lead against the budget; pause when it is reached. True if now reached.

        `today` is the lead's business date (by default the partner's date at `now`).
        """
        self._require_amount(amount)
        day = today or self.today(now)
        # The clock starts each budget period on the signup day; a lead that arrives first
        # starts it here, so it never counts against (or is refused by) the period before.
        # Decide first: a refused lead must not start the period either.
        new_period = self._budget_period_due(day)
        reasons = set(self.pause_reasons)
        if new_period:
            reasons.discard(PauseReason.BUDGET_REACHED)
        self._refuse_service(reasons)
        if new_period:
            self.start_budget_period(now, day)
        if self.budget is None:
            return False
        if self.budget_spent >= self.budget:
            raise BudgetExhausted(
                f"This month's budget of {self.budget} is spent.",
                budget=self.budget.amount_minor,
            )
        self.trigger_event(self.BudgetSpent, lead_id=lead_id, amount=amount, timestamp=now)
        if self.budget_spent >= self.budget:
            self._reach_budget(now)
            return True
        return False

    def start_budget_period(self, now: datetime, today: date | None = None) -> bool:
        """Begin the budget period that contains `today`, if it has not begun (R-L3)."""
        day = today or self.today(now)
        if not self._budget_period_due(day):
            return False
        period = budget_period(self.opened_on.day, day)
        self.trigger_event(self.BudgetPeriodStarted, period=period, timestamp=now)
        self._lift_budget_pause_if_room(now)
        return True

    def _budget_period_due(self, today: date) -> bool:
        return (
            self.budget is not None
            and self.budget_period is not None
            and today >= self.budget_period.end
        )

    # --- missed payments, grace and pause (R-L4) -------------------------------------

    class PaymentMissed(Event):
        """A payment was missed; service continues until the grace period ends (R-L4)."""

        invoice_id: UUID
        grace_ends_on: date

        def apply(self, account: PartnerAccount) -> None:
            account.missed_invoices[str(self.invoice_id)] = self.grace_ends_on

    def record_missed_payment(
        self, invoice_id: UUID, grace_days: int, now: datetime, on: date | None = None
    ) -> None:
        """A payment was missed on `on` (by default the partner's date at `now`) (R-L4)."""
        if str(invoice_id) in self.missed_invoices:
            return
        ends_on = (on or self.today(now)) + timedelta(days=grace_days)
        self.trigger_event(
            self.PaymentMissed, invoice_id=invoice_id, grace_ends_on=ends_on, timestamp=now
        )

    class MissedPaymentSettled(Event):
        """A missed payment was paid (R-L4)."""

        invoice_id: UUID

        def apply(self, account: PartnerAccount) -> None:
            account.missed_invoices.pop(str(self.invoice_id), None)

    def record_missed_payment_settled(self, invoice_id: UUID, now: datetime) -> None:
        """Clear a missed payment; with none left the account resumes by itself (R-L4)."""
        if str(invoice_id) not in self.missed_invoices:
            return
        self.trigger_event(self.MissedPaymentSettled, invoice_id=invoice_id, timestamp=now)
        if not self.missed_invoices and PauseReason.PAYMENT_OVERDUE in self.pause_reasons:
            self._resume(PauseReason.PAYMENT_OVERDUE, now)

    def expire_grace(self, now: datetime, today: date | None = None) -> bool:
        """Pause the account once a grace period has ended unpaid (R-L4). True if paused."""
        if PauseReason.PAYMENT_OVERDUE in self.pause_reasons or not self.missed_invoices:
            return False
        if (today or self.today(now)) < min(self.missed_invoices.values()):
            return False
        self._pause(PauseReason.PAYMENT_OVERDUE, now)
        return True

    @property
    def grace_ends_on(self) -> date | None:
        return min(self.missed_invoices.values()) if self.missed_invoices else None

    class Paused(Event):
        """The account stopped receiving service for this reason (R-L3, R-L4)."""

        reason: PauseReason

        def apply(self, account: PartnerAccount) -> None:
            account.pause_reasons = tuple(
                sorted({*account.pause_reasons, self.reason}, key=list(PauseReason).index)
            )

    class Resumed(Event):
        """One reason to pause was lifted; the account is active once none is left."""

        reason: PauseReason

        def apply(self, account: PartnerAccount) -> None:
            account.pause_reasons = tuple(r for r in account.pause_reasons if r != self.reason)

    def ensure_can_receive_leads(self) -> None:
        """Refuse service while paused or closed; a grace period still receives (R-L4)."""
        self._refuse_service(set(self.pause_reasons))

    def _refuse_service(self, pause_reasons: set[PauseReason]) -> None:
        self._require_not_closed()
        if pause_reasons:
            reasons = [reason.value for reason in PauseReason if reason in pause_reasons]
            raise AccountPaused(f"The account is paused: {', '.join(reasons)}.", reasons=reasons)

    # --- closing ----------------------------------------------------------------------

    class Closed(Event):
        """The account was closed; its history stays."""

        reason: str

        def apply(self, account: PartnerAccount) -> None:
            account.closed = True

    def close(self, reason: str, now: datetime) -> None:
        self._require_not_closed()
        self.trigger_event(self.Closed, reason=clean_text("reason", reason), timestamp=now)

    # --- helpers ----------------------------------------------------------------------

    def _pause(self, reason: PauseReason, now: datetime) -> None:
        if reason not in self.pause_reasons:
            self.trigger_event(self.Paused, reason=reason, timestamp=now)

    def _resume(self, reason: PauseReason, now: datetime) -> None:
        if reason in self.pause_reasons:
            self.trigger_event(self.Resumed, reason=reason, timestamp=now)

    def _reach_budget(self, now: datetime) -> None:
        if PauseReason.BUDGET_REACHED not in self.pause_reasons:
            self.trigger_event(self.BudgetReached, spent=self.budget_spent, timestamp=now)
            self._pause(PauseReason.BUDGET_REACHED, now)

    def _lift_budget_pause_if_room(self, now: datetime) -> None:
        if self.budget is None or self.budget_spent < self.budget:
            self._resume(PauseReason.BUDGET_REACHED, now)

    def _require_not_closed(self) -> None:
        if self.closed:
            raise AccountClosed("The account is closed.")

    def _require_amount(self, amount: Money) -> None:
        if amount.currency != self.currency:
            raise CurrencyMismatch(
                f"The account is in {self.currency}.", expected=self.currency, got=amount.currency
            )
        if not amount.is_positive():
            raise AmountNotPositive("The amount must be above zero.", field="amount")
        require_at_most(amount, AMOUNT_MAX_MINOR, "amount", "An amount")

    def _method(self, method_id: UUID) -> PaymentMethod:
        try:
            return self.payment_methods[str(method_id)]
        except KeyError:
            raise PaymentMethodNotFound.of(method_id) from None

    @staticmethod
    def _require_current(method: PaymentMethod, today: date) -> None:
        if isinstance(method, CardToken):
            refuse_expired(method, today)


def require_kind(
    method: PaymentMethod, source: PaymentSource | None, method_id: UUID | None
) -> None:
    """Refuse a card for a debit or a bank account for a card payment (R-C2, R-O7)."""
    if source is not None and method.source is not source:
        raise PaymentMethodKindMismatch(
            f"Payment method {method_id or 'on the line'} is not for {source.value} payments.",
            method_id=method_id,
            source=source.value,
            method_kind=method.source.value,
        )
