"""Pricing: the catalogue, the policy's rates, and the invoice lines they produce.

Rates are configuration passed in (`BillingPolicy`), never constants inside the rules; the
defaults are what the source articles say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from uuid import UUID

from domain.calendar import BillingPeriod, Term, add_months
from domain.errors import InvalidValue, UnknownProduct
from domain.money import Money, apply_rate, total
from domain.values import InvoiceLine, InvoiceLineKind, Location

CARD_FEE_RATE = Decimal("0.03")
"""R-O7: Stripe's 3 % card processing fee, passed on to the partner."""
TWELVE_MONTH_DISCOUNT = Decimal("0.10")
"""R-C3: the duration discount for a 12-month purchase (the article names no figure)."""
CASHBACK_RATE = Decimal("0.10")
"""R-C4: the partner's cashback when a client pays its own line (the article names no figure)."""
LEAD_THRESHOLD_USD_MINOR = 200_00
"""R-L2: unbilled leads are invoiced at once when they reach $200."""
INVOICE_AUTOPAY_LEAD_DAYS = 5
"""R-C6: with invoice autopay the invoice is issued 5 days before the paid period ends."""
GRACE_PERIOD_DAYS = 7
"""R-L4: one week of grace after a missed payment, before the account pauses."""
TRANSFER_BUSINESS_DAYS = 2
"""R-E4: a transfer takes effect no sooner than 1-2 business days after the request is complete."""
PAYMENT_TERMS_DAYS = 14
"""Days from issue to due date of an invoice paid by bank transfer or offline (net 14)."""
RATE_MAX = Decimal(1)


class PriceUnit(StrEnum):
    """What a product's unit price is per."""

    PER_LOCATION = "per_location"
    """Per active location per month (R-O3)."""
    PER_LINE = "per_line"
    """Per line (a fixed-price plan) per month (R-C1)."""
    PER_LEAD = "per_lead"
    """Per delivered lead, no subscription fee (R-L1)."""


@dataclass(frozen=True, slots=True)
class Product:
    """Something the vendor sells, with its unit price."""

    code: str
    name: str
    unit: PriceUnit
    unit_price: Money
    """Per month for PER_LOCATION and PER_LINE; per lead for PER_LEAD."""


@dataclass(frozen=True)
class Catalogue:
    """The products on sale, by code and currency (one price per currency)."""

    products: Mapping[tuple[str, str], Product]

    @classmethod
    def of(cls, *products: Product) -> Catalogue:
        return cls(
            MappingProxyType(
                {(product.code, product.unit_price.currency): product for product in products}
            )
        )

    def product(self, code: str, currency: str | None = None) -> Product:
        """The product of this code priced in `currency` (or in its only currency)."""
        matches = [
            product
            for (product_code, product_currency), product in self.products.items()
            if product_code == code and currency in (None, product_currency)
        ]
        if len(matches) != 1:
            fields: dict[str, object] = {"product": code}
            if currency is not None:
                fields["currency"] = currency
            where = f" in {currency}" if currency else ""
            raise UnknownProduct(f"No product {code!r}{where} in the catalogue.", **fields)
        return matches[0]

    @property
    def codes(self) -> list[str]:
        return sorted({code for code, _ in self.products})


def _default_discounts() -> Mapping[Term, Decimal]:
    return MappingProxyType({Term.TWELVE_MONTHS: TWELVE_MONTH_DISCOUNT})


def _default_thresholds() -> Mapping[str, int]:
    return MappingProxyType({"USD": LEAD_THRESHOLD_USD_MINOR})


@dataclass(frozen=True)
class BillingPolicy:
    """The vendor's rates and periods: passed to the rules, configurable per deployment."""

    card_fee_rate: Decimal = CARD_FEE_RATE
    cashback_rate: Decimal = CASHBACK_RATE
    duration_discounts: Mapping[Term, Decimal] = field(default_factory=_default_discounts)
    lead_threshold_minor: Mapping[str, int] = field(default_factory=_default_thresholds)
    """Per currency; a currency without one is invoiced on Fridays only (R-L2)."""
    invoice_autopay_lead_days: int = INVOICE_AUTOPAY_LEAD_DAYS
    grace_period_days: int = GRACE_PERIOD_DAYS
    transfer_business_days: int = TRANSFER_BUSINESS_DAYS
    payment_terms_days: int = PAYMENT_TERMS_DAYS
    holidays: frozenset[date] = frozenset()
    """Dates that are not business days, besides weekends."""
    version: int = 0
    """Which version of the policy these values are (domain/billing_policy.py): 0 is the
    deployment's own, in force until a scheduled change begins."""

    def __post_init__(self) -> None:
        rates = [self.card_fee_rate, self.cashback_rate, *self.duration_discounts.values()]
        for rate in rates:
            if not isinstance(rate, Decimal) or not Decimal(0) <= rate < RATE_MAX:
                raise InvalidValue(
                    f"A rate must be a Decimal in [0, 1), not {rate!r}.", field="rate"
                )
        days = (
            self.invoice_autopay_lead_days,
            self.grace_period_days,
            self.transfer_business_days,
            self.payment_terms_days,
        )
        if any(day < 0 for day in days):
            raise InvalidValue("Policy periods must not be negative.", field="days")

    def lead_threshold(self, currency: str) -> Money | None:
        """The unbilled-leads amount that triggers an invoice at once, if any (R-L2)."""
        minor = self.lead_threshold_minor.get(currency)
        return None if minor is None else Money(minor, currency)


def percent(rate: Decimal) -> str:
    """A rate as a percentage without trailing zeros: 0.03 -> "3", 0.125 -> "12.5"."""
    return format((rate * 100).normalize(), "f")


