"""The subscription line: one client's subscription to one product (a plan, seats, or leads)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.calendar import (
    Anchor,
    BillingPeriod,
    Term,
    add_business_days,
    aligned_first_period,
    next_period,
    plausible_date,
)
from domain.errors import (
    AmountNotPositive,
    ConsentMissing,
    ConsentNotPermitted,
    CurrencyMismatch,
    DateOutOfRange,
    InvalidTransition,
    InvalidValue,
    InvoiceNotSettled,
    LineNotActive,
    LineNotFound,
    LocationNotFound,
    PeriodAlreadyRenewed,
    PeriodNotNext,
    TransferNotAllowed,
)
from domain.money import INVOICE_TOTAL_MAX_MINOR, Money, require_at_most, total
from domain.payment_methods import AUTOPAY_SOURCES, CardToken, PaymentSource, refuse_expired
from domain.pricing import BillingPolicy, PriceUnit, Product
from domain.values import Actor, Location, Payer, clean_email, clean_text

TRANSFER_PAYMENT_SOURCES = frozenset(
    {PaymentSource.CARD, PaymentSource.DIRECT_DEBIT, PaymentSource.BANK_TRANSFER}
)
"""R-E2: card, direct debit or invoice."""
DAYS_IN_LONGEST_MONTH = 31
LOCATIONS_MAX = 10_000
"""More locations than any one client has; bounds an invoice's length."""
START_BACKDATED_DAYS_MAX = DAYS_IN_LONGEST_MONTH
"""How far back a line may start: a partner often records a line a few days or weeks after
its client began (R-C1), so a start up to one month back is billed from that day, on an
invoice issued today. Further back would bill a period whose month the books have closed and
would set off a run of overdue renewals at once: such a line is set up with a start today
and the past settled apart (a credit note or a manual invoice, R-X6)."""
START_AHEAD_DAYS_MAX = 366
"""How far ahead a line may be set to start (it waits for the billing clock): a contract
signed up to a year early. A later day is a mistyped year (2999), not a sale."""
RENEWAL_AHEAD_DAYS_MAX = 366
"""How far ahead of today the period a renewal names may start: partners pay some months
ahead (R-C1, ChatApp), one period after another; beyond a year it is a runaway retry loop
or a typo, and money owed that far ahead is a prepayment, not a renewal."""


class LineStatus(StrEnum):
    """Where a line is in its life (R-H1)."""

    DRAFT = "draft"
    PENDING = "pending"
    """Sent to the customer to pay and accept."""
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class TransferParty(StrEnum):
    """Whose consent a reseller transfer needs (R-E2)."""

    CLIENT = "client"
    CURRENT_RESELLER = "current_reseller"
    NEW_RESELLER = "new_reseller"


ALL_PARTIES = tuple(TransferParty)


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """A request to move a client's subscription to another reseller, with every R-E2 field."""

    end_user_name: str
    current_reseller_id: UUID
    new_reseller_id: UUID
    preferred_date: date
    owner_email: str
    invoice_email: str
    billing: Term
    """Monthly or annual billing under the new reseller."""
    payment_method: PaymentSource
    """Card, direct debit or invoice (bank transfer)."""

    def validated(self) -> TransferRequest:
        if self.billing not in (Term.MONTHLY, Term.ANNUAL):
            raise InvalidValue("Transfers bill monthly or annually.", field="billing")
        if self.payment_method not in TRANSFER_PAYMENT_SOURCES:
            raise InvalidValue(
                "A transfer is paid by card, direct debit or invoice.", field="payment_method"
            )
        if self.current_reseller_id == self.new_reseller_id:
            raise TransferNotAllowed("The new reseller is the current one.", reason="same_reseller")
        return TransferRequest(
            end_user_name=clean_text("end_user_name", self.end_user_name),
            current_reseller_id=self.current_reseller_id,
            new_reseller_id=self.new_reseller_id,
            preferred_date=plausible_date(self.preferred_date, "preferred_date"),
            owner_email=clean_email("owner_email", self.owner_email),
            invoice_email=clean_email("invoice_email", self.invoice_email),
            billing=self.billing,
            payment_method=self.payment_method,
        )


