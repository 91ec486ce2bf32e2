"""The catalogue as history (issue 13): products, price versions with effective dates, which
version a line's period pays, and partners' overrides. Pure: no database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import BillingPeriod, Term, add_months
from domain.catalogue import (
    UNIT_PRICE_MAX_MINOR,
    CatalogueProduct,
    PriceChangeScope,
    PriceVersion,
    earliest_change,
    price_for_period,
    product_id,
)
from domain.errors import (
    AmountTooLarge,
    BillingError,
    InvalidValue,
    PriceChangeTooSoon,
    PriceNotLater,
    ProductRetired,
    UnknownProduct,
)
from domain.money import Money
from domain.price_overrides import PartnerPrices, PriceOverride, override_for
from domain.pricing import BillingPolicy, PriceUnit, Product, subscription_lines
from domain.values import InvoiceLineKind
from tests.support import START

NOW = START
TOMORROW_ANYWHERE = earliest_change(NOW)
NEXT = PriceChangeScope.NEXT_RENEWAL
NEVER = PriceChangeScope.NEVER


def product(unit: PriceUnit = PriceUnit.PER_LINE) -> CatalogueProduct:
    return CatalogueProduct.create(
        code="plan", names={"en": "Plan", "pl": "Plan"}, unit=unit, now=NOW
    )


def priced(*amounts: tuple[int, str, date, PriceChangeScope]) -> CatalogueProduct:
    sold = product()
    for minor, currency, effective_from, scope in amounts:
        sold.add_price(
            amount=Money(minor, currency),
            effective_from=effective_from,
            applies_to_existing=scope,
            now=NOW,
        )
    return sold


def test_a_product_id_is_derived_from_its_code() -> None:
    assert product().id == product_id("plan") != product_id("plan-2")


@pytest.mark.parametrize(
    ("code", "names"),
    [
        ("Plan", {"en": "Plan"}),
        ("-plan", {"en": "Plan"}),
        ("plan", {"es": "Plan"}),
        ("plan", {"en": "Plan", "de": "Plan"}),
        ("plan", {"en": "  "}),
    ],
)
def test_a_product_needs_a_clean_code_and_an_english_name(code: str, names: dict[str, str]) -> None:
    with pytest.raises(InvalidValue):
        CatalogueProduct.create(code=code, names=names, unit=PriceUnit.PER_LINE, now=NOW)


def test_r_x1_prices_in_currencies_with_0_and_3_decimals_are_versioned_per_currency() -> None:
    sold = priced(
        (1_200, "JPY", date(2000, 1, 1), NEXT),
        (1_250, "KWD", date(2000, 1, 1), NEXT),
        (1_500, "JPY", TOMORROW_ANYWHERE, NEXT),
    )
    jpy = sold.prices["JPY"]
    assert [(p.version, p.amount) for p in jpy] == [
        (1, Money(1_200, "JPY")),
        (2, Money(1_500, "JPY")),
    ]
    assert jpy[1].label == "plan@JPY/v2"
    assert sold.prices["KWD"][0].amount == Money.of("1.250", "KWD")


def test_r_x6_r_x7_a_price_change_is_later_than_the_last_and_not_before_tomorrow_anywhere() -> None:
    sold = priced((5_000, "USD", date(2000, 1, 1), NEXT))
    with pytest.raises(PriceChangeTooSoon) as too_soon:
        sold.add_price(
            amount=Money(6_000, "USD"),
            effective_from=TOMORROW_ANYWHERE - timedelta(days=1),
            applies_to_existing=NEXT,
            now=NOW,
        )
    assert too_soon.value.fields == {"earliest": TOMORROW_ANYWHERE.isoformat()}
    sold.add_price(
        amount=Money(6_000, "USD"),
        effective_from=date(2026, 3, 1),
        applies_to_existing=NEXT,
        now=NOW,
    )
    with pytest.raises(PriceNotLater):
        sold.add_price(
            amount=Money(7_000, "USD"),
            effective_from=date(2026, 3, 1),
            applies_to_existing=NEXT,
            now=NOW,
        )
    assert len(sold.collect_events()) == 3  # created and two prices: the refusals wrote nothing


def test_a_price_is_positive_and_bounded() -> None:
    sold = product()
    with pytest.raises(AmountTooLarge):
        sold.add_price(
            amount=Money(UNIT_PRICE_MAX_MINOR + 1, "USD"),
            effective_from=date(2000, 1, 1),
            applies_to_existing=NEXT,
            now=NOW,
        )
    assert sold.prices == {}


def test_a_retired_product_is_not_sold_and_a_currency_without_a_price_is_unknown() -> None:
    sold = priced((5_000, "USD", date(2000, 1, 1), NEXT))
    assert sold.sell("USD", NOW.date()) == (
        Product("plan", "Plan", PriceUnit.PER_LINE, Money(5_000, "USD")),
        sold.prices["USD"][0],
    )
    with pytest.raises(UnknownProduct):
        sold.sell("EUR", NOW.date())
    sold.retire(NOW.date(), NOW)
    with pytest.raises(ProductRetired):
        sold.sell("USD", NOW.date())
    with pytest.raises(ProductRetired):
        sold.retire(NOW.date(), NOW)


def test_r_c1_a_scheduled_change_applies_from_the_first_period_starting_on_or_after_it() -> None:
    sold = priced((5_000, "USD", date(2000, 1, 1), NEXT), (6_000, "USD", date(2026, 3, 1), NEXT))
    assert sold.price_for_line("USD", 1, date(2026, 2, 28)).amount == Money(5_000, "USD")  # type: ignore[union-attr]
    assert sold.price_for_line("USD", 1, date(2026, 3, 1)).amount == Money(6_000, "USD")  # type: ignore[union-attr]


def test_a_grandfathered_change_reaches_only_lines_sold_at_it_or_later() -> None:
    sold = priced((5_000, "USD", date(2000, 1, 1), NEXT), (6_000, "USD", date(2026, 3, 1), NEVER))
    old_line = sold.price_for_line("USD", 1, date(2026, 6, 1))
    new_line = sold.price_for_line("USD", 2, date(2026, 6, 1))
    assert (old_line, new_line) == (sold.prices["USD"][0], sold.prices["USD"][1])


def test_a_partner_override_is_a_unit_price_or_a_percentage_off_from_its_date() -> None:
    partner = uuid4()
    prices = PartnerPrices.open(partner, NOW)
    off = PriceOverride("plan", "USD", date(2026, 3, 1), None, Decimal("0.15"))
    prices.set_override(off, NOW)
    own = PriceOverride("plan", "USD", date(2026, 5, 1), Money(3_999, "USD"), None)
    prices.set_override(own, NOW)
    assert prices.in_force("plan", "USD", date(2026, 2, 28)) is None
    assert prices.in_force("plan", "USD", date(2026, 3, 1)) == off
    assert off.applied(Money(5_000, "USD")) == Money(4_250, "USD")
    assert off.label == "15 % off"
    assert own.applied(Money(5_000, "USD")) == Money(3_999, "USD")
    assert own.label == "partner price 39.99 USD"
    ended = PriceOverride("plan", "USD", date(2026, 7, 1), None, Decimal(0))
    prices.set_override(ended, NOW)
    assert override_for(prices.overrides, "plan", "USD", date(2026, 7, 1)) is None


@pytest.mark.parametrize(
    "override",
    [
        PriceOverride("plan", "USD", date(2026, 3, 1), Money(1, "USD"), Decimal("0.1")),
        PriceOverride("plan", "USD", date(2026, 3, 1), None, Decimal(1)),
        PriceOverride("plan", "USD", date(2026, 3, 1), Money(0, "USD"), None),
        PriceOverride("plan", "USD", TOMORROW_ANYWHERE - timedelta(days=1), None, Decimal("0.1")),
    ],
)
def test_a_malformed_or_too_early_override_is_refused_and_writes_nothing(
    override: PriceOverride,
) -> None:
    prices = PartnerPrices.open(uuid4(), NOW)
    prices.collect_events()
    with pytest.raises(BillingError) as refused:
        prices.set_override(override, NOW)
    assert refused.value.code in {
        "invalid_value",
        "amount_not_positive",
        "price_change_too_soon",
    }
    assert prices.collect_events() == []


# --- The property: no invoice line uses a price outside its effective window ----------------

FIRST_DAY = date(2026, 1, 1)
CHANGES = st.lists(
    st.tuples(st.integers(1, 120), st.integers(1, 99_999), st.sampled_from([NEXT, NEVER])),
    max_size=6,
)
"""Later prices: days after the one before, an amount, and whom the change reaches."""


def history(
    first_minor: int, changes: list[tuple[int, int, PriceChangeScope]]
) -> list[PriceVersion]:
    versions = [PriceVersion("plan", "USD", 1, Money(first_minor, "USD"), FIRST_DAY, NEXT)]
    for gap, minor, scope in changes:
        day = versions[-1].effective_from + timedelta(days=gap)
        versions.append(
            PriceVersion("plan", "USD", len(versions) + 1, Money(minor, "USD"), day, scope)
        )
    return versions


def window(versions: list[PriceVersion], used: PriceVersion, sold: int) -> tuple[date, date]:
    """The days `used` is the price of a line sold at `sold`: from its date until the next
    version that reaches the line; empty if `used` never reaches it (a grandfathered change
    made after the line was sold)."""
    reaching = [v for v in versions if v.version <= sold or v.applies_to_existing is NEXT]
    if used not in reaching:
        return used.effective_from, used.effective_from
    later = [v.effective_from for v in reaching if v.effective_from > used.effective_from]
    return used.effective_from, min(later, default=date.max)


@settings(max_examples=60, deadline=None)
@given(
    first_minor=st.integers(1, 99_999),
    changes=CHANGES,
    sold_index=st.integers(0, 6),
    months=st.integers(1, 30),
    term=st.sampled_from([Term.MONTHLY, Term.TWELVE_MONTHS]),
)
def test_r_x7_no_invoice_line_uses_a_price_outside_its_effective_window(
    first_minor: int,
    changes: list[tuple[int, int, PriceChangeScope]],
    sold_index: int,
    months: int,
    term: Term,
) -> None:
    """Every period of a line, priced as the ledger prices it (the version in force on the
    period's first day, then `subscription_lines`), bills a product line at a version whose
    window holds the period's first day, at that version's price (issue 13). 60 examples of
    up to 30 periods each: pure arithmetic, well under a second."""
    versions = history(first_minor, changes)
    sold = versions[min(sold_index, len(versions) - 1)]
    line_id = UUID(int=7)
    start = add_months(sold.effective_from.replace(day=1), 1, 1)  # sold, then started
    for _ in range(months // term.months + 1):
        period = BillingPeriod(start, add_months(start, term.months, 1))
        used = price_for_period(versions, sold.version, period.start) or sold
        lines = subscription_lines(
            Product("plan", "Plan", PriceUnit.PER_LINE, used.amount),
            line_id,
            [],
            term,
            period,
            1,
            BillingPolicy(),
        )
        [item] = [item for item in lines if item.kind is InvoiceLineKind.PRODUCT]
        opens, closes = window(versions, used, sold.version)
        assert opens <= period.start < closes
        assert item.amount == used.amount * term.months
        start = period.end
