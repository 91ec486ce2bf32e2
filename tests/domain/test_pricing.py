"""Pricing: invoice lines per location (R-O3), the 12-month discount (R-C3), the card fee (R-O7),
cashback (R-C4), no subscription fee for leads (R-L1), the lead threshold (R-L2), and the policy
and catalogue that hold the rates (R-X1: every rounding half-up, in `apply_rate`)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import Anchor, BillingPeriod, Term, add_months, first_period
from domain.errors import InvalidValue, UnknownProduct
from domain.money import Money, total
from domain.pricing import (
    BillingPolicy,
    Catalogue,
    PriceUnit,
    Product,
    card_fee_line,
    cashback_clawback,
    cashback_for,
    subscription_lines,
)
from domain.values import InvoiceLine, InvoiceLineKind, Location

SEATS = Product("seats", "Online ordering", PriceUnit.PER_LOCATION, Money(49_99, "USD"))
PLAN = Product("plan", "Business plan", PriceUnit.PER_LINE, Money(120_00, "USD"))
LEADS = Product("roof-lead", "Roofing lead", PriceUnit.PER_LEAD, Money(35_00, "USD"))
LINE_ID = UUID("00000000-0000-4000-8000-000000000001")
DOWNTOWN = Location(UUID("00000000-0000-4000-8000-00000000000a"), "Downtown")
AIRPORT = Location(UUID("00000000-0000-4000-8000-00000000000b"), "Airport")
FEBRUARY = BillingPeriod(date(2026, 2, 1), date(2026, 3, 1))
YEAR = BillingPeriod(date(2026, 2, 1), date(2027, 2, 1))
POLICY = BillingPolicy()


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def lines_for(
    product: Product,
    term: Term,
    period: BillingPeriod,
    locations: tuple[Location, ...] = (DOWNTOWN, AIRPORT),
    anchor_day: int = 1,
    policy: BillingPolicy = POLICY,
) -> list[InvoiceLine]:
    return subscription_lines(product, LINE_ID, locations, term, period, anchor_day, policy)


def amounts(lines: list[InvoiceLine]) -> list[tuple[InvoiceLineKind, int]]:
    return [(line.kind, line.amount.amount_minor) for line in lines]


# --- one line per location (R-O3) ----------------------------------------------------------


def test_r_o3_one_product_line_per_location_naming_the_location() -> None:
    """Each line records its product and location, and no sentence (issue 17)."""
    lines = lines_for(SEATS, Term.MONTHLY, FEBRUARY)
    assert lines == [
        InvoiceLine(
            kind=InvoiceLineKind.PRODUCT,
            amount=usd(49_99),
            product_code="seats",
            line_id=LINE_ID,
            location=location,
            period=FEBRUARY,
        )
        for location in (DOWNTOWN, AIRPORT)
    ]


def test_r_o3_a_per_line_product_bills_one_line_whatever_its_locations() -> None:
    [line] = lines_for(PLAN, Term.MONTHLY, FEBRUARY)
    assert line == InvoiceLine(
        kind=InvoiceLineKind.PRODUCT,
        amount=usd(120_00),
        product_code="plan",
        line_id=LINE_ID,
        period=FEBRUARY,
    )


def test_r_o3_a_per_location_product_needs_a_location() -> None:
    with pytest.raises(InvalidValue) as refused:
        lines_for(SEATS, Term.MONTHLY, FEBRUARY, locations=())
    assert refused.value.fields == {"field": "locations"}


def test_r_l1_pay_per_lead_products_have_no_subscription_fee() -> None:
    with pytest.raises(InvalidValue) as refused:
        lines_for(LEADS, Term.MONTHLY, FEBRUARY)
    assert refused.value.fields == {"field": "product"}


# --- the duration discount (R-C3) ----------------------------------------------------------


def test_r_c3_twelve_months_bill_twelve_times_with_one_discount_line() -> None:
    lines = lines_for(SEATS, Term.TWELVE_MONTHS, YEAR)
    # 49.99 x 12 = 599.88 per location; 10 % of 1,199.76 is 119.976, half-up 119.98.
    assert amounts(lines) == [
        (InvoiceLineKind.PRODUCT, 599_88),
        (InvoiceLineKind.PRODUCT, 599_88),
        (InvoiceLineKind.DISCOUNT, -119_98),
    ]
    discount = lines[-1]
    assert (discount.line_id, discount.period, discount.location) == (LINE_ID, YEAR, None)
    # What it is, never a sentence: documents word it in their language (issue 17).
    assert (discount.rate, discount.term_months, discount.description) == (Decimal("0.1"), 12, None)
    assert total([line.amount for line in lines], "USD") == usd(1079_78)


@pytest.mark.parametrize(("term", "period"), [(Term.MONTHLY, FEBRUARY), (Term.ANNUAL, YEAR)])
def test_r_c3_no_discount_for_monthly_or_annual_under_the_default_policy(
    term: Term, period: BillingPeriod
) -> None:
    kinds = {line.kind for line in lines_for(SEATS, term, period)}
    assert kinds == {InvoiceLineKind.PRODUCT}


def test_r_c3_a_policy_may_discount_annual_terms_too() -> None:
    policy = BillingPolicy(duration_discounts={Term.ANNUAL: Decimal("0.05")})
    lines = lines_for(SEATS, Term.ANNUAL, YEAR, policy=policy)
    # 5 % of 2 x 599.88 = 59.988, half-up 59.99.
    assert amounts(lines)[-1] == (InvoiceLineKind.DISCOUNT, -59_99)
    assert [line.kind for line in lines].count(InvoiceLineKind.DISCOUNT) == 1
    twelve = lines_for(SEATS, Term.TWELVE_MONTHS, YEAR, policy=policy)
    assert InvoiceLineKind.DISCOUNT not in {line.kind for line in twelve}


def test_r_c3_the_discount_rounds_half_up_at_an_exact_half() -> None:
    policy = BillingPolicy(duration_discounts={Term.TWELVE_MONTHS: Decimal("0.125")})
    lines = lines_for(SEATS, Term.TWELVE_MONTHS, YEAR, locations=(DOWNTOWN,), policy=policy)
    # 12.5 % of 599.88 is exactly 74.985.
    assert amounts(lines) == [(InvoiceLineKind.PRODUCT, 599_88), (InvoiceLineKind.DISCOUNT, -74_99)]


# --- a short first period is prorated by days (R-O2, R-X1) -------------------------------


def test_r_x1_a_short_calendar_month_is_prorated_by_exact_days() -> None:
    period = first_period(date(2026, 1, 15), Term.MONTHLY, Anchor.CALENDAR)
    assert period == BillingPeriod(date(2026, 1, 15), date(2026, 2, 1))
    # 17 of January's 31 days: 49.99 x 17 / 31 = 27.4139, so 27.41.
    assert amounts(lines_for(SEATS, Term.MONTHLY, period)) == [(InvoiceLineKind.PRODUCT, 27_41)] * 2


def test_r_x1_proration_at_an_exact_half_cent_rounds_up() -> None:
    cheap = Product("tag", "Tag", PriceUnit.PER_LINE, usd(1_01))
    period = BillingPeriod(date(2026, 4, 16), date(2026, 5, 1))
    # 15 of April's 30 days of 1.01 is exactly 0.505.
    assert amounts(lines_for(cheap, Term.MONTHLY, period)) == [(InvoiceLineKind.PRODUCT, 51)]


def test_r_c3_a_short_first_period_of_a_year_is_prorated_against_that_year() -> None:
    period = first_period(date(2026, 1, 15), Term.TWELVE_MONTHS, Anchor.CALENDAR)
    # 17 days of the 365 from 2025-02-01: 599.88 x 17 / 365 = 27.9396, so 27.94 a location;
    # 10 % of 55.88 is 5.588, so 5.59.
    assert amounts(lines_for(SEATS, Term.TWELVE_MONTHS, period)) == [
        (InvoiceLineKind.PRODUCT, 27_94),
        (InvoiceLineKind.PRODUCT, 27_94),
        (InvoiceLineKind.DISCOUNT, -5_59),
    ]


def test_r_x1_a_clamped_anniversary_stub_is_prorated_against_its_clamped_month() -> None:
    period = BillingPeriod(date(2026, 2, 10), date(2026, 2, 28))
    # Billing on the 31st: the month ending 2026-02-28 began 2026-01-31 (28 days); 18 of them.
    lines = lines_for(SEATS, Term.MONTHLY, period, locations=(DOWNTOWN,), anchor_day=31)
    assert amounts(lines) == [(InvoiceLineKind.PRODUCT, 32_14)]
    whole = BillingPeriod(date(2026, 1, 31), date(2026, 2, 28))
    assert amounts(lines_for(SEATS, Term.MONTHLY, whole, (DOWNTOWN,), anchor_day=31)) == [
        (InvoiceLineKind.PRODUCT, 49_99)
    ]


def test_r_x1_a_period_longer_than_its_term_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="never longer"):
        lines_for(SEATS, Term.MONTHLY, BillingPeriod(date(2026, 1, 15), date(2026, 3, 1)))


@given(
    price_minor=st.integers(1, 10**9),
    locations=st.integers(1, 50),
    term=st.sampled_from(Term),
    start=st.dates(date(2000, 1, 1), date(2100, 12, 31)),
    rate=st.decimals(min_value=0, max_value=Decimal("0.9999"), places=4),
)
def test_r_c3_total_is_the_gross_less_the_discount_on_the_gross(
    price_minor: int, locations: int, term: Term, start: date, rate: Decimal
) -> None:
    product = Product("seats", "Seats", PriceUnit.PER_LOCATION, usd(price_minor))
    places = tuple(Location(UUID(int=n), f"Store {n}") for n in range(locations))
    period = BillingPeriod(start, add_months(start, term.months, start.day))
    policy = BillingPolicy(duration_discounts={term: rate})
    lines = lines_for(product, term, period, places, start.day, policy)
    gross = price_minor * locations * term.months
    with localcontext(prec=60):
        discount = int((gross * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert total([line.amount for line in lines], "USD") == usd(gross - discount)
    assert len(lines) == locations + (1 if discount else 0)


# --- the card fee (R-O7) and cashback (R-C4) -----------------------------------------------


def test_r_o7_card_fee_is_three_percent_as_its_own_line() -> None:
    line = card_fee_line(usd(1079_78), POLICY)
    assert line is not None
    # 3 % of 1,079.78 is 32.3934.
    assert (line.kind, line.amount) == (InvoiceLineKind.CARD_FEE, usd(32_39))
    assert (line.rate, line.description) == (Decimal("0.03"), None)
    assert (line.product_code, line.line_id, line.location, line.period) == (None,) * 4


@pytest.mark.parametrize(
    ("charged", "fee"),
    [(100_00, 3_00), (50, 2), (17, 1), (16, None), (0, None), (-100_00, None)],
)
def test_r_o7_card_fee_rounds_half_up_and_is_none_when_it_rounds_to_zero(
    charged: int, fee: int | None
) -> None:
    line = card_fee_line(usd(charged), POLICY)
    assert (None if line is None else line.amount) == (None if fee is None else usd(fee))


def test_r_o7_card_fee_follows_the_policy_and_the_currency() -> None:
    line = card_fee_line(Money(10_000, "JPY"), BillingPolicy(card_fee_rate=Decimal("0.029")))
    assert line is not None
    assert (line.kind, line.amount) == (InvoiceLineKind.CARD_FEE, Money(290, "JPY"))


def test_r_c4_cashback_is_the_policy_rate_of_what_the_client_paid() -> None:
    assert cashback_for(usd(100_05), POLICY) == usd(10_01)  # 10.005, half-up
    assert cashback_for(usd(100_00), BillingPolicy(cashback_rate=Decimal("0.05"))) == usd(5_00)
    assert cashback_for(usd(100_00), BillingPolicy(cashback_rate=Decimal(0))) == usd(0)


def test_r_c4_r_o7_refunding_only_the_card_fee_takes_no_cashback_back() -> None:
    # 2,575 paid: 2,500 of price, which earned 250, and a 75 card fee, which earned nothing.
    paid, fee = usd(2_575), usd(75)
    earned = cashback_for(paid - fee, POLICY)
    assert earned == usd(250)
    assert cashback_clawback(paid, fee, usd(0), usd(75), earned) == usd(0)
    assert cashback_clawback(paid, fee, usd(75), usd(2_500), earned) == usd(250)
    # The price first, in part: 925 of the 2,500 price refunded takes back 92.5, half-up.
    assert cashback_clawback(paid, fee, usd(0), usd(1_000), earned) == usd(93)
    assert cashback_clawback(paid, fee, usd(1_000), usd(1_575), earned) == usd(157)


@given(
    price_minor=st.integers(1, 10**9),
    fee_minor=st.integers(0, 10**7),
    cuts=st.lists(st.integers(1, 10**6), min_size=1, max_size=8),
)
def test_r_c4_refunds_take_back_exactly_what_a_payment_earned_never_more(
    price_minor: int, fee_minor: int, cuts: list[int]
) -> None:
    paid, fee = usd(price_minor + fee_minor), usd(fee_minor)
    refunds, left = [], paid.amount_minor
    for cut in cuts:  # some refunds, then what is left, so the payment ends fully refunded
        refunds.append(min(cut, left))
        left -= refunds[-1]
    refunds.append(left)
    refunded, taken, earned = usd(0), [], cashback_for(paid - fee, POLICY)
    for amount in refunds:
        taken.append(cashback_clawback(paid, fee, refunded, usd(amount), earned))
        refunded = refunded + usd(amount)
    assert all(not part.is_negative() for part in taken)
    assert total(taken, "USD") == cashback_for(paid - fee, POLICY)


# --- the policy and the catalogue ----------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"card_fee_rate": Decimal(1)},
        {"card_fee_rate": Decimal("-0.01")},
        {"card_fee_rate": 0.03},
        {"cashback_rate": Decimal("1.5")},
        {"cashback_rate": 0},
        {"duration_discounts": {Term.TWELVE_MONTHS: Decimal(1)}},
        {"duration_discounts": {Term.TWELVE_MONTHS: 0.1}},
    ],
)
def test_r_c3_r_c4_r_o7_policy_refuses_rates_outside_zero_to_one(overrides: Any) -> None:
    with pytest.raises(InvalidValue) as refused:
        BillingPolicy(**overrides)
    assert refused.value.fields == {"field": "rate"}


@pytest.mark.parametrize(
    "name",
    [
        "invoice_autopay_lead_days",
        "grace_period_days",
        "transfer_business_days",
        "payment_terms_days",
    ],
)
def test_r_x1_policy_refuses_negative_periods(name: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        BillingPolicy(**{name: -1})  # type: ignore[arg-type]
    assert refused.value.fields == {"field": "days"}


def test_r_x1_policy_accepts_rates_from_zero_up_to_one() -> None:
    policy = BillingPolicy(card_fee_rate=Decimal(0), cashback_rate=Decimal("0.9999"))
    assert card_fee_line(usd(100_00), policy) is None
    assert POLICY.card_fee_rate == Decimal("0.03")
    assert POLICY.duration_discounts == {Term.TWELVE_MONTHS: Decimal("0.10")}


def test_r_l2_lead_threshold_is_200_dollars_and_none_without_one() -> None:
    assert POLICY.lead_threshold("USD") == usd(200_00)
    assert POLICY.lead_threshold("EUR") is None
    euros = BillingPolicy(lead_threshold_minor={"EUR": 150_00})
    assert euros.lead_threshold("EUR") == Money(150_00, "EUR")
    assert euros.lead_threshold("USD") is None


def test_r_c1_catalogue_finds_products_and_refuses_unknown_ones() -> None:
    catalogue = Catalogue.of(SEATS, PLAN, LEADS)
    assert catalogue.product("plan") is PLAN
    with pytest.raises(UnknownProduct) as refused:
        catalogue.product("nope")
    assert refused.value.code == "product_unknown"
    assert refused.value.fields == {"product": "nope"}
