# ruff: noqa: RUF001 (Russian words are Cyrillic on purpose, some letters look Latin)
"""Issue 17 end to end: a Russian, a Polish and a US partner's invoice and closing document,
issued by the ledger from real events, printed over real HTTP in the partner's language and
read back: the vendor as seller and performer, the partner's billing entity and address, each
line's product (named by the catalogue in the partner's language), location, client and period,
the discount and card fee as their own lines in that language (R-C3, R-O7), the tax statement,
the amount in words, how to pay, the act's basis, no-claims statement and both signatures; the
partner's tax id as the customer's, labelled in its language (ИНН, NIP, Tax ID).

Three partners, one invoice and one act each: about 1.5 s, most of it the six PDFs."""

from __future__ import annotations

import io
from dataclasses import dataclass
from uuid import UUID

import httpx
import pytest
from pypdf import PdfReader

from api.runtime import Runtime
from domain.calendar import Term
from domain.payment_methods import CardDetails, PaymentSource
from domain.values import Address, Location

CARD = CardDetails("4242424242424242", 12, 2030, "Ada Lovelace", "123", "10001")


@dataclass(frozen=True)
class Case:
    """A partner, what it buys and how it pays, and what its documents must say."""

    locale: str
    currency: str
    time_zone: str
    entity: str
    address: Address
    client: str
    product_code: str
    term: Term
    locations: tuple[str, ...]
    source: PaymentSource
    expected_invoice: tuple[str, ...]
    expected_act: tuple[str, ...]
    tax_id: str = ""
    """The partner's tax id, printed as the customer's with the label of its language."""
    tax_line: str = ""
    absent_from_act: tuple[str, ...] = ()


CASES = [
    Case(
        locale="ru",
        currency="RUB",
        time_zone="Europe/Moscow",
        entity="ООО «Интегратор Плюс»",
        address=Address.of(["ул. Тверская, 1"], "Москва", "125009", "RU"),
        client="Кофейня Зерно",
        product_code="messaging-line",
        term=Term.MONTHLY,
        locations=(),
        source=PaymentSource.BANK_TRANSFER,
        expected_invoice=(
            "Счёт № ",
            "ООО «Интегратор Плюс»",
            "ул. Тверская, 1",
            "125009 Москва",
            "ИНН: 7707083893",
            "Линия сообщений",
            "Клиент: Кофейня Зерно",
            "1 подписка 1 500,00 ₽ 1 500,00 ₽",
            "Без НДС (0 %): 0,00 ₽",
            "Итого: 1 500,00 ₽",
            "Одна тысяча пятьсот рублей",
            "PL61 1140 0000 0000 0000 0000 0000",
        ),
        expected_act=(
            "Акт выполненных работ № ACT-",
            "Исполнитель",
            "Заказчик",
            "ООО «Интегратор Плюс»",
            "Основание: Счёт № ",
            "Линия сообщений",
            "Всего оказано услуг 1, на сумму 1 500,00 ₽",
            "Одна тысяча пятьсот рублей",
            "претензий по объёму, качеству и",
            "подпись, М.П.",
            "подпись, М.П.",
        ),
        tax_id="7707083893",
        tax_line="ИНН: 7707083893",
    ),
    Case(
        locale="pl",
        currency="PLN",
        time_zone="Europe/Warsaw",
        entity="Integrator Łódź Sp. z o.o.",
        address=Address.of(["ul. Piotrkowska 5"], "Łódź", "90-001", "PL"),
        client="Kwiaciarnia Róża",
        product_code="pos-location",
        term=Term.TWELVE_MONTHS,
        locations=("Rynek 3", "Manufaktura"),
        source=PaymentSource.BANK_TRANSFER,
        expected_invoice=(
            "Faktura nr ",
            "Integrator Łódź Sp. z o.o.",
            "90-001 Łódź",
            "NIP: 725-123-45-67",
            "Integracja POS, lokalizacja: Rynek 3",
            "Klient: Kwiaciarnia Róża",
            "1 lokalizacja 2 388,00 zł 2 388,00 zł",
            "Integracja POS, lokalizacja: Manufaktura",
            "Rabat za okres 12 mies. (10 %)",
            "-477,60 zł",
            "Wartość netto: 3 494,63 zł",
            "W tym VAT 23 %: 803,77 zł",
            "Razem: 4 298,40 zł",
            "Słownie: Cztery tysiące dwieście dziewięćdziesiąt osiem złotych",
            "BREXPLPWMBK",
        ),
        expected_act=(
            "Protokół wykonania usług nr ACT-",
            "Wykonawca",
            "Zamawiający",
            "Podstawa: Faktura nr ",
            "Rabat za okres 12 mies. (10 %)",
            "Razem: 4 298,40 zł",
            "W tym VAT 23 %: 803,77 zł",
            "Razem wykonano usług: 3, na kwotę 4 298,40 zł",
            "podpis, pieczęć",
        ),
        tax_id="725-123-45-67",
        tax_line="NIP: 725-123-45-67",
    ),
    Case(
        locale="en",
        currency="USD",
        time_zone="America/New_York",
        entity="Acme Integrations Inc.",
        address=Address.of(["100 Main Street"], "San Francisco", "94105", "US"),
        client="Joe's Diner",
        product_code="pos-location",
        term=Term.MONTHLY,
        locations=("Market St",),
        source=PaymentSource.CARD,
        expected_invoice=(
            "Invoice No. ",
            "Acme Integrations Inc.",
            "94105 San Francisco",
            "Tax ID: 12-3456789",
            "POS integration, location: Market St",
            "Client: Joe's Diner",
            "1 location $49.00 $49.00",
            "Card processing fee (3 %) 1 service $1.47 $1.47",
            "VAT 0 % (no VAT charged): $0.00",
            "Total: $50.47",
            "Paid: $50.47",
            "Outstanding: $0.00",
            "Fifty dollars, forty-seven cents",
        ),
        expected_act=(
            "Closing document No. ACT-",
            "Performer",
            "Customer",
            "Basis: Invoice No. ",
            "POS integration, location: Market St",
            "Total: $49.00",
            "Total services rendered: 1, for the amount of $49.00",
            "Forty-nine dollars",
            "The customer has no claims",
            "signature, stamp",
        ),
        absent_from_act=("Card processing fee",),
        tax_id="12-3456789",
        tax_line="Tax ID: 12-3456789",
    ),
]


