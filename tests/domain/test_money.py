"""Money (R-X1): integer minor units in one ISO 4217 currency, every rounding explicit.

Covers R-X1: the `Money` value and its refusals, `Money.of` from major units, `apply_rate` (the
one place rates meet money) with each rounding mode, and `allocate` by largest remainder, with
hypothesis properties for what must hold for every amount.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from decimal import (
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    localcontext,
)
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import CurrencyMismatch, InvalidValue, Refusal, UnknownCurrency
from domain.money import Money, allocate, apply_rate, minor_unit_exponent, total

MODES = [
    ROUND_HALF_UP,
    ROUND_HALF_EVEN,
    ROUND_HALF_DOWN,
    ROUND_UP,
    ROUND_DOWN,
    ROUND_CEILING,
    ROUND_FLOOR,
]
AMOUNTS = st.integers(-(10**40), 10**40)
CURRENCIES = st.sampled_from(["USD", "JPY", "KWD", "EUR"])
RATES = st.one_of(
    st.fractions(min_value=-100, max_value=100, max_denominator=10**9),
    st.decimals(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False),
)
WEIGHTS = st.lists(
    st.one_of(
        st.integers(0, 10**12),
        st.decimals(min_value=0, max_value=10**12, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=12,
).filter(lambda weights: sum(Fraction(weight) for weight in weights) > 0)


def usd(minor: int) -> Money:
    return Money(minor, "USD")


# --- the value -----------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [12.0, True, False, Decimal(12), Fraction(12), "12"])
def test_r_x1_money_refuses_amounts_that_are_not_whole_minor_units(amount: Any) -> None:
    with pytest.raises(TypeError, match="amount_minor must be an int"):
        Money(amount, "USD")


@pytest.mark.parametrize("currency", ["XXX", "usd", "US", "", "DEM"])
def test_r_x1_money_refuses_unknown_currencies(currency: str) -> None:
    with pytest.raises(UnknownCurrency) as refused:
        Money(100, currency)
    assert refused.value.code == "currency_unknown"
    assert refused.value.refusal is Refusal.INVALID
    assert refused.value.fields == {"currency": currency}


def test_r_x1_minor_units_follow_iso_4217() -> None:
    assert [minor_unit_exponent(code) for code in ("USD", "JPY", "KWD")] == [2, 0, 3]


@pytest.mark.parametrize(
    "combine",
    [operator.add, operator.sub, operator.lt, operator.le, operator.gt, operator.ge],
    ids=["add", "sub", "lt", "le", "gt", "ge"],
)
def test_r_x1_mixed_currencies_are_refused(combine: Callable[[Money, Money], object]) -> None:
    with pytest.raises(CurrencyMismatch) as refused:
        combine(usd(100), Money(100, "EUR"))
    assert refused.value.code == "currency_mismatch"
    assert refused.value.fields == {"expected": "USD", "got": "EUR"}


def test_r_x1_money_combines_with_money_only() -> None:
    with pytest.raises(TypeError):
        usd(100) + 1  # type: ignore[operator]
    with pytest.raises(CurrencyMismatch):
        total([usd(1), Money(1, "EUR")], "USD")


def test_r_x1_arithmetic_and_comparisons_in_one_currency() -> None:
    assert usd(1234) + usd(66) == usd(1300)
    assert usd(1234) - usd(2000) == usd(-766)
    assert -usd(5) == usd(-5)
    assert abs(usd(-5)) == usd(5)
    assert usd(1) < usd(2) <= usd(2) < usd(3)
    assert usd(3) > usd(2) >= usd(2)
    assert not usd(2) < usd(2)
    assert Money.zero("JPY") == Money(0, "JPY")
    assert (usd(0).is_zero(), usd(1).is_positive(), usd(-1).is_negative()) == (True, True, True)
    assert (usd(0).is_positive(), usd(0).is_negative()) == (False, False)
    assert total([usd(1), usd(2), usd(3)], "USD") == usd(6)
    assert total([], "KWD") == Money(0, "KWD")
    assert usd(1) != Money(1, "EUR")


def test_r_x1_money_multiplies_by_whole_quantities_only() -> None:
    assert usd(4999) * 3 == 3 * usd(4999) == usd(14997)
    assert usd(4999) * -2 == usd(-9998)
    for quantity in (1.5, Decimal(2), Fraction(2), True):
        with pytest.raises(TypeError, match="apply_rate"):
            usd(100) * quantity  # type: ignore[operator]


# --- from major units ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("major", "currency", "minor"),
    [
        ("12.34", "USD", 1234),
        ("12.340", "USD", 1234),
        ("-0.01", "USD", -1),
        ("1e3", "USD", 100_000),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        (Decimal("7.50"), "EUR", 750),
        ("1234567890123456789012345678.9", "USD", 123456789012345678901234567890),
    ],
)
def test_r_x1_money_of_reads_major_units_exactly(major: str, currency: str, minor: int) -> None:
    assert Money.of(major, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("major", "currency"),
    [
        ("12.345", "USD"),
        ("1.5", "JPY"),
        ("0.0001", "KWD"),
        ("1e-999999999", "USD"),
        ("12.3x", "USD"),
        ("", "USD"),
        ("NaN", "USD"),
        ("Infinity", "USD"),
        ("1e999999999", "USD"),
    ],
)
def test_r_x1_money_of_refuses_what_the_currency_cannot_hold(major: str, currency: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        Money.of(major, currency)
    assert refused.value.fields == {"field": "amount"}


def test_r_x1_money_of_refuses_floats_and_unknown_currencies() -> None:
    with pytest.raises(TypeError):
        Money.of(0.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(UnknownCurrency):
        Money.of("1.00", "XXX")


def test_r_x1_major_units_are_exact_for_display() -> None:
    assert usd(1234).major == Decimal("12.34")
    assert str(Money(-1234, "KWD")) == "-1.234 KWD"
    assert str(Money(5, "JPY")) == "5 JPY"
    assert Money(123456789012345678901234567890, "USD").major == Decimal(
        "1234567890123456789012345678.90"
    )


# --- rates meet money in one place ---------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "expected"),
    [(1, 1), (-1, -1), (3, 2), (-3, -2), (5, 3), (-5, -3), (4, 2), (0, 0)],
)
def test_r_x1_apply_rate_rounds_half_up_away_from_zero_by_default(
    minor: int, expected: int
) -> None:
    assert apply_rate(usd(minor), Decimal("0.5")) == usd(expected)


@pytest.mark.parametrize(
    ("mode", "results"),
    [
        # exact values: 2.5, -2.5, 1.5, -1.5, 1.4, -1.4, 1.6, -1.6
        (ROUND_HALF_UP, [3, -3, 2, -2, 1, -1, 2, -2]),
        (ROUND_HALF_EVEN, [2, -2, 2, -2, 1, -1, 2, -2]),
        (ROUND_HALF_DOWN, [2, -2, 1, -1, 1, -1, 2, -2]),
        (ROUND_UP, [3, -3, 2, -2, 2, -2, 2, -2]),
        (ROUND_DOWN, [2, -2, 1, -1, 1, -1, 1, -1]),
        (ROUND_CEILING, [3, -2, 2, -1, 2, -1, 2, -1]),
        (ROUND_FLOOR, [2, -3, 1, -2, 1, -2, 1, -2]),
    ],
)
def test_r_x1_apply_rate_rounds_with_the_mode_asked_for(mode: str, results: list[int]) -> None:
    amounts = [25, -25, 15, -15, 14, -14, 16, -16]
    rounded = [apply_rate(usd(a), Decimal("0.1"), mode).amount_minor for a in amounts]
    assert rounded == results


def test_r_x1_fraction_rates_are_exact_where_a_decimal_would_be_rounded() -> None:
    # 1005 cents for 1 day of 30 is exactly 33.5 cents: half-up makes it 34.
    assert apply_rate(usd(1005), Fraction(1, 30)) == usd(34)
    # 1/30 as a 28-digit Decimal is a hair under 1/30, and the product under 33.5.
    assert apply_rate(usd(1005), Decimal(1) / Decimal(30)) == usd(33)
    assert apply_rate(Money(1005, "JPY"), Fraction(1, 30), ROUND_DOWN) == Money(33, "JPY")


def test_r_x1_apply_rate_refuses_floats_and_unknown_modes() -> None:
    with pytest.raises(TypeError, match="never float"):
        apply_rate(usd(100), 0.03)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported rounding"):
        apply_rate(usd(101), Decimal("0.5"), ROUND_05UP)
    assert apply_rate(Money(999, "KWD"), Decimal("0.03")).currency == "KWD"


# --- allocation by largest remainder -------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (200, [1, 1, 1], [67, 67, 66]),
        (10, [1, 2], [3, 7]),
        (101, [0, 1, 1], [0, 51, 50]),
        (5, [0, 0, 3], [0, 0, 5]),
        (-100, [1, 1, 1], [-34, -33, -33]),
        (-10, [1, 2], [-3, -7]),
        (101, [Decimal("0.5"), Decimal("0.25"), Decimal("0.25")], [51, 25, 25]),
        (0, [3, 1], [0, 0]),
        (7, [1], [7]),
    ],
)
def test_r_x1_allocate_by_largest_remainder_ties_to_earlier_parts(
    minor: int, weights: list[int | Decimal], parts: list[int]
) -> None:
    assert allocate(usd(minor), weights) == [usd(part) for part in parts]


@pytest.mark.parametrize("weights", [[], [1, -1], [0, 0], [Decimal(0)]])
def test_r_x1_allocate_refuses_weights_with_no_share(weights: list[int | Decimal]) -> None:
    with pytest.raises(ValueError, match="weight"):
        allocate(usd(100), weights)


def test_r_x1_allocate_refuses_float_weights() -> None:
    with pytest.raises(TypeError, match="float"):
        allocate(usd(100), [0.5, 0.5])  # type: ignore[list-item]


@given(amount=AMOUNTS, currency=CURRENCIES, weights=WEIGHTS)
def test_r_x1_allocate_never_loses_or_invents_a_minor_unit(
    amount: int, currency: str, weights: list[int | Decimal]
) -> None:
    parts = allocate(Money(amount, currency), weights)
    assert len(parts) == len(weights)
    assert {part.currency for part in parts} == {currency}
    assert sum(part.amount_minor for part in parts) == amount


@given(amount=AMOUNTS, weights=WEIGHTS)
def test_r_x1_each_part_is_within_one_minor_unit_of_its_exact_share(
    amount: int, weights: list[int | Decimal]
) -> None:
    weight_sum = sum(Fraction(weight) for weight in weights)
    parts = allocate(usd(amount), weights)
    for part, weight in zip(parts, weights, strict=True):
        share = Fraction(amount) * Fraction(weight) / weight_sum
        assert abs(part.amount_minor - share) < 1


@given(amount=AMOUNTS, weights=WEIGHTS)
def test_r_x1_left_over_units_go_to_the_largest_remainders_earlier_first(
    amount: int, weights: list[int | Decimal]
) -> None:
    weight_sum = sum(Fraction(weight) for weight in weights)
    shares = [abs(amount) * Fraction(weight) / weight_sum for weight in weights]
    parts = [abs(part.amount_minor) for part in allocate(usd(amount), weights)]
    rank = [(-(share - math.floor(share)), i) for i, share in enumerate(shares)]
    bumped = {i for i, share in enumerate(shares) if parts[i] > math.floor(share)}
    kept = set(range(len(shares))) - bumped
    assert all(rank[i] < rank[j] for i in bumped for j in kept)


@given(amount=AMOUNTS, weights=WEIGHTS)
def test_r_x1_allocate_is_deterministic(amount: int, weights: list[int | Decimal]) -> None:
    assert allocate(usd(amount), weights) == allocate(usd(amount), list(weights))


@given(amount=AMOUNTS, rate=RATES)
def test_r_x1_apply_rate_is_within_half_a_minor_unit_of_the_exact_product(
    amount: int, rate: Decimal | Fraction
) -> None:
    exact = Fraction(amount) * Fraction(rate)
    result = apply_rate(usd(amount), rate).amount_minor
    assert abs(result - exact) <= Fraction(1, 2)
    if abs(result - exact) == Fraction(1, 2):
        assert abs(result) > abs(exact)  # half-up: away from zero


@given(
    amount=st.integers(-(10**15), 10**15),
    rate=st.decimals(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False),
    mode=st.sampled_from(MODES),
)
def test_r_x1_apply_rate_agrees_with_decimal_rounding(
    amount: int, rate: Decimal, mode: str
) -> None:
    with localcontext(prec=200):
        expected = (Decimal(amount) * rate).quantize(Decimal(1), rounding=mode)
    assert apply_rate(usd(amount), rate, mode).amount_minor == int(expected)


@given(a=AMOUNTS, b=AMOUNTS, rate=RATES.filter(lambda rate: rate >= 0), mode=st.sampled_from(MODES))
def test_r_x1_apply_rate_is_monotone_in_the_amount(
    a: int, b: int, rate: Decimal | Fraction, mode: str
) -> None:
    low, high = sorted((a, b))
    assert apply_rate(usd(low), rate, mode) <= apply_rate(usd(high), rate, mode)


@given(a=AMOUNTS, b=AMOUNTS, c=AMOUNTS, currency=CURRENCIES)
def test_r_x1_addition_is_associative_with_zero_as_identity(
    a: int, b: int, c: int, currency: str
) -> None:
    x, y, z = (Money(n, currency) for n in (a, b, c))
    assert (x + y) + z == x + (y + z)
    assert x + Money.zero(currency) == Money.zero(currency) + x == x
    assert x - x == Money.zero(currency)
