"""The plain model tests/ledger/test_stateful.py holds the ledger to: what the rules say
(DESIGN.md), written down from them and not from the code, as integers in minor units."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from domain.calendar import Term
from domain.payment_methods import PaymentSource

# --- What the rules say, written down here (the catalogue's prices, the policy's rates) ---

PRICES_MINOR = {
    ("email-signatures", "USD"): 2500,
    ("email-signatures", "EUR"): 2200,
    ("messaging-line", "USD"): 2000,
    ("messaging-line", "EUR"): 1800,
}
"""ledger/catalogue.toml: per line per month."""
CARD_FEE_PERCENT = 3  # R-O7
CASHBACK_PERCENT = 10  # R-C4
TWELVE_MONTH_DISCOUNT_PERCENT = 10  # R-C3, on TWELVE_MONTHS only
TERM_MONTHS = {Term.MONTHLY: 1, Term.ANNUAL: 12, Term.TWELVE_MONTHS: 12}
RENEWAL_AHEAD_DAYS = 366
"""A line is renewed ahead for a period that starts at most this many days from today."""
VENDOR_CREDIT_MAX_MINOR = 10_000_00
"""The most one vendor bonus credit grants (USD and EUR have two decimals)."""
GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000002"
PARTNERS_MAX, CLIENTS_MAX, LINES_MAX = 4, 6, 8
"""Few enough that rules keep meeting the same invoices again (paid, refunded, credited)."""
PORTIONS = ("all", "half", "one", "one_too_many")
CLOCK_STOPS_ON = date(2027, 1, 1)
"""Month ends come until then: a year of renewals, months of 28 to 31 days."""
OTHER_CURRENCY = {"USD": "EUR", "EUR": "USD"}
DOCUMENTED_SOURCES = frozenset(
    {PaymentSource.CARD, PaymentSource.BANK_TRANSFER, PaymentSource.COMPANY_BALANCE}
)
"""Money a closing document covers: through a bank, a card or the balance (R-C7)."""


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for amounts that are not negative."""
    return (2 * numerator + denominator) // (2 * denominator)


def percent_of(amount_minor: int, percent: int) -> int:
    return half_up(amount_minor * percent, 100)


def price_of(product: str, currency: str, term: Term) -> int:
    """One whole period of a line: the monthly price times the months, less R-C3's discount."""
    gross = PRICES_MINOR[(product, currency)] * TERM_MONTHS[term]
    if term is Term.TWELVE_MONTHS:
        return gross - percent_of(gross, TWELVE_MONTH_DISCOUNT_PERCENT)
    return gross


def anchored(start: date, months: int, anchor_day: int) -> date:
    """The anchor day `months` after `start`'s month, clamped to the month's end (R-O2)."""
    year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
    return date(year, month0 + 1, min(anchor_day, calendar.monthrange(year, month0 + 1)[1]))


def business_days_after(day: date, count: int) -> date:
    """The `count`-th Monday-to-Friday after `day` (no holidays in the default policy)."""
    while count:
        day += timedelta(days=1)
        count -= day.weekday() < 5
    return day


def amount_for(portion: str, whole: int) -> int:
    return {"all": whole, "half": max(1, whole // 2), "one": 1, "one_too_many": whole + 1}[portion]


# --- The model ----------------------------------------------------------------------------


@dataclass
class ModelPartner:
    currency: str
    card_declines: bool
    balance: int = 0
    bonus: int = 0
    clients: list[UUID] = field(default_factory=list)


@dataclass
class ModelLine:
    partner_id: UUID
    client_id: UUID
    client_pays: bool
    product: str
    term: Term
    anchor_day: int
    current_start: date
    next_start: date
    active: bool = True
    transfer: tuple[UUID, date, Term] | None = None
    """A transfer with every consent: to whom, on which day, billed how (R-E1, R-E4)."""

    @property
    def payer_id(self) -> UUID:
        return self.client_id if self.client_pays else self.partner_id

    def renewed(self) -> None:
        """On to the next period, one term long, ending on the anchor day (R-O2)."""
        self.current_start = self.next_start
        self.next_start = anchored(self.next_start, TERM_MONTHS[self.term], self.anchor_day)


@dataclass
class ModelPayment:
    source: PaymentSource
    amount: int
    fee: int = 0
    refunded: int = 0
    cashback_earned: int = 0
    cashback_left: int = 0


@dataclass
class ModelInvoice:
    line_id: UUID
    partner_id: UUID
    payer_id: UUID
    client_pays: bool
    currency: str
    total: int
    credited: int = 0
    status: str = "open"
    payments: dict[UUID, ModelPayment] = field(default_factory=dict)
    documented: bool = False

    @property
    def paid(self) -> int:
        return sum(payment.amount for payment in self.payments.values())

    @property
    def refunded(self) -> int:
        return sum(payment.refunded for payment in self.payments.values())

    @property
    def outstanding(self) -> int:
        return 0 if self.status == "void" else self.total - self.credited - self.paid

    @property
    def receivable(self) -> int:
        """What it adds to its payer's receivable: a void invoice was reversed whole."""
        return 0 if self.status == "void" else self.total - self.credited - self.paid

    def settle_if_paid(self) -> None:
        if self.status == "open" and self.outstanding <= 0:
            self.status = "settled"


def taken_back_after(payment: ModelPayment, refunded: int) -> int:
    """R-C4: the cashback a payment's refunds take back once `refunded` of it went back: in
    proportion to the price refunded (the card fee goes back first and earned nothing)."""
    price = payment.amount - payment.fee
    price_refunded = min(max(refunded - payment.fee, 0), price)
    return half_up(payment.cashback_earned * price_refunded, price)