class SubscriptionLine(Aggregate):
    """One client's subscription to one product, paid by its partner or by the client itself."""

    class Event(Aggregate.Event):
        """Every line event names the partner it belongs to (the future partition key)."""

        partner_id: UUID

    class Created(Event, Aggregate.Created):
        """A partner set up a line for a client, as a draft (R-C1, R-H1)."""

        client_id: UUID
        product_code: str
        product_name: str
        unit: PriceUnit
        unit_price: Money
        term: Term
        anchor: Anchor
        anchor_day: int | None
        """Set for calendar billing (1) and for lines billed on their partner's day; otherwise
        the line bills on the day of month it starts (R-O2)."""
        payer: Payer
        unified_billing: bool
        locations: tuple[Location, ...]
        price_version: int | None
        """The catalogue price version the line was sold at (issue 13); None before it."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no price version: lines sold before the catalogue kept one."""
            state["price_version"] = None

    def __init__(
        self,
        partner_id: UUID,
        client_id: UUID,
        product_code: str,
        product_name: str,
        unit: PriceUnit,
        unit_price: Money,
        term: Term,
        anchor: Anchor,
        anchor_day: int | None,
        payer: Payer,
        unified_billing: bool,
        locations: tuple[Location, ...],
        price_version: int | None,
    ) -> None:
        self.partner_id = partner_id
        self.price_version = price_version
        """The catalogue price version the line was sold at; None if sold before versions."""
        self.client_id = client_id
        self.product_code = product_code
        self.product_name = product_name
        self.unit = unit
        self.unit_price = unit_price
        self.term = term
        self.anchor = anchor
        self.anchor_day = anchor_day
        self.payer = payer
        self.unified_billing = unified_billing
        self.locations: dict[str, Location] = {str(loc.location_id): loc for loc in locations}
        self.status = LineStatus.DRAFT
        self.accepted = False
        self.current_period: BillingPeriod | None = None
        self.autopay: PaymentSource | None = None
        self.card: CardToken | None = None
        self.unbilled_leads: dict[str, Money] = {}
        self.invoiced_leads: dict[str, UUID] = {}
        """Lead id -> the invoice that billed it, so a lead delivered again is not billed twice."""
        self.open_invoices: dict[str, str] = {}
        """Invoice id -> number, for every invoice of this line not yet settled (R-E3)."""
        self.invoiced_through: date | None = None
        """The end of the last period invoiced (an invoice may come before its period: R-C6)."""
        self.unbilled_delivered: dict[str, date] = {}
        """When each lead still to invoice was delivered (R-L2: invoiced on Fridays)."""
        self.unbilled_versions: dict[str, str] = {}
        """The catalogue price version of each lead still to invoice that has one (issue 13)."""
        self.unbilled_overrides: dict[str, str] = {}
        """What overrode the catalogue price of each lead still to invoice, where something did."""
        self.transfer: TransferRequest | None = None
        self.consents: tuple[TransferParty, ...] = ()
        self.transfer_effective_on: date | None = None
        self.starts_on: date | None = None
        """The day a scheduled start activates the line (the billing clock does it)."""
        self.started_periods: dict[str, BillingPeriod] = {}
        """Every period the line has started (activated or renewed), by its first day."""
        self.invoiced_periods: tuple[tuple[BillingPeriod, UUID, str], ...] = ()
        """Each period invoiced for this line, with the invoice's id and number."""

    class_version = 4
    """Version 2 remembers the periods started and invoiced (one invoice per period, R-C1);
    version 3 the price version the line was sold at (issue 13); version 4 the price version
    and override of each lead still to invoice (issue 13)."""

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot from before version 2 knows only the current period: earlier ones are
        left out (a renewal naming one is refused as not the next, rather than as renewed)."""
        current = state.get("current_period")
        state["starts_on"] = None
        state["started_periods"] = {} if current is None else {current.start.isoformat(): current}
        state["invoiced_periods"] = ()

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """A snapshot from before version 3 is of a line sold before price versions."""
        state["price_version"] = None

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        """A snapshot from before version 4 holds leads recorded before their versions were:
        they are invoiced as unversioned."""
        state["unbilled_versions"] = {}
        state["unbilled_overrides"] = {}

    # --- creation and life cycle (R-H1) ---------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        line_id: UUID,
        partner_id: UUID,
        client_id: UUID,
        product: Product,
        term: Term,
        anchor: Anchor,
        payer: Payer,
        unified_billing: bool,
        locations: Sequence[Location],
        now: datetime,
        anchor_day: int | None = None,
        price_version: int | None = None,
    ) -> SubscriptionLine:
        """Set up a line for a client as a draft.

        `anchor_day` aligns an anniversary line with its partner's billing day (unified
        billing); without it the line bills on the day of month it starts.
        """
        if anchor is Anchor.CALENDAR:
            if anchor_day not in (None, 1):
                raise InvalidValue("Calendar billing is on the 1st.", field="anchor_day")
            anchor_day = 1
        elif anchor_day is not None and not 1 <= anchor_day <= DAYS_IN_LONGEST_MONTH:
            raise InvalidValue(
                "The billing day is a day of the month, 1 to 31.", field="anchor_day"
            )
        if unified_billing and payer is not Payer.PARTNER:
            raise InvalidValue("Only partner-paid lines are in unified billing.", field="payer")
        if product.unit is PriceUnit.PER_LEAD and term is not Term.MONTHLY:
            raise InvalidValue("Pay-per-lead lines have no term to buy (R-L1).", field="term")
        cleaned = _locations(locations)
        if product.unit is PriceUnit.PER_LOCATION and not cleaned:
            raise InvalidValue("A per-location product needs a location.", field="locations")
        return cls._create(
            cls.Created,
            id=line_id,
            partner_id=partner_id,
            client_id=client_id,
            product_code=product.code,
            product_name=product.name,
            unit=product.unit,
            unit_price=product.unit_price,
            term=term,
            anchor=anchor,
            anchor_day=anchor_day,
            payer=payer,
            unified_billing=unified_billing,
            locations=cleaned,
            price_version=price_version,
            timestamp=now,
        )

    class Sent(Event):
        """The line was sent to the customer to pay and accept (R-H1)."""

        def apply(self, line: SubscriptionLine) -> None:
            line.status = LineStatus.PENDING

    def send(self, now: datetime) -> None:
        """Send a draft to the customer: it is pending until accepted and activated (R-H1)."""
        self._require(LineStatus.DRAFT, command="send")
        self._trigger(self.Sent, now)

    class Accepted(Event):
        """The customer accepted the line (R-H1)."""

        def apply(self, line: SubscriptionLine) -> None:
            line.accepted = True

    def accept(self, now: datetime) -> None:
        """The customer accepts a pending line."""
        self._require(LineStatus.PENDING, command="accept")
        if self.accepted:
            return
        self._trigger(self.Accepted, now)

    class Activated(Event):
        """The line started its first billing period, billed on `anchor_day` from then on."""

        period: BillingPeriod
        anchor_day: int

        def apply(self, line: SubscriptionLine) -> None:
            line.status = LineStatus.ACTIVE
            line.current_period = self.period
            line.anchor_day = self.anchor_day
            line.starts_on = None
            line.started_periods = {self.period.start.isoformat(): self.period}

    class StartScheduled(Event):
        """The line will start on a later day; the billing clock activates it then (R-H1)."""

        starts_on: date

        def apply(self, line: SubscriptionLine) -> None:
            line.starts_on = self.starts_on

    def activate(self, start: date, today: date, now: datetime) -> BillingPeriod | None:
        """Start the line's first period on `start` (a draft, or a pending line once accepted):
        now if `start` is today or up to a month back, or on `start` by the billing clock;
        None when it waits."""
        earliest = today - timedelta(days=START_BACKDATED_DAYS_MAX)
        latest = today + timedelta(days=START_AHEAD_DAYS_MAX)
        if not earliest <= start <= latest:
            raise DateOutOfRange(
                f"A line starts between {earliest} and {latest}.",
                field="start_on",
                earliest=earliest.isoformat(),
                latest=latest.isoformat(),
            )
        self._require_activatable()
        if start > today:
            if start != self.starts_on:
                self._trigger(self.StartScheduled, now, starts_on=start)
            return None
        return self._activate(start, now)

    def start_scheduled(self, today: date, now: datetime) -> BillingPeriod:
        """The billing clock starts a line on the day it was scheduled to start."""
        self._require_activatable()
        if self.starts_on is None or today < self.starts_on:
            raise InvalidTransition(
                "The line is not scheduled to start by now.",
                status=self.status.value,
                command="start",
            )
        return self._activate(self.starts_on, now)

    def _activate(self, start: date, now: datetime) -> BillingPeriod:
        anchor_day = self.anchor_day or start.day
        period = aligned_first_period(start, self.term, anchor_day)
        self._trigger(self.Activated, now, period=period, anchor_day=anchor_day)
        return period

    def _require_activatable(self) -> None:
        if self.status is LineStatus.PENDING and not self.accepted:
            raise InvalidTransition(
                "A pending line is activated once the customer accepts it.",
                status=self.status.value,
                command="activate",
            )
        if self.status not in (LineStatus.DRAFT, LineStatus.PENDING):
            raise InvalidTransition(
                f"A {self.status.value} line cannot be activated.",
                status=self.status.value,
                command="activate",
            )

    @property
    def next_period(self) -> BillingPeriod:
        """The period that follows the current one (R-O2: returns to the anchor day)."""
        if self.current_period is None or self.anchor_day is None:
            raise LineNotActive("The line has not started.", status=self.status.value)
        return next_period(self.current_period, self.term, self.anchor, self.anchor_day)

    class Renewed(Event):
        """The line moved on to its next, paid, period (R-C1)."""

        period: BillingPeriod

        def apply(self, line: SubscriptionLine) -> None:
            line.current_period = self.period
            line.started_periods[self.period.start.isoformat()] = self.period

    def renewal(self, period_start: date, today: date) -> BillingPeriod:
        """The period a renewal naming `period_start` renews: the line's next period, once.

        Renewing early is fine (R-C1: partners pay ahead, one period after another); a period
        already renewed is refused with the invoice that billed it, whoever asks (R-X5).
        """
        self._require_active("renew")
        following = self.next_period
        if period_start != following.start:
            if period_start.isoformat() in self.started_periods:
                invoiced = self.invoice_of(period_start)
                raise PeriodAlreadyRenewed(
                    f"The period from {period_start} is already renewed.",
                    period_start=period_start.isoformat(),
                    invoice_id=str(invoiced[0]) if invoiced else None,
                    invoice_number=invoiced[1] if invoiced else None,
                )
            raise PeriodNotNext(
                f"The line's next period starts on {following.start}.",
                field="period_start",
                next_period_start=following.start.isoformat(),
            )
        latest = today + timedelta(days=RENEWAL_AHEAD_DAYS_MAX)
        if following.start > latest:
            raise DateOutOfRange(
                f"A renewal is for a period starting by {latest}.",
                field="period_start",
                earliest=None,
                latest=latest.isoformat(),
            )
        return following

    def renew(self, period_start: date, today: date, now: datetime) -> BillingPeriod:
        """Move on to the period that starts on `period_start`; the caller has billed it."""
        period = self.renewal(period_start, today)
        self._trigger(self.Renewed, now, period=period)
        return period

    def invoice_of(self, day: date) -> tuple[UUID, str] | None:
        """The invoice that billed the period holding `day`, if one did yet."""
        for period, invoice_id, invoice_number in self.invoiced_periods:
            if day in period:
                return invoice_id, invoice_number
        return None

    class Paused(Event):
        """The line stopped delivering until resumed (R-H1)."""

        reason: str

        def apply(self, line: SubscriptionLine) -> None:
            line.status = LineStatus.PAUSED

    def pause(self, reason: str, now: datetime) -> None:
        self._require(LineStatus.ACTIVE, command="pause")
        self._trigger(self.Paused, now, reason=clean_text("reason", reason))

    class Resumed(Event):
        """A paused line delivers again; its billing date has not moved."""

        def apply(self, line: SubscriptionLine) -> None:
            line.status = LineStatus.ACTIVE

    def resume(self, now: datetime) -> None:
        self._require(LineStatus.PAUSED, command="resume")
        self._trigger(self.Resumed, now)

    class Cancelled(Event):
        """The line ended (R-H1); R-H6: how a returned cash, cheque or other payment ends."""

        reason: str
        cancelled_on: date

        def apply(self, line: SubscriptionLine) -> None:
            line.status = LineStatus.CANCELLED
            line.starts_on = None
            line.transfer = None
            line.consents = ()
            line.transfer_effective_on = None

    def cancel(self, reason: str, on: date, now: datetime) -> None:
        if self.status is LineStatus.CANCELLED:
            raise InvalidTransition(
                "The line is already cancelled.", status=self.status.value, command="cancel"
            )
        self._trigger(self.Cancelled, now, reason=clean_text("reason", reason), cancelled_on=on)

    # --- locations, payer, autopay, card -------------------------------------------------

    class LocationAdded(Event):
        """A location joined the line; per-location billing counts it from the next invoice."""

        location: Location

        def apply(self, line: SubscriptionLine) -> None:
            line.locations[str(self.location.location_id)] = self.location

    def add_location(self, location: Location, now: datetime) -> None:
        self._require_open("add a location")
        if str(location.location_id) in self.locations:
            return
        if len(self.locations) >= LOCATIONS_MAX:
            raise InvalidValue(f"A line has at most {LOCATIONS_MAX} locations.", field="locations")
        [cleaned] = _locations([location])
        self._trigger(self.LocationAdded, now, location=cleaned)

    class LocationRemoved(Event):
        """A location left the line."""

        location_id: UUID

        def apply(self, line: SubscriptionLine) -> None:
            del line.locations[str(self.location_id)]

    def remove_location(self, location_id: UUID, now: datetime) -> None:
        self._require_open("remove a location")
        if str(location_id) not in self.locations:
            raise LocationNotFound.of(location_id, where=" on this line")
        if self.unit is PriceUnit.PER_LOCATION and len(self.locations) == 1:
            raise InvalidValue(
                "A per-location line keeps at least one location; cancel it instead.",
                field="locations",
            )
        self._trigger(self.LocationRemoved, now, location_id=location_id)

    class RemovedFromUnifiedBilling(Event):
        """The partner stopped paying for this line: the client pays from now on (R-O4)."""

        def apply(self, line: SubscriptionLine) -> None:
            line.unified_billing = False
            line.payer = Payer.CLIENT

    def remove_from_unified_billing(self, now: datetime) -> None:
        if not self.unified_billing:
            return
        self._require_open("leave unified billing")
        self._trigger(self.RemovedFromUnifiedBilling, now)

    class AutopaySet(Event):
        """Renewals are paid automatically from this source, or not at all when None (R-C6)."""

        source: PaymentSource | None

        def apply(self, line: SubscriptionLine) -> None:
            line.autopay = self.source

    def set_autopay(self, source: PaymentSource | None, now: datetime) -> None:
        self._require_open("set autopay")
        if source is not None and source not in AUTOPAY_SOURCES:
            raise InvalidValue(f"Autopay cannot use {source.value}.", field="source")
        if source == self.autopay:
            return
        self._trigger(self.AutopaySet, now, source=source)

    class CardAttached(Event):
        """The card future payments of this line are charged to; the billing date stays (R-H5)."""

        card: CardToken

        def apply(self, line: SubscriptionLine) -> None:
            line.card = self.card

    def attach_card(self, card: CardToken, today: date, now: datetime) -> None:
        """Put a card on the line (a client-paid plan's card); never moves the billing date."""
        self._require_open("attach a card")
        refuse_expired(card, today)
        self._trigger(self.CardAttached, now, card=card)

    # --- invoices of this line (R-E3) ------------------------------------------------------

    class Invoiced(Event):
        """An invoice was issued that charges this line."""

        invoice_id: UUID
        invoice_number: str
        amount: Money
        period: BillingPeriod | None

        def apply(self, line: SubscriptionLine) -> None:
            line.open_invoices[str(self.invoice_id)] = self.invoice_number
            if self.period is None:
                return
            line.invoiced_periods = (
                *line.invoiced_periods,
                (self.period, self.invoice_id, self.invoice_number),
            )
            if line.invoiced_through is None or self.period.end > line.invoiced_through:
                line.invoiced_through = self.period.end

    def record_invoice(
        self,
        invoice_id: UUID,
        invoice_number: str,
        amount: Money,
        period: BillingPeriod | None,
        now: datetime,
    ) -> None:
        if str(invoice_id) in self.open_invoices:
            return
        self._trigger(
            self.Invoiced,
            now,
            invoice_id=invoice_id,
            invoice_number=invoice_number,
            amount=amount,
            period=period,
        )

    class InvoiceSettled(Event):
        """An invoice of this line was paid in full or credited."""

        invoice_id: UUID

        def apply(self, line: SubscriptionLine) -> None:
            line.open_invoices.pop(str(self.invoice_id), None)

    def record_invoice_settled(self, invoice_id: UUID, now: datetime) -> None:
        if str(invoice_id) in self.open_invoices:
            self._trigger(self.InvoiceSettled, now, invoice_id=invoice_id)

    class InvoiceVoided(Event):
        """An invoice of this line was voided (R-X6)."""

        invoice_id: UUID

        def apply(self, line: SubscriptionLine) -> None:
            line.open_invoices.pop(str(self.invoice_id), None)

    def record_invoice_voided(self, invoice_id: UUID, now: datetime) -> None:
        if str(invoice_id) in self.open_invoices:
            self._trigger(self.InvoiceVoided, now, invoice_id=invoice_id)

    # --- pay per lead (R-L1, R-L2) ---------------------------------------------------------

    class LeadRecorded(Event):
        """A lead was delivered, charged at its price; no subscription fee (R-L1), priced by
        the catalogue version `price_version` and the override `price_override` (issue 13)."""

        lead_id: UUID
        price: Money
        delivered_on: date
        price_version: str | None
        """The catalogue version in force on the delivery day (`lead@USD/v2`); None if the
        request set the price, or the product is not in the catalogue."""
        price_override: str | None
        """The partner's override applied (`10 % off`), or `PRICE_SET_ON_LEAD`."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 recorded no price version: the lead is invoiced as unversioned."""
            state["price_version"] = None
            state["price_override"] = None

        def apply(self, line: SubscriptionLine) -> None:
            lead_id = str(self.lead_id)
            line.unbilled_leads[lead_id] = self.price
            line.unbilled_delivered[lead_id] = self.delivered_on
            if self.price_version is not None:
                line.unbilled_versions[lead_id] = self.price_version
            if self.price_override is not None:
                line.unbilled_overrides[lead_id] = self.price_override

    def record_lead(
        self,
        lead_id: UUID,
        price: Money,
        delivered_on: date,
        now: datetime,
        *,
        price_version: str | None = None,
        price_override: str | None = None,
    ) -> None:
        """Record a delivered lead at its price, naming the catalogue version and override
        that made it; it waits for the next lead invoice."""
        if self.unit is not PriceUnit.PER_LEAD:
            raise InvalidValue("This line is not pay per lead.", field="line")
        self._require_active("record a lead")
        if not price.is_positive():
            raise AmountNotPositive("A lead has a price above zero.", field="price")
        if price.currency != self.unit_price.currency:
            raise CurrencyMismatch(
                f"This line bills in {self.unit_price.currency}.",
                expected=self.unit_price.currency,
                got=price.currency,
            )
        if str(lead_id) in self.unbilled_leads or str(lead_id) in self.invoiced_leads:
            return
        # Unbilled leads become one invoice (R-L2): their sum is bounded as an invoice's is.
        require_at_most(
            self.unbilled_total + price, INVOICE_TOTAL_MAX_MINOR, "price", "Unbilled leads"
        )
        self._trigger(
            self.LeadRecorded,
            now,
            lead_id=lead_id,
            price=price,
            delivered_on=delivered_on,
            price_version=price_version,
            price_override=price_override,
        )

    @property
    def unbilled_since(self) -> date | None:
        """When the oldest lead still to invoice was delivered."""
        return min(self.unbilled_delivered.values(), default=None)

    def leads_delivered_before(self, day: date) -> list[UUID]:
        """The unbilled leads delivered before `day`: what a Friday run on `day` bills (R-L2)."""
        return [
            UUID(lead_id)
            for lead_id, delivered_on in self.unbilled_delivered.items()
            if delivered_on < day
        ]

    @property
    def unbilled_total(self) -> Money:
        """What the delivered, not yet invoiced, leads add up to (R-L2)."""
        return total(list(self.unbilled_leads.values()), self.unit_price.currency)

    def lead_threshold_reached(self, policy: BillingPolicy) -> bool:
        """Whether unbilled leads have reached the amount invoiced at once (R-L2: $200)."""
        threshold = policy.lead_threshold(self.unit_price.currency)
        return threshold is not None and self.unbilled_total >= threshold

    class LeadsInvoiced(Event):
        """Unbilled leads were put on an invoice (R-L2)."""

        invoice_id: UUID
        lead_ids: tuple[UUID, ...]
        amount: Money

        def apply(self, line: SubscriptionLine) -> None:
            for lead_id in self.lead_ids:
                line.unbilled_leads.pop(str(lead_id), None)
                line.unbilled_delivered.pop(str(lead_id), None)
                line.unbilled_versions.pop(str(lead_id), None)
                line.unbilled_overrides.pop(str(lead_id), None)
                line.invoiced_leads[str(lead_id)] = self.invoice_id

    def record_leads_invoiced(
        self, invoice_id: UUID, lead_ids: Iterable[UUID], now: datetime
    ) -> None:
        ids = tuple(lead_id for lead_id in lead_ids if str(lead_id) in self.unbilled_leads)
        if not ids:
            return
        amount = total(
            [self.unbilled_leads[str(lead_id)] for lead_id in ids], self.unit_price.currency
        )
        self._trigger(self.LeadsInvoiced, now, invoice_id=invoice_id, lead_ids=ids, amount=amount)

    # --- reseller transfer (R-E1 … R-E4) -------------------------------------------------

    class TransferRequested(Event):
        """A move of this subscription to another reseller was requested (R-E1, R-E2)."""

        request: TransferRequest
        requested_on: date

        def apply(self, line: SubscriptionLine) -> None:
            line.transfer = self.request
            line.consents = ()
            line.transfer_effective_on = None

    def request_transfer(
        self,
        request: TransferRequest,
        consents: Sequence[TransferParty],
        today: date,
        policy: BillingPolicy,
        now: datetime,
    ) -> None:
        """Ask to move the line to a new reseller; every invoice must be settled first (R-E3)."""
        self._require_active("transfer")
        if self.transfer is not None:
            raise TransferNotAllowed("A transfer is already requested.", reason="already_requested")
        checked = request.validated()
        if checked.current_reseller_id != self.partner_id:
            raise TransferNotAllowed(
                "The request names another reseller as the current one.",
                reason="not_current_reseller",
            )
        self._require_settled()
        self._trigger(self.TransferRequested, now, request=checked, requested_on=today)
        for party in dict.fromkeys(consents):
            self.give_consent(party, today, policy, now)

    class TransferConsentGiven(Event):
        """The client or one of the resellers consented to the transfer (R-E2)."""

        party: TransferParty

        def apply(self, line: SubscriptionLine) -> None:
            line.consents = tuple(p for p in ALL_PARTIES if p in (*line.consents, self.party))

    class TransferScheduled(Event):
        """The request is complete; the transfer takes effect on this date (R-E4)."""

        effective_on: date

        def apply(self, line: SubscriptionLine) -> None:
            line.transfer_effective_on = self.effective_on

    def give_consent(
        self, party: TransferParty, today: date, policy: BillingPolicy, now: datetime
    ) -> None:
        """Record one party's consent; with all three, schedule the transfer (R-E2, R-E4)."""
        if self.transfer is None:
            raise TransferNotAllowed("No transfer is requested.", reason="not_requested")
        if party in self.consents:
            return
        self._trigger(self.TransferConsentGiven, now, party=party)
        if len(self.consents) == len(ALL_PARTIES):
            earliest = add_business_days(today, policy.transfer_business_days, policy.holidays)
            effective_on = max(self.transfer.preferred_date, earliest)
            self._trigger(self.TransferScheduled, now, effective_on=effective_on)

    def consents_permitted(self, actor: Actor) -> frozenset[TransferParty]:
        """Whose consent `actor` may give (R-E2): every party's (the vendor); the client's and
        its own (the line's reseller); its own only (the reseller a pending transfer goes to,
        though the line is not yet its own). Any other partner is told the line does not
        exist."""
        if actor.partner_id is None:
            return frozenset(ALL_PARTIES)
        if actor.partner_id == self.partner_id:
            return frozenset({TransferParty.CLIENT, TransferParty.CURRENT_RESELLER})
        if self.transfer is not None and actor.partner_id == self.transfer.new_reseller_id:
            return frozenset({TransferParty.NEW_RESELLER})
        raise LineNotFound.of(self.id)

    def require_consents_permitted(self, actor: Actor, parties: Iterable[TransferParty]) -> None:
        """Refuse consents `actor` may not give (see `consents_permitted`)."""
        permitted = self.consents_permitted(actor)
        refused = [party.value for party in parties if party not in permitted]
        if refused:
            raise ConsentNotPermitted(
                f"A partner may not consent as {', '.join(refused)}: each reseller gives "
                "its own consent, and the client's is recorded by its current reseller.",
                parties=refused,
            )

    @property
    def missing_consents(self) -> tuple[TransferParty, ...]:
        return tuple(party for party in ALL_PARTIES if party not in self.consents)

    class Transferred(Event):
        """The line now belongs to the new reseller (R-E1); later events carry its id."""

        new_partner_id: UUID
        effective_on: date
        term: Term

        def apply(self, line: SubscriptionLine) -> None:
            line.partner_id = self.new_partner_id
            line.term = self.term
            line.unified_billing = False
            line.autopay = None
            line.transfer = None
            line.consents = ()
            line.transfer_effective_on = None

    def complete_transfer(self, today: date, now: datetime) -> UUID:
        """Move the line on its effective date, if every invoice is still settled (R-E3, R-E4)."""
        if self.transfer is None:
            raise TransferNotAllowed("No transfer is requested.", reason="not_requested")
        if self.transfer_effective_on is None:
            raise ConsentMissing(
                "The transfer still lacks consent.",
                missing=[party.value for party in self.missing_consents],
            )
        if today < self.transfer_effective_on:
            raise TransferNotAllowed(
                f"The transfer takes effect on {self.transfer_effective_on}.",
                reason="not_yet",
                effective_on=self.transfer_effective_on.isoformat(),
            )
        self._require_settled()
        new_partner_id = self.transfer.new_reseller_id
        self._trigger(
            self.Transferred,
            now,
            new_partner_id=new_partner_id,
            effective_on=self.transfer_effective_on,
            term=self.transfer.billing,
        )
        return new_partner_id

    # --- helpers -----------------------------------------------------------------------

    def _trigger(self, event_class: type[Any], now: datetime, **fields: Any) -> None:
        self.trigger_event(event_class, partner_id=self.partner_id, timestamp=now, **fields)

    def _require(self, status: LineStatus, *, command: str) -> None:
        if self.status is not status:
            raise InvalidTransition(
                f"Cannot {command} a {self.status.value} line.",
                status=self.status.value,
                command=command,
            )

    def _require_active(self, command: str) -> None:
        if self.status is not LineStatus.ACTIVE:
            raise LineNotActive(
                f"Cannot {command}: the line is {self.status.value}.", status=self.status.value
            )

    def _require_open(self, command: str) -> None:
        if self.status is LineStatus.CANCELLED:
            raise InvalidTransition(
                f"Cannot {command}: the line is cancelled.",
                status=self.status.value,
                command=command,
            )

    def _require_settled(self) -> None:
        if self.open_invoices:
            numbers = sorted(self.open_invoices.values())
            raise InvoiceNotSettled(
                f"Settle every invoice first: {', '.join(numbers)}.", unsettled=numbers
            )


def _locations(locations: Iterable[Location]) -> tuple[Location, ...]:
    cleaned: dict[UUID, Location] = {}
    for location in locations:
        cleaned[location.location_id] = Location(
            location_id=location.location_id, name=clean_text("location", location.name)
        )
    if len(cleaned) > LOCATIONS_MAX:
        raise InvalidValue(f"A line has at most {LOCATIONS_MAX} locations.", field="locations")
    return tuple(cleaned.values())