def subscription_lines(
    product: Product,
    line_id: UUID,
    locations: Sequence[Location],
    term: Term,
    period: BillingPeriod,
    anchor_day: int,
    policy: BillingPolicy,
) -> list[InvoiceLine]:
    """Invoice lines for one line's period: one per location (R-O3), and its discount (R-C3).

    A period shorter than the term (the first one, up to the billing day) is prorated by days
    against the whole term that ends where it ends, exactly, rounded once.
    """
    if product.unit is PriceUnit.PER_LEAD:
        raise InvalidValue("Pay-per-lead lines have no subscription fee (R-L1).", field="product")
    per_unit = period_price(product.unit_price, term, period, anchor_day)
    if product.unit is PriceUnit.PER_LOCATION:
        if not locations:
            raise InvalidValue("A per-location product needs a location.", field="locations")
        lines = [
            InvoiceLine(
                kind=InvoiceLineKind.PRODUCT,
                amount=per_unit,
                product_code=product.code,
                line_id=line_id,
                location=location,
                period=period,
            )
            for location in locations
        ]
    else:
        lines = [
            InvoiceLine(
                kind=InvoiceLineKind.PRODUCT,
                amount=per_unit,
                product_code=product.code,
                line_id=line_id,
                period=period,
            )
        ]
    discount = duration_discount_line(lines, term, policy, line_id, period)
    return lines if discount is None else [*lines, discount]


def period_price(unit_price: Money, term: Term, period: BillingPeriod, anchor_day: int) -> Money:
    """What one unit (a location, a plan) costs for one period at a monthly price: the price
    for the term, and for a period shorter than the term (the first one, up to the billing
    day) prorated by days against the whole term that ends where it ends, rounded once."""
    per_unit = unit_price * term.months
    whole = BillingPeriod(add_months(period.end, -term.months, anchor_day), period.end)
    if period.start < whole.start:
        raise ValueError("a billing period is never longer than its term")
    if period != whole:
        per_unit = apply_rate(per_unit, Fraction(period.days, whole.days))
    return per_unit


def duration_discount_line(
    product_lines: Sequence[InvoiceLine],
    term: Term,
    policy: BillingPolicy,
    line_id: UUID,
    period: BillingPeriod,
) -> InvoiceLine | None:
    """The duration discount on one line's product lines for one period, as its own line
    (R-C3); none when the policy gives this term no discount."""
    rate = policy.duration_discounts.get(term)
    if not rate or not product_lines:
        return None
    currency = product_lines[0].amount.currency
    discount = apply_rate(total([line.amount for line in product_lines], currency), rate)
    if not discount.is_positive():
        return None
    return InvoiceLine(
        kind=InvoiceLineKind.DISCOUNT,
        amount=-discount,
        line_id=line_id,
        period=period,
        rate=rate.normalize(),
        term_months=term.months,
    )


def card_fee_line(charged: Money, policy: BillingPolicy) -> InvoiceLine | None:
    """The card processing fee on an amount charged to a card, as its own line (R-O7)."""
    fee = apply_rate(charged, policy.card_fee_rate)
    if not fee.is_positive():
        return None
    return InvoiceLine(
        kind=InvoiceLineKind.CARD_FEE,
        amount=fee,
        rate=policy.card_fee_rate.normalize(),
    )


def cashback_for(paid: Money, policy: BillingPolicy) -> Money:
    """The partner's cashback on what a client paid for its own line (R-C4)."""
    return apply_rate(paid, policy.cashback_rate)


def cashback_clawback(
    paid: Money, fee: Money, refunded_before: Money, refund: Money, earned: Money
) -> Money:
    """The cashback a refund of a client's payment takes back (R-C4).

    Only the price earned cashback, never the card fee (R-O7). A refund gives the fee back
    first, then the price; what is taken back is the cashback in proportion to the part of
    the price refunded so far, less what earlier refunds took. Counted over all the refunds
    of the payment, so together they take back exactly what it earned, never more, rounded
    once each in `apply_rate` (R-X1). `earned` is what the payment earned when it was made,
    at the rate of the policy then in force, whatever the rate is on the refund's day.
    """
    price = paid - fee
    if not price.is_positive() or not earned.is_positive():
        return Money.zero(paid.currency)

    def taken_back_after(refunded: Money) -> Money:
        price_refunded = max(refunded - fee, Money.zero(paid.currency))
        share = Fraction(min(price_refunded, price).amount_minor, price.amount_minor)
        return apply_rate(earned, share)

    return taken_back_after(refunded_before + refund) - taken_back_after(refunded_before)


DISCOUNT_SENTENCE = re.compile(r"(\d+)-month discount \((\d+(?:\.\d+)?) %\)")
FEE_SENTENCE = re.compile(r"Card processing fee \((\d+(?:\.\d+)?) %\)")
"""The sentences `duration_discount_line` and `card_fee_line` wrote before lines recorded
their rate and term (issue 17)."""


def with_recorded_facts(line: InvoiceLine) -> InvoiceLine:
    """A discount or card-fee line recorded before issue 17, with the rate and term its
    sentence states: the sentence was made from exactly these facts (upcasters' use)."""
    if line.rate is not None or line.description is None:
        return line
    if line.kind is InvoiceLineKind.DISCOUNT and (
        found := DISCOUNT_SENTENCE.fullmatch(line.description)
    ):
        rate = (Decimal(found[2]) / 100).normalize()
        return replace(line, rate=rate, term_months=int(found[1]))
    if line.kind is InvoiceLineKind.CARD_FEE and (
        found := FEE_SENTENCE.fullmatch(line.description)
    ):
        return replace(line, rate=(Decimal(found[1]) / 100).normalize())
    return line
