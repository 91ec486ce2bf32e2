"""Money (R-X1): integer minor units with an ISO 4217 currency; rates meet money in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import (
    MAX_PREC,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    InvalidOperation,
    Overflow,
)
from fractions import Fraction

from domain.currencies import MINOR_UNIT_EXPONENTS, WITHDRAWN
from domain.errors import (
    AmountTooLarge,
    CurrencyMismatch,
    CurrencyWithdrawn,
    InvalidValue,
    UnknownCurrency,
)

# --- Bounds on amounts (TigerBeetle-style: a limit on everything, with its reason) -----------
#
# Every amount the ledger records and every running sum an aggregate keeps is bounded here,
# and refused (`amount_too_large`, 422) before any event is triggered, so no accepted command
# can produce a figure a read model cannot hold. docs/architecture.md ("Bounds on amounts")
# says the same at more length.

AMOUNT_MAX_MINOR = 10**15
"""The most any single amount may be, in minor units of its currency: a top-up, a payment, a
refund, a credit note, an invoice line, a bonus credit, a budget. A quadrillion minor units is
10 trillion USD or EUR, 1 trillion KWD (3 decimals), 1 quadrillion JPY or KRW (0 decimals,
about 6.5 trillion USD), 1 quadrillion VND (about 40 billion USD): more than any real business
bills in one go in any currency, and a typo of a few extra zeros is caught well before it.
It is 2^63 / 9,223: a bigint (PostgreSQL's, the read models' amount columns) holds the sum of
9,223 amounts of the largest size, and any one amount, any invoice, any balance with room to
spare. Sums over unboundedly many events (an account's lifetime debits, the trial balance
over every partner) are summed as numeric instead (projections/balances.py)."""

BALANCE_MAX_MINOR = AMOUNT_MAX_MINOR
"""The most a partner's company balance may hold (and the most its announced, unconfirmed
top-ups may add up to, R-C2): prepaid money is spent on invoices, each at most one amount, so
a balance above one amount's worth is money no invoice could use; it stays one bigint."""

WALLET_MAX_MINOR = AMOUNT_MAX_MINOR
"""The most a partner's bonus wallet may hold (R-C5), for the reason the company balance is
bounded: bonuses pay invoices, each at most one amount."""

INVOICE_TOTAL_MAX_MINOR = AMOUNT_MAX_MINOR // 2
"""The most an invoice may total when issued (and the most a line's unbilled leads may add
up to, R-L2). Half an amount: a card fee below 100 % (domain/pricing.py RATE_MAX) is added
to the invoice when a card pays it (R-O7), so the total with its fee, and the card charge
that pays it, stay one amount within AMOUNT_MAX_MINOR. Each of its lines is at most the same,
so a payment, a credit note or a refund (never more than the invoice's total) is too."""

BUDGET_MAX_MINOR = AMOUNT_MAX_MINOR
"""The most a monthly lead budget may be (R-L3). What a period spends stops growing once the
budget is reached, so it stays below the budget plus one lead: under two amounts."""


def require_at_most(amount: Money, limit_minor: int, field: str, what: str) -> None:
    """Refuse (`amount_too_large`) an amount, or a sum it would grow to, above its bound."""
    if abs(amount.amount_minor) > limit_minor:
        raise AmountTooLarge(
            f"{what} may be at most {Money(limit_minor, amount.currency)}, not {amount}.",
            field=field,
            limit_minor=limit_minor,
        )


def minor_unit_exponent(currency: str) -> int:
    """Return the number of decimal places of the currency's minor unit (USD 2, JPY 0, KWD 3).

    The exponent is ISO 4217's, frozen in domain/currencies.py: a stored amount never changes
    meaning. Withdrawn currencies (BGN) keep theirs, so old events still read.
    """
    try:
        return MINOR_UNIT_EXPONENTS[currency]
    except KeyError:
        raise UnknownCurrency(
            f"{currency!r} is not an ISO 4217 currency.", currency=currency
        ) from None


def _exact() -> Context:
    """A decimal context that never rounds: shifting a decimal point is exact at any length.

    The exponent limits stay the default (about a million digits), so an absurd exponent is an
    overflow, not a huge integer.
    """
    return Context(prec=MAX_PREC, traps=[InvalidOperation, Overflow])


def check_currency(currency: str) -> str:
    """Return the currency code if amounts may be in it (listed or withdrawn), or refuse it."""
    minor_unit_exponent(currency)
    return currency