def text_of(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    return text.replace("\xa0", " ").replace("\u202f", " ")


def assert_in_order(text: str, expected: tuple[str, ...]) -> None:
    at = 0
    for piece in expected:
        found = text.find(piece, at)
        assert found >= 0, f"{piece!r} missing after {text[max(at - 80, 0) : at + 200]!r}"
        at = found + len(piece)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.locale)
def test_issue_17_a_partners_invoice_and_closing_document_print_in_its_language(
    case: Case, runtime: Runtime, http: httpx.Client
) -> None:
    ledger = runtime.ledger
    partner = ledger.open_partner_account(
        name=f"{case.entity} (account)", currency=case.currency, time_zone=case.time_zone
    ).aggregate_id
    assert partner is not None
    ledger.record_billing_profile(
        partner, case.entity, case.address, "billing@example.com", tax_id=case.tax_id
    )
    if case.source is PaymentSource.CARD:
        ledger.add_payment_method(partner, CARD, make_default=True)
    client = ledger.register_client(partner, name=case.client, unified_billing=False)
    assert client.aggregate_id is not None
    locations = tuple(Location(UUID(int=n + 1), name) for n, name in enumerate(case.locations))
    line = ledger.create_line(
        partner, client.aggregate_id, case.product_code, term=case.term, locations=locations
    ).aggregate_id
    assert line is not None
    invoice_id = UUID(ledger.activate_line(line).data["invoice_id"])
    if ledger.invoice(invoice_id).outstanding.is_positive():
        ledger.pay_invoice(invoice_id, case.source)
    act = ledger.request_closing_document(invoice_id, key=f"act/{invoice_id}")
    # No language asked: the partner's, from its billing address's country.
    params = {"min_position": act.position, "wait_ms": 5000}

    invoice = http.get(f"/v1/invoices/{invoice_id}/pdf", params=params)
    document = http.get(f"/v1/closing-documents/{act.data['document_id']}/pdf", params=params)

    assert invoice.status_code == 200, invoice.text
    assert document.status_code == 200, document.text
    invoice_text, act_text = text_of(invoice.content), text_of(document.content)
    vendor = ("Ledgerline Software Sp. z o.o.", "ul. Prosta 20", "NIP: 5252000000")
    assert_in_order(invoice_text, (case.expected_invoice[0], *vendor, *case.expected_invoice[1:]))
    assert_in_order(act_text, (case.expected_act[0], *case.expected_act[1:3], *vendor))
    assert_in_order(act_text, case.expected_act)
    assert f"{case.entity} (account)" not in act_text  # the billing entity, not the account
    assert case.tax_line in act_text  # the customer's tax id (issue 17)
    for absent in case.absent_from_act:
        assert absent not in act_text
    if case.locale != "en":  # another language asked for is printed
        asked = http.get(f"/v1/invoices/{invoice_id}/pdf", params={**params, "locale": "en"})
        assert text_of(asked.content).startswith("Invoice No.")
