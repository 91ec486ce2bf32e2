"""The words of documents and e-mails in the reader's language (issue 17): labels and line
descriptions from gettext message catalogues (ledger/locale/*/LC_MESSAGES/documents.po, kept
with babel's `pybabel extract/update`, docs/documents.md), units, and amounts in words. Here in
the ledger, the lowest layer both the e-mails (ledger/notifications.py) and the printed
documents (projections/pdf.py) import, so a line is worded by one function in each language.

The catalogues are read from their `.po` files and compiled in memory the first time a
language is asked for (no build step: a fresh clone prints after `make install`). A line is
described from what its event recorded (product, location, term, rate), never from the English
sentence stored beside it, which only lines recorded before those facts fall back to.
"""

from __future__ import annotations

import io
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from domain.money import Money
from domain.pricing import PriceUnit, percent
from domain.values import InvoiceLineKind
from ledger.formatting import money_in_words

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "documents"
LANGUAGES = ("en", "ru", "pl", "es")
"""The languages documents are printed in; English is the msgids themselves."""
COUNTRY_LANGUAGES: dict[str, str] = {
    **dict.fromkeys(("RU", "BY", "KZ", "KG"), "ru"),
    "PL": "pl",
    **dict.fromkeys(
        (
            "ES",
            "MX",
            "AR",
            "CO",
            "CL",
            "PE",
            "VE",
            "EC",
            "GT",
            "CU",
            "BO",
            "DO",
            "HN",
            "PY",
            "SV",
            "NI",
            "CR",
            "PA",
            "UY",
        ),
        "es",
    ),
}
"""Of the languages documents are printed in, the one a country's businesses use: Russian
where it is an official language, Polish in Poland, Spanish where it is the main one."""
CURRENCY_LANGUAGES = {"RUB": "ru", "BYN": "ru", "KZT": "ru", "PLN": "pl"}
"""For a partner with no billing address yet: the language its currency suggests."""


def partner_language(country: str | None, currency: str) -> str:
    """The language a partner's documents are printed in unless another is asked for: its
    billing address's country's, else its currency's, else English."""
    if country is not None and country.upper() in COUNTRY_LANGUAGES:
        return COUNTRY_LANGUAGES[country.upper()]
    if country is None:
        return CURRENCY_LANGUAGES.get(currency, "en")
    return "en"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    """The message catalogue of `language`, compiled from its `.po`; English has none."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class Words:
    """The words of one document's language."""

    def __init__(self, locale: Locale) -> None:
        self.locale = locale
        self.language = locale.language if locale.language in LANGUAGES else "en"
        self.gettext = translations(self.language).gettext

    def amount_in_words(self, amount: Money) -> str:
        """The amount spelt out with its currency, as a document's custom writes it."""
        return money_in_words(amount.amount_minor, amount.currency, self.language)

    def unit(self, kind: str, unit: str | None) -> str:
        """What one of a line's quantity is: a location, a subscription or a lead."""
        _ = self.gettext
        if kind == InvoiceLineKind.LEAD.value or unit == PriceUnit.PER_LEAD.value:
            return _("lead")
        if kind != InvoiceLineKind.PRODUCT.value:
            return _("service")
        if unit == PriceUnit.PER_LOCATION.value:
            return _("location")
        return _("subscription")

    def line(
        self,
        kind: str,
        fallback: str,
        product_name: str | None,
        location_name: str | None,
        rate: Decimal | None,
        term_months: int | None,
    ) -> str:
        """A line described in this language from what its event recorded; the stored
        English sentence only for a line recorded before the facts it needs (issue 17)."""
        _ = self.gettext
        if kind in (InvoiceLineKind.PRODUCT.value, InvoiceLineKind.LEAD.value) and product_name:
            if location_name:
                return _("{product}, location: {location}").format(
                    product=product_name, location=location_name
                )
            return product_name
        if kind == InvoiceLineKind.DISCOUNT.value and rate is not None and term_months:
            return _("Discount for a {months}-month term ({rate} %)").format(
                months=term_months, rate=self.percent(rate)
            )
        if kind == InvoiceLineKind.CARD_FEE.value and rate is not None:
            return _("Card processing fee ({rate} %)").format(rate=self.percent(rate))
        return fallback

    def percent(self, rate: Decimal) -> str:
        """A rate as a percentage in this language's digits: 0.125 -> "12,5" in Polish."""
        return percent(rate).replace(".", self.locale.number_symbols["latn"]["decimal"])