def check_new_account_currency(currency: str) -> str:
    """Return the currency code if a new account may be opened in it: listed in ISO 4217 today."""
    check_currency(currency)
    if currency in WITHDRAWN:
        raise CurrencyWithdrawn(
            f"{currency} is no longer an ISO 4217 currency (withdrawn from the list published "
            f"{WITHDRAWN[currency]}); open the account in its successor.",
            currency=currency,
        )
    return currency


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units of one currency: 1234 USD is $12.34."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount_minor) is not int:
            raise TypeError(f"amount_minor must be an int, not {type(self.amount_minor).__name__}")
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def of(cls, major: str | Decimal, currency: str) -> Money:
        """Money from a decimal amount in major units ("12.34" USD); refuses extra digits."""
        if not isinstance(major, str | Decimal):
            raise TypeError(f"major amounts are str or Decimal, not {type(major).__name__}")
        try:
            value = Decimal(major)
        except InvalidOperation:
            raise InvalidValue(f"{major!r} is not an amount.", field="amount") from None
        exponent = minor_unit_exponent(currency)
        if not value.is_finite():
            raise InvalidValue(f"{major!r} is not an amount.", field="amount")
        try:
            scaled = value.scaleb(exponent, _exact())
        except Overflow:
            raise InvalidValue(f"{major!r} is too large an amount.", field="amount") from None
        if scaled != scaled.to_integral_value(context=_exact()):
            raise InvalidValue(
                f"{major} has more decimals than {currency} allows ({exponent}).", field="amount"
            )
        return cls(int(scaled), currency)

    @property
    def major(self) -> Decimal:
        """The amount in major units, exactly (for display and documents only)."""
        return Decimal(self.amount_minor).scaleb(-minor_unit_exponent(self.currency), _exact())

    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def is_positive(self) -> bool:
        return self.amount_minor > 0

    def is_negative(self) -> bool:
        return self.amount_minor < 0

    def _same_currency(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"Cannot combine {self.currency} with {other.currency}.",
                expected=self.currency,
                got=other.currency,
            )

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount_minor), self.currency)

    def __mul__(self, quantity: int) -> Money:
        if type(quantity) is not int:
            raise TypeError("Money multiplies by whole quantities only; use apply_rate for rates")
        return Money(self.amount_minor * quantity, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor >= other.amount_minor

    def __str__(self) -> str:
        return f"{self.major} {self.currency}"


def total(amounts: Sequence[Money], currency: str) -> Money:
    """The sum of amounts, all in `currency` (zero for none)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def apply_rate(money: Money, rate: Decimal | Fraction, rounding: str = ROUND_HALF_UP) -> Money:
    """Money times a rate, rounded once to a whole minor unit: where rates meet money (R-X1).

    The product is exact (a `Fraction` rate such as 15/31 days is never pre-rounded), then
    rounded with one of the `decimal` modes: half-up by default (away from zero at exactly
    half), as invoices and receipts expect.
    """
    if not isinstance(rate, Decimal | Fraction):
        raise TypeError("rates are Decimal or Fraction, never float")
    exact = Fraction(money.amount_minor) * Fraction(rate)
    return Money(_round(exact, rounding), money.currency)


def _round(exact: Fraction, rounding: str) -> int:
    """Round an exact value to an integer with a `decimal` rounding mode."""
    sign = -1 if exact < 0 else 1
    whole, rest = divmod(abs(exact.numerator), exact.denominator)
    twice_rest = 2 * rest
    if rest == 0:
        bump = False
    elif rounding == ROUND_HALF_UP:
        bump = twice_rest >= exact.denominator
    elif rounding == ROUND_HALF_EVEN:
        bump = twice_rest > exact.denominator or (
            twice_rest == exact.denominator and whole % 2 == 1
        )
    elif rounding == ROUND_HALF_DOWN:
        bump = twice_rest > exact.denominator
    elif rounding == ROUND_UP:
        bump = True
    elif rounding == ROUND_DOWN:
        bump = False
    elif rounding == ROUND_CEILING:
        bump = sign > 0
    elif rounding == ROUND_FLOOR:
        bump = sign < 0
    else:
        raise ValueError(f"unsupported rounding mode {rounding!r}")
    return sign * (whole + (1 if bump else 0))


def allocate(money: Money, weights: Sequence[int | Decimal]) -> list[Money]:
    """Split money in proportion to weights by largest remainder: the parts sum to the whole.

    Each part gets the floor of its exact share; the minor units left over go one each to the
    parts with the largest remainders (earlier parts first on a tie). A negative amount is
    split as its absolute value and negated, so no minor unit is lost or invented.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    exact_weights = [_exact_weight(weight) for weight in weights]
    if any(weight < 0 for weight in exact_weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(exact_weights, Fraction(0))
    if weight_sum == 0:
        raise ValueError("weights must not all be zero")
    sign = -1 if money.amount_minor < 0 else 1
    whole = abs(money.amount_minor)
    # Exact shares: a Decimal quotient would round at 28 digits and could lose or invent units.
    shares = [whole * weight / weight_sum for weight in exact_weights]
    floors = [share.numerator // share.denominator for share in shares]
    left = whole - sum(floors)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    for index in by_remainder[:left]:
        floors[index] += 1
    return [Money(sign * part, money.currency) for part in floors]


def _exact_weight(weight: int | Decimal) -> Fraction:
    """A weight as an exact fraction; floats (and bools) are refused like float rates."""
    if isinstance(weight, bool) or not isinstance(weight, int | Decimal):
        raise TypeError(f"weights are int or Decimal, not {type(weight).__name__}")
    if isinstance(weight, Decimal) and not weight.is_finite():
        raise ValueError(f"weights must be finite, not {weight}")
    return Fraction(weight)
