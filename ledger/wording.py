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
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from uuid import UUID

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from domain.pricing import PriceUnit, percent, with_recorded_facts
from domain.values import InvoiceLine, InvoiceLineKind
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
LEAD_ID_SHOWN = 8
"""Characters of a lead's id a line names it by: enough to find it among a partner's leads."""


def partner_language(country: str | None, currency: str) -> str:
    """The language a partner's documents are printed in unless another is asked for: its
    billing address's country's, else its currency's, else English."""
    if country is not None and country.upper() in COUNTRY_LANGUAGES:
        return COUNTRY_LANGUAGES[country.upper()]
    if country is None:
        return CURRENCY_LANGUAGES.get(currency, "en")
    return "en"


def account_language(account: PartnerAccount) -> str:
    """The language of a partner's documents and e-mails (`partner_language` of its account)."""
    country = account.address.country if account.address is not None else None
    return partner_language(country, account.currency)


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
        stored: str | None,
        product_name: str | None,
        location_name: str | None,
        rate: Decimal | None,
        term_months: int | None,
        lead_id: UUID | None = None,
        product_code: str | None = None,
    ) -> str:
        """A line described in this language from what its event recorded: the one wording of
        a line that documents, e-mails and the API share. The English sentence `stored` with a
        line recorded before issue 17 only where it lacks the facts; a line with neither (a
        product the catalogue does not know) is named by its product code."""
        _ = self.gettext
        if kind in (InvoiceLineKind.PRODUCT.value, InvoiceLineKind.LEAD.value) and product_name:
            if kind == InvoiceLineKind.LEAD.value and lead_id is not None:
                return _("{product}, lead {lead}").format(
                    product=product_name, lead=str(lead_id)[:LEAD_ID_SHOWN]
                )
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
        return stored or product_code or kind

    def payment_source(self, source: PaymentSource) -> str:
        """How money was paid, as a sentence says it ("by card", without the "by")."""
        _ = self.gettext
        said = {
            PaymentSource.CARD: _("card"),
            PaymentSource.DIRECT_DEBIT: _("direct debit"),
            PaymentSource.BANK_TRANSFER: _("bank transfer"),
            PaymentSource.COMPANY_BALANCE: _("company balance"),
            PaymentSource.BONUS: _("bonus wallet"),
            PaymentSource.CASH: _("cash"),
            PaymentSource.CHEQUE: _("cheque"),
            PaymentSource.OTHER: _("other means"),
        }
        return said[source]

    def tax_id_label(self) -> str:
        """What a customer's tax id is called on a document in this language (issue 17)."""
        return self.gettext("Tax ID")

    def product_name(self, names: Mapping[str, str] | None) -> str | None:
        """A product's name in this language, else in English, from the catalogue's `names`."""
        return (names or {}).get(self.language) or (names or {}).get("en")

    def invoice_line(self, line: InvoiceLine, product_names: Mapping[str, str] | None) -> str:
        """`line` worded from the domain's line (an e-mail's), its product named in this
        language (else in English) from the catalogue's `names`."""
        line = with_recorded_facts(line)
        return self.line(
            line.kind.value,
            line.description,
            self.product_name(product_names),
            line.location.name if line.location else None,
            line.rate,
            line.term_months,
            line.lead_id,
            line.product_code,
        )

    def percent(self, rate: Decimal) -> str:
        """A rate as a percentage in this language's digits: 0.125 -> "12,5" in Polish."""
        return percent(rate).replace(".", self.locale.number_symbols["latn"]["decimal"])


@lru_cache(maxsize=len(LANGUAGES))
def words_in(language: str) -> Words:
    """The words of `language` (one of `LANGUAGES`, else English), made once per process."""
    return Words(Locale.parse(language if language in LANGUAGES else "en"))
