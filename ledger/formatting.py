"""Money for people: the one formatter of amounts that a person reads (R-X1).

PDFs (projections/pdf.py), e-mails (ledger/notifications.py) and the activity feed's sentences
(projections/activity.py) all print amounts through `format_money`, and documents spell them
out through `money_in_words`. It lives here, not in the
domain, because the domain imports only the standard library, and babel knows how each language
writes numbers; here, because the ledger is the lowest layer both the e-mails and the read
models import. The domain's refusals keep `Money.__str__` (exact, locale-free): clients match
their `code`, never the words.
"""

from __future__ import annotations

from copy import copy
from decimal import Context, Decimal, localcontext

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern
from num2words import num2words

from domain.money import minor_unit_exponent

RUNNING_TEXT = parse_pattern("#,##0 ¤¤")
"""Amounts in running text (e-mails, the activity feed): the amount, then its ISO 4217 code,
in English (`1,234.56 USD`): one way to read an amount in any currency."""
ENGLISH = Locale.parse("en")


def format_money(amount_minor: int, currency: str, locale: str | None = None) -> str:
    """An amount with exactly its currency's ISO 4217 minor digits, never rounded.

    With a locale, as that locale writes an amount (`1 500,00 ₽`, `99,00 zł`), for documents
    in the reader's language; without one, for running text (`1,234.56 USD`). babel's own
    digits are CLDR's display digits, which round some currencies to whole units (IQD 1,234.567
    would print as 1,235), so the digits come from domain/currencies.py. A sum over many
    amounts may exceed one amount's bound, so this takes minor units, not Money.
    """
    exponent = minor_unit_exponent(currency)
    where = ENGLISH if locale is None else Locale.parse(locale.replace("-", "_"))
    pattern: NumberPattern = copy(
        RUNNING_TEXT if locale is None else parse_pattern(where.currency_formats["standard"])
    )
    pattern.frac_prec = (exponent, exponent)
    major = Decimal(f"{amount_minor}e-{exponent}")  # exact, however many digits
    # babel rounds to the pattern's digits in the current decimal context: give it room for
    # every digit of the amount (a sum over many amounts may pass the default 28).
    with localcontext(Context(prec=len(str(abs(amount_minor))) + exponent + 2)):
        formatted: str = pattern.apply(major, where, currency=currency, currency_digits=False)
    return formatted


def money_in_words(amount_minor: int, currency: str, language: str) -> str:
    """An amount spelt out with its currency, as a document's custom writes it ("Одна тысяча
    пятьсот рублей, ноль копеек"): num2words where it knows the currency in this language,
    else the whole units in words, the ISO code and the minor units as digits. Capitalised,
    to stand as a sentence (issue 17)."""
    exponent = minor_unit_exponent(currency)
    major = Decimal(f"{amount_minor}e-{exponent}")  # exact, as `format_money`
    try:
        text = str(num2words(major, lang=language, to="currency", currency=currency))
    except (NotImplementedError, KeyError, ValueError):
        whole, minor = divmod(abs(amount_minor), 10**exponent)
        sign = "-" if amount_minor < 0 else ""
        text = f"{sign}{num2words(whole, lang=language)} {currency}"
        if exponent:
            text += f" {minor:0{exponent}d}"
    return text[:1].upper() + text[1:]
