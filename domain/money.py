"""Currencies: which ones Ledgerline accepts and how many minor units each has (R-X1)."""

from __future__ import annotations

from domain.currencies import MINOR_UNIT_EXPONENTS
from domain.errors import UnknownCurrency


def minor_unit_exponent(currency: str) -> int:
    """Return the number of decimal places of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    try:
        return MINOR_UNIT_EXPONENTS[currency]
    except KeyError:
        raise UnknownCurrency(
            f"{currency!r} is not an ISO 4217 currency in use today.", currency=currency
        ) from None


def check_currency(currency: str) -> str:
    """Return the currency code if Ledgerline accepts it, or refuse it."""
    minor_unit_exponent(currency)
    return currency
