"""Money for people (R-X1): one formatter, ledger/formatting.py, prints every amount a person
reads (PDFs, e-mails, the activity feed), with exactly its currency's ISO 4217 digits."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from domain.errors import UnknownCurrency
from domain.money import Money
from domain.partner_account import PartnerAccount
from ledger.formatting import format_money, money_in_words
from ledger.notifications import invoice_issued, payment_failed, refund_receipt
from tests.domain.invoicing import BANK, PARTNER, issue
from tests.support import START

ROOT = Path(__file__).resolve().parents[2]
FORMATTER = ROOT / "ledger" / "formatting.py"
OWN_WAYS = ("babel.numbers", "format_currency", "parse_pattern", "MINOR_UNIT_EXPONENTS", ".major")
"""What a second formatter would reach for: babel's number patterns, the exponents table, or
Money's major units."""


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "expected"),
    [
        (123_456, "USD", None, "1,234.56 USD"),
        (-3_600, "USD", None, "-36.00 USD"),
        (150_000, "JPY", None, "150,000 JPY"),
        (1_234_567, "BHD", None, "1,234.567 BHD"),
        (10**40 + 1, "USD", None, f"{10**38:,}.01 USD"),  # a sum past any one amount's bound
        (1_234_567, "IQD", "en", "IQD1,234.567"),  # CLDR would round IQD to whole units
        (150_000, "RUB", "ru", "1 500,00 ₽"),
        (-123_456, "RSD", "es", "-1.234,56 RSD"),
        (9_900, "PLN", "pl-PL", "99,00 zł"),
    ],
)
def test_r_x1_an_amount_reads_with_exactly_its_iso_4217_digits(
    minor: int, currency: str, locale: str | None, expected: str
) -> None:
    assert format_money(minor, currency, locale).replace("\xa0", " ") == expected


def test_r_x1_a_currency_without_iso_4217_digits_is_refused_not_guessed() -> None:
    with pytest.raises(UnknownCurrency):
        format_money(1, "XTS")


def test_r_x1_an_e_mail_prints_its_amounts_through_the_formatter() -> None:
    """An invoice of 1,234.56 USD: before the formatter, e-mails printed `1234.56 USD`."""
    invoice = issue(1_234_56)
    account = PartnerAccount.open(
        partner_id=PARTNER, name="Acme", currency="USD", time_zone="UTC", now=START
    )
    message = invoice_issued(invoice, account, "billing@example.com", "https://example.com")
    assert message.subject.endswith(": 1,234.56 USD")
    assert "Total: 1,234.56 USD" in message.body
    refund = refund_receipt(
        invoice, account, "billing@example.com", uuid4(), Money(1_000_00, "USD"), BANK
    )
    assert refund.subject.startswith("Refund of 1,000.00 USD ")


def test_r_x1_no_module_but_the_formatter_formats_money_its_own_way() -> None:
    """A read model, an e-mail or a route that formatted an amount itself would print it
    another way; the domain (which may not import babel) keeps `Money.__str__` for refusals."""
    offenders = [
        f"{path.relative_to(ROOT)}: {way}"
        for package in ("ledger", "projections", "replay", "api")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != FORMATTER
        for way in OWN_WAYS
        if way in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("minor", "currency", "language", "expected"),
    [
        (150_000, "RUB", "ru", "Одна тысяча пятьсот рублей, ноль копеек"),
        (429_840, "PLN", "pl", "Cztery tysiące dwieście dziewięćdziesiąt osiem złotych, "),
        (5_047, "USD", "en", "Fifty dollars, forty-seven cents"),
        (3_900, "EUR", "es", "Treinta y nueve euros con cero céntimos"),
        # Where num2words knows no words for the currency: its code, the minor units as digits,
        # every one of them (BHD has three).
        (1_234_567, "BHD", "en", "One thousand, two hundred and thirty-four BHD 567"),
        (150_000, "JPY", "ru", "Сто пятьдесят тысяч JPY"),
    ],
)
def test_issue_17_an_amount_in_words_reads_as_its_languages_custom(
    minor: int, currency: str, language: str, expected: str
) -> None:
    assert money_in_words(minor, currency, language).startswith(expected)


def test_r_h4_r_h6_a_decline_and_a_refund_are_mailed_in_the_partners_language() -> None:
    """Every e-mail is in the partner's language (issue 17; here Polish, from its currency: it
    has no address yet), as its documents are: a declined payment says why, quoting the
    processor's own reason, and where to update the card (R-H4); a refund has its receipt
    (R-H6)."""
    invoice = issue(1_234_56)
    account = PartnerAccount.open(
        partner_id=PARTNER, name="Kawiarnie", currency="PLN", time_zone="Europe/Warsaw", now=START
    )
    declined = payment_failed(
        invoice,
        account,
        "faktury@kawiarnie.example",
        Money(99_00, "PLN"),
        "card_declined",
        "Your card was declined.",
        "https://example.com",
        None,
        attempt=1,
    )
    assert declined.subject == f"Płatność za fakturę {invoice.number} nie powiodła się"
    assert declined.body.startswith(
        f"Płatność 99,00\xa0zł za fakturę {invoice.number} nie powiodła się: "
        "Your card was declined. (card_declined)."
    )
    assert "Zaktualizuj kartę tutaj" in declined.body
    refund_id = uuid4()
    refund = refund_receipt(
        invoice, account, "faktury@kawiarnie.example", refund_id, Money(50_00, "PLN"), BANK
    )
    assert refund.subject == f"Zwrot 50,00\xa0zł za fakturę {invoice.number}"
    assert refund.body == (
        f"Kawiarnie zwrócił 50,00\xa0zł z Twojej płatności (przelew bankowy) za fakturę "
        f"{invoice.number}. Numer zwrotu: {refund_id}.\n"
    )
