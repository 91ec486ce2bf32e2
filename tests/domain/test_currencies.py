"""R-X1: the currency table is generated from babel's CLDR data, not typed by hand."""

from __future__ import annotations

from babel.numbers import get_currency_precision, list_currencies

from domain.currencies import MINOR_UNIT_EXPONENTS
from domain.money import minor_unit_exponent


def test_r_x1_minor_units_of_well_known_currencies() -> None:
    assert {code: minor_unit_exponent(code) for code in ("USD", "RUB", "PLN", "JPY", "KWD")} == {
        "USD": 2,
        "RUB": 2,
        "PLN": 2,
        "JPY": 0,
        "KWD": 3,
    }


def test_r_x1_generated_table_agrees_with_babel() -> None:
    known = list_currencies()
    disagreements = {
        code: (digits, get_currency_precision(code) if code in known else None)
        for code, digits in MINOR_UNIT_EXPONENTS.items()
        if code not in known or get_currency_precision(code) != digits
    }
    assert disagreements == {}, "babel's data changed: run scripts/generate_currencies.py"
    assert len(MINOR_UNIT_EXPONENTS) > 100
