"""Closing documents (R-C7, R-C8): the read model's eligible invoices and acts are the domain's,
one partner's or client's documents never show for another (their PDFs:
tests/projections/test_printed_documents.py)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from domain.calendar import Term
from domain.invoice import Invoice, InvoiceStatus
from domain.payment_methods import PaymentSource
from domain.values import Payer
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.formatting import format_money
from projections.documents import (
    ClosingDocument,
    ClosingDocuments,
    DocumentLine,
    document,
    documents_of,
    eligible,
)
from tests.histories import make_history
from tests.projections.chatapp_support import (
    LINE,
    LINE_FEE,
    TWELVE,
    VISA,
    buy,
    catch_up,
    client,
    open_partner,
    rub,
)
from tests.projections.support import logged_events

BANK, CARD = PaymentSource.BANK_TRANSFER, PaymentSource.CARD
BALANCE, BONUS = PaymentSource.COMPANY_BALANCE, PaymentSource.BONUS


def issued_invoices(ledger: Ledger, database: Database) -> list[Invoice]:
    return [
        ledger.invoice(event.originator_id)
        for _, event in logged_events(ledger, database)
        if isinstance(event, Invoice.Issued)
    ]


def documentable_by_domain(invoices: list[Invoice], partner: UUID) -> dict[UUID, int]:
    """What the domain would let the partner document now, by invoice."""
    return {
        i.id: i.documentable_amount.amount_minor
        for i in invoices
        if i.partner_id == partner
        and i.status is InvoiceStatus.SETTLED
        and i.documentable_amount.is_positive()
        and i.closing_document_number is None
    }


@pytest.mark.parametrize("seed", [4, 13])
def test_r_c7_eligible_invoices_and_document_amounts_are_the_domains_for_random_histories(
    ledger: Ledger, clock: SimulatedClock, database: Database, seed: int
) -> None:
    history = make_history(ledger, clock, seed, steps=70)
    catch_up(database, ClosingDocuments())
    invoices = issued_invoices(ledger, database)
    with database.connect() as conn:
        rows = conn.execute("SELECT invoice_id, documentable_minor FROM closing_invoices")
        stored = {row[0]: row[1] for row in rows}
        assert stored == {i.id: i.documentable_amount.amount_minor for i in invoices}
        expected = {p: documentable_by_domain(invoices, p) for p in history.partners}
        found = {
            p: {e.invoice_id: e.documentable_minor for e in eligible(conn, p)}
            for p in history.partners
        }
    assert found == expected
    assert sum(len(e) for e in expected.values()) >= 3, "too few documentable invoices"

    requested = {}
    for invoice_id in sorted(i for e in expected.values() for i in e)[::2]:
        answer = ledger.request_closing_document(invoice_id, key=f"act/{invoice_id}").data
        requested[UUID(answer["document_id"])] = ledger.invoice(invoice_id).documentable_amount
    catch_up(database, ClosingDocuments())
    invoices = issued_invoices(ledger, database)
    with database.connect() as conn:
        for partner in history.partners:
            assert {e.invoice_id for e in eligible(conn, partner)} == set(
                documentable_by_domain(invoices, partner)
            )
        acts = [d for p in history.partners for d in documents_of(conn, p)]
    assert {d.document_id: d.amount for d in acts} == requested
    numbers = {i.id: i.closing_document_number for i in invoices}
    assert all(numbers[d.invoice_id] == d.number for d in acts)


def test_r_c7_paid_by_card_bank_or_balance_is_eligible_bonus_only_unpaid_and_top_ups_are_not(
    ledger: Ledger, database: Database
) -> None:
    partner = open_partner(ledger, "p1", "Интегратор Плюс")
    ledger.add_payment_method(partner, VISA, make_default=True, key="card")
    ledger.top_up(partner, rub(400000), BANK, key="top-up")
    lotus = client(ledger, partner, "Салон Лотос")
    cafe = client(ledger, partner, "Кофейня Зерно")
    own = buy(ledger, partner, lotus, "lotus", term=Term.TWELVE_MONTHS, payer=Payer.CLIENT)
    ledger.pay_invoice(own.id, BANK, key="lotus/pay")  # the client pays: 162 000 of bonuses
    paid = {}
    for source in (BANK, CARD, BALANCE, BONUS):
        paid[source] = buy(ledger, partner, cafe, f"cafe/{source.value}")
        ledger.pay_invoice(paid[source].id, source, key=f"pay/{source.value}")
    mixed = buy(ledger, partner, cafe, "cafe/mixed")
    ledger.pay_invoice(mixed.id, BONUS, amount=rub(10000), key="mixed/bonus")
    ledger.pay_invoice(mixed.id, BANK, key="mixed/bank")
    unpaid = buy(ledger, partner, cafe, "cafe/unpaid")
    refunded = buy(ledger, partner, cafe, "cafe/refunded")
    ledger.pay_invoice(refunded.id, CARD, key="refunded/pay")
    payment_id = UUID(next(iter(ledger.invoice(refunded.id).payments)))
    ledger.refund(refunded.id, payment_id, rub(30000), "one week unused", key="refund")

    catch_up(database, ClosingDocuments())
    with database.connect() as conn:
        found = {e.invoice_id: e.documentable for e in eligible(conn, partner)}
    assert found == {
        own.id: rub(TWELVE),
        paid[BANK].id: rub(LINE),
        paid[CARD].id: rub(LINE),  # the card fee is no work done
        paid[BALANCE].id: rub(LINE),
        mixed.id: rub(LINE - 10000),  # only what the bank paid
        refunded.id: rub(LINE - 30000),
    }
    assert paid[BONUS].id not in found
    assert unpaid.id not in found
    assert ledger.invoice(paid[CARD].id).total == rub(LINE + LINE_FEE)


def test_r_c7_a_requested_document_has_its_number_client_period_and_lines(
    ledger: Ledger, database: Database
) -> None:
    partner = open_partner(ledger, "p1", "Интегратор Плюс")
    ledger.add_payment_method(partner, VISA, make_default=True, key="card")
    cafe = client(ledger, partner, "Кофейня Зерно")
    monthly = buy(ledger, partner, cafe, "monthly")
    ledger.pay_invoice(monthly.id, CARD, key="pay/monthly")
    yearly = buy(ledger, partner, cafe, "yearly", term=Term.TWELVE_MONTHS)
    ledger.pay_invoice(yearly.id, BANK, key="pay/yearly")
    first = ledger.request_closing_document(monthly.id, key="act/1").data
    second = ledger.request_closing_document(yearly.id, key="act/2").data

    catch_up(database, ClosingDocuments())
    with database.connect() as conn:
        act = document(conn, UUID(first["document_id"]))
        annual = document(conn, UUID(second["document_id"]))
        assert eligible(conn, partner) == []
        assert document(conn, UUID(int=7)) is None
    assert act == ClosingDocument(
        document_id=UUID(first["document_id"]),
        number="ACT-2026-000001",
        invoice_id=monthly.id,
        invoice_number=monthly.number,
        partner_id=partner,
        partner_name="Интегратор Плюс",
        client_id=cafe,
        client_name="Кофейня Зерно",
        period_start=date(2026, 1, 31),
        period_end=date(2026, 2, 28),
        lines=(
            DocumentLine(
                "product",
                None,  # what the line is, never a sentence (issue 17)
                1,
                LINE,
                date(2026, 1, 31),
                date(2026, 2, 28),
                product_code="messaging-line",
                product_names={
                    "en": "Messaging line",
                    "es": "Línea de mensajería",
                    "pl": "Linia wiadomości",
                    "ru": "Линия сообщений",
                },
            ),
        ),  # the card fee line is not on the act
        amount_minor=LINE,
        currency="RUB",
        requested_on=date(2026, 1, 31),
    )
    assert annual is not None
    assert (annual.number, annual.period_start, annual.period_end) == (
        "ACT-2026-000002",
        date(2026, 1, 31),
        date(2027, 1, 31),
    )
    assert [(line.kind, line.amount_minor) for line in annual.lines] == [
        ("product", 1800000),
        ("discount", -180000),
    ]
    assert annual.amount == rub(TWELVE)


def test_r_c8_another_partners_or_another_clients_documents_never_show(
    ledger: Ledger, database: Database
) -> None:
    first = open_partner(ledger, "p1", "Интегратор Плюс")
    second = open_partner(ledger, "p2", "Чат Сервис")
    cafe = client(ledger, first, "Кофейня Зерно")
    lotus = client(ledger, first, "Салон Лотос")
    garage = client(ledger, second, "Автосервис Гараж")
    invoices = {
        name: buy(ledger, partner, who, name)
        for name, partner, who in (
            ("cafe", first, cafe),
            ("lotus", first, lotus),
            ("garage", second, garage),
            ("garage/2", second, garage),
        )
    }
    for name, invoice in invoices.items():
        ledger.pay_invoice(invoice.id, BANK, key=f"pay/{name}")
    acts = {
        name: UUID(
            ledger.request_closing_document(invoices[name].id, key=f"act/{name}").data[
                "document_id"
            ]
        )
        for name in ("cafe", "lotus", "garage")
    }

    catch_up(database, ClosingDocuments())
    with database.connect() as conn:
        mine = {d.document_id for d in documents_of(conn, first)}
        theirs = {d.document_id for d in documents_of(conn, second)}
        of_cafe = [d.client_name for d in documents_of(conn, first, cafe)]
        of_lotus = [d.client_name for d in documents_of(conn, first, lotus)]
        foreign = documents_of(conn, first, garage)
        still_open = {e.invoice_id for e in eligible(conn, second)}
        none_for_first = eligible(conn, first)
        of_garage_for_first = eligible(conn, first, garage)
    assert mine == {acts["cafe"], acts["lotus"]}
    assert theirs == {acts["garage"]}
    assert (of_cafe, of_lotus, foreign) == (["Кофейня Зерно"], ["Салон Лотос"], [])
    assert still_open == {invoices["garage/2"].id}
    assert none_for_first == of_garage_for_first == []


# --- amounts as documents print them (the PDFs: tests/projections/test_printed_documents.py)


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "expected"),
    [
        # CLDR displays IQD and HUF without decimals: babel's default would print 1,235.
        (1_234_567, "IQD", "en", "IQD1,234.567"),
        (123_456, "HUF", "pl", "1 234,56 HUF"),
        (-123_456, "RSD", "es", "-1.234,56 RSD"),
        (12_345, "UYW", "es", "1,2345 UYW"),
        (1_234, "JPY", "en", "¥1,234"),
        (150_000, "RUB", "ru", "1 500,00 ₽"),
    ],
)
def test_r_x1_documents_print_every_stored_minor_unit_with_iso_4217_digits(
    minor: int, currency: str, locale: str, expected: str
) -> None:
    printed_amount = format_money(minor, currency, locale).replace("\xa0", " ")
    assert printed_amount == expected
