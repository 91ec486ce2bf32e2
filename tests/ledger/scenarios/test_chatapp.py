"""ChatApp partner lines (seed 001), end to end on PostgreSQL, driven by the billing clock.

An integrator in Moscow buys messaging lines for its clients at 1 500 RUB a month. The clock
starts on 2026-01-31 09:30 UTC, 12:30 in Moscow; lines bill on the day they start (the 31st).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from domain.bonus_wallet import BonusWallet, CreditReason
from domain.calendar import BillingPeriod, Term
from domain.errors import ClientNotFound, ClosingDocumentNotAllowed, InsufficientBalance
from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money
from domain.payment_methods import CardDetails, PaymentSource
from domain.values import Address, InvoiceLineKind, Payer, bonus_wallet_id
from ledger.application import Ledger
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock
from ledger.database import Database
from tests.ledger.scenarios.otter_chatapp_support import (
    account_total,
    assert_double_entry,
    emails,
    issued,
    logged_events,
    of_line,
    payments,
    query,
    worded,
)

MOSCOW = "Europe/Moscow"
VISA = CardDetails("4242424242424242", 12, 2030, "Ivan Petrov", "123", "125009")
LINE = 150000  # 1 500.00 RUB a month
LINE_FEE = 4500  # 3 % of it, when a card pays (R-O7 applies to every card payment)
TWELVE = 1620000  # 12 x 1 500.00 = 18 000.00, less the 10 % duration discount (R-C3)
JAN_31_TO_FEB_28 = BillingPeriod(date(2026, 1, 31), date(2026, 2, 28))
FEB_28_TO_MAR_31 = BillingPeriod(date(2026, 2, 28), date(2026, 3, 31))
MAR_31_TO_APR_30 = BillingPeriod(date(2026, 3, 31), date(2026, 4, 30))
BANK, CARD = PaymentSource.BANK_TRANSFER, PaymentSource.CARD
BALANCE, BONUS = PaymentSource.COMPANY_BALANCE, PaymentSource.BONUS


def rub(minor: int) -> Money:
    return Money(minor, "RUB")


def at(year: int, month: int, day: int, hour: int = 6) -> datetime:
    """An instant in UTC (06:00 UTC is 09:00 in Moscow: that day's work is due)."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def open_partner(ledger: Ledger, key: str = "p1", name: str = "Интегратор Плюс") -> UUID:
    partner = ledger.open_partner_account(
        name=name, currency="RUB", time_zone=MOSCOW, key=f"{key}/open"
    ).aggregate_id
    assert partner is not None
    address = Address.of(["ул. Тверская, д. 1"], "Москва", "125009", "RU")
    ledger.record_billing_profile(partner, name, address, f"buh@{key}.example", key=key)
    return partner


def client(ledger: Ledger, partner: UUID, name: str, email: str | None = None) -> UUID:
    registered = ledger.register_client(
        partner, name=name, email=email, unified_billing=False, key=f"{partner}/client/{name}"
    ).aggregate_id
    assert registered is not None
    return registered


def buy(
    ledger: Ledger,
    partner: UUID,
    client_id: UUID,
    key: str,
    *,
    term: Term = Term.MONTHLY,
    payer: Payer = Payer.PARTNER,
    card: CardDetails | None = None,
) -> tuple[UUID, Invoice]:
    """R-C1: the partner buys a line for a client; it starts today and its first period bills."""
    line = ledger.create_line(
        partner, client_id, "messaging-line", term=term, payer=payer, key=f"{key}/line"
    ).aggregate_id
    assert line is not None
    if card is not None:
        ledger.attach_line_card(line, card, key=f"{key}/card")
    result = ledger.activate_line(line, key=f"{key}/activate")
    return line, ledger.invoice(UUID(result.data["invoice_id"]))


def wallet(ledger: Ledger, partner: UUID) -> BonusWallet:
    found = ledger.load(BonusWallet, bonus_wallet_id(partner))
    assert found is not None
    return found


def test_r_c1_r_c2_a_line_is_bought_renewed_and_paid_from_balance_by_card_and_by_bank_invoice(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    topped = ledger.top_up(partner, rub(400000), BANK, reference="ПП № 17", key="top-up")
    assert topped.data["balance_minor"] == 400000
    cafe = client(ledger, partner, "Кофейня Зерно")

    line, first = buy(ledger, partner, cafe, "cafe")
    assert (first.number, first.total) == ("INV-2026-000001", rub(LINE))
    assert (first.issued_on, first.due_on) == (date(2026, 1, 31), date(2026, 2, 14))
    assert (first.payer, first.client_id) == (Payer.PARTNER, cafe)
    assert first.lines[0].period == JAN_31_TO_FEB_28
    ledger.pay_invoice(first.id, BALANCE, key="pay/1")
    assert payments(ledger.invoice(first.id)) == [(BALANCE, LINE, 0)]
    assert ledger.partner_account(partner).balance == rub(250000)

    clock.set(at(2026, 2, 28))
    assert tick(ledger, clock.now()).done["renew"] == 1
    second = issued(ledger, database, partner)[1]
    assert (second.number, second.issued_on) == ("INV-2026-000002", date(2026, 2, 28))
    assert second.lines[0].period == FEB_28_TO_MAR_31
    card = UUID(ledger.add_payment_method(partner, VISA, key="card").data["method_id"])
    paid = ledger.pay_invoice(second.id, CARD, method_id=card, key="pay/2")
    assert paid.data["charge_status"] == "succeeded"
    second = ledger.invoice(second.id)
    assert (second.status, second.total) == (InvoiceStatus.SETTLED, rub(LINE + LINE_FEE))
    assert payments(second) == [(CARD, LINE + LINE_FEE, LINE_FEE)]

    clock.set(at(2026, 3, 31))
    tick(ledger, clock.now())
    third = issued(ledger, database, partner)[2]
    assert (third.number, third.lines[0].period) == ("INV-2026-000003", MAR_31_TO_APR_30)
    ledger.pay_invoice(third.id, BANK, reference="ПП № 118", key="pay/3")
    third = ledger.invoice(third.id)
    assert (third.status, payments(third)) == (InvoiceStatus.SETTLED, [(BANK, LINE, 0)])

    subscription = ledger.line(line)
    assert (subscription.current_period, subscription.open_invoices) == (MAR_31_TO_APR_30, {})
    assert ledger.partner_account(partner).balance == rub(250000)
    assert account_total(ledger, database, f"receivable:{partner}") == 0
    assert_double_entry(ledger, database, [partner])


def test_r_c3_a_twelve_month_purchase_carries_a_duration_discount_line(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    cafe = client(ledger, partner, "Кофейня Зерно")
    year = BillingPeriod(date(2026, 1, 31), date(2027, 1, 31))

    twelve, bought = buy(ledger, partner, cafe, "twelve", term=Term.TWELVE_MONTHS)
    annual, billed = buy(ledger, partner, cafe, "annual", term=Term.ANNUAL)

    assert [(i.kind, worded(i), i.amount.amount_minor, i.period) for i in bought.lines] == [
        (InvoiceLineKind.PRODUCT, "Messaging line", 1800000, year),
        (InvoiceLineKind.DISCOUNT, "Discount for a 12-month term (10 %)", -180000, year),
    ]
    assert bought.total == rub(TWELVE)
    assert [(i.kind, i.amount.amount_minor) for i in billed.lines] == [
        (InvoiceLineKind.PRODUCT, 1800000)  # billed yearly, but not a 12-month purchase
    ]
    for invoice in (bought, billed):
        ledger.pay_invoice(invoice.id, BANK, key=f"pay/{invoice.number}")

    clock.set(at(2027, 1, 31))
    tick(ledger, clock.now())

    invoices = issued(ledger, database, partner)
    renewed = {line: of_line(invoices, line)[-1] for line in (twelve, annual)}
    assert sorted(i.number for i in renewed.values()) == ["INV-2027-000001", "INV-2027-000002"]
    assert renewed[twelve].total == rub(TWELVE)
    assert worded(renewed[twelve].lines[1]) == "Discount for a 12-month term (10 %)"
    assert renewed[annual].total == rub(1800000)
    assert ledger.line(twelve).current_period == BillingPeriod(date(2027, 1, 31), date(2028, 1, 31))
    assert account_total(ledger, database, "discounts") == 2 * 180000
    assert_double_entry(ledger, database, [partner])


def test_r_c2_r_c4_r_c5_cashback_from_clients_paying_themselves_pays_another_clients_line(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    lotus = client(ledger, partner, "Салон Лотос", "owner@lotos.example")
    pilates = client(ledger, partner, "Студия Пилатес", "hello@pilates.example")
    garage = client(ledger, partner, "Автосервис Гараж")

    _, own = buy(ledger, partner, lotus, "lotus", term=Term.TWELVE_MONTHS, payer=Payer.CLIENT)
    assert (own.payer, own.payer_id, own.total) == (Payer.CLIENT, lotus, rub(TWELVE))
    assert own.expected_source is BANK
    assert emails(database, "invoice_issued")[0][0] == "owner@lotos.example"
    ledger.pay_invoice(own.id, BANK, reference="ПП № 5", key="lotus/pay")
    assert wallet(ledger, partner).balance == rub(162000)  # 10 % of 16 200.00 (R-C4)

    # The studio pays by its own card when the line starts: 1 545.00, of which 45.00 is fee.
    _, studio = buy(ledger, partner, pilates, "pilates", payer=Payer.CLIENT, card=VISA)
    assert payments(ledger.invoice(studio.id)) == [(CARD, LINE + LINE_FEE, LINE_FEE)]
    assert wallet(ledger, partner).balance == rub(162000 + 15000)  # no cashback on the fee

    credits = [e for e in logged_events(ledger, database) if isinstance(e, BonusWallet.Credited)]
    assert [(e.reason, e.client_id, e.amount.amount_minor) for e in credits] == [
        (CreditReason.CASHBACK, lotus, 162000),
        (CreditReason.CASHBACK, pilates, 15000),
    ]

    # R-C5: the bonuses are the partner's, spent on a line of a client that earned none.
    _, garage_invoice = buy(ledger, partner, garage, "garage")
    ledger.pay_invoice(garage_invoice.id, BONUS, key="garage/pay")
    assert payments(ledger.invoice(garage_invoice.id)) == [(BONUS, LINE, 0)]
    assert ledger.invoice(garage_invoice.id).status is InvoiceStatus.SETTLED
    assert wallet(ledger, partner).balance == rub(27000)
    assert_double_entry(ledger, database, [partner])

    _, more = buy(ledger, partner, garage, "garage/2")
    ledger.pay_invoice(more.id, BONUS, amount=rub(27000), key="garage/2/bonus")
    assert ledger.invoice(more.id).outstanding == rub(123000)
    ledger.pay_invoice(more.id, BANK, key="garage/2/bank")
    assert payments(ledger.invoice(more.id)) == [(BONUS, 27000, 0), (BANK, 123000, 0)]
    emptied = wallet(ledger, partner)
    assert (emptied.balance, emptied.earned) == (rub(0), rub(177000))  # partners earn none
    assert_double_entry(ledger, database, [partner])


def test_r_c4_r_o7_a_refund_of_the_card_fee_takes_no_cashback_back_the_rest_takes_it_all(
    ledger: Ledger,
) -> None:
    partner = open_partner(ledger)
    pilates = client(ledger, partner, "Студия Пилатес", "hello@pilates.example")
    _, studio = buy(ledger, partner, pilates, "pilates", payer=Payer.CLIENT, card=VISA)
    [payment_id] = [UUID(key) for key in ledger.invoice(studio.id).payments]
    assert wallet(ledger, partner).balance == rub(15000)  # 10 % of the price, none of the fee

    ledger.refund(studio.id, payment_id, rub(LINE_FEE), "Card fee waived", key="refund/fee")
    assert (wallet(ledger, partner).balance, wallet(ledger, partner).clawed_back) == (
        rub(15000),
        rub(0),
    )

    ledger.refund(studio.id, payment_id, rub(LINE), "Studio closed", key="refund/rest")
    assert (wallet(ledger, partner).balance, wallet(ledger, partner).clawed_back) == (
        rub(0),
        rub(15000),
    )


def test_r_c4_a_partner_paying_a_clients_invoice_from_its_own_balance_earns_no_cashback(
    ledger: Ledger, database: Database
) -> None:
    partner = open_partner(ledger)
    ledger.top_up(partner, rub(200000), BANK, key="top-up")
    lotus = client(ledger, partner, "Салон Лотос", "owner@lotos.example")
    _, own = buy(ledger, partner, lotus, "lotus", payer=Payer.CLIENT)

    ledger.pay_invoice(own.id, BALANCE, key="pay")

    assert ledger.invoice(own.id).status is InvoiceStatus.SETTLED
    assert ledger.partner_account(partner).balance == rub(50000)
    events = logged_events(ledger, database)
    assert [e.amount for e in events if isinstance(e, BonusWallet.Credited)] == []


def test_r_c6_invoice_autopay_issues_the_next_invoice_five_days_before_the_period_ends(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    line, first = buy(ledger, partner, client(ledger, partner, "Кофейня Зерно"), "cafe")
    ledger.pay_invoice(first.id, BANK, key="pay/1")
    ledger.set_line_autopay(line, BANK, key="autopay")
    work = query(database, "SELECT kind, due_on FROM schedule WHERE subject_id = %s", line)
    assert set(work) == {("renew", date(2026, 2, 28)), ("invoice_ahead", date(2026, 2, 23))}

    clock.set(at(2026, 2, 22, 20))  # 23:00 in Moscow: not yet
    assert tick(ledger, clock.now()).total == 0
    clock.set(at(2026, 2, 23))
    assert tick(ledger, clock.now()).done["invoice_ahead"] == 1

    ahead = issued(ledger, database, partner)[1]
    assert (ahead.number, ahead.issued_on) == ("INV-2026-000002", date(2026, 2, 23))
    assert (ahead.due_on, ahead.expected_source) == (date(2026, 3, 9), BANK)
    assert ahead.lines[0].period == FEB_28_TO_MAR_31
    assert ledger.line(line).current_period == JAN_31_TO_FEB_28
    ledger.pay_invoice(ahead.id, BANK, key="pay/2")

    clock.set(at(2026, 2, 28))
    assert tick(ledger, clock.now()).done["renew"] == 1
    assert len(issued(ledger, database, partner)) == 2  # the renewal was already invoiced
    assert ledger.line(line).current_period == FEB_28_TO_MAR_31

    clock.set(at(2026, 3, 26))
    tick(ledger, clock.now())
    third = issued(ledger, database, partner)[2]
    assert (third.number, third.issued_on) == ("INV-2026-000003", date(2026, 3, 26))
    assert third.lines[0].period == MAR_31_TO_APR_30
    assert [to for to, _, _ in emails(database, "invoice_issued")] == ["buh@p1.example"] * 3


def test_r_c6_invoice_autopay_chosen_for_the_whole_account_also_invoices_five_days_ahead(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    ledger.set_account_autopay(partner, BANK, key="autopay")
    _, first = buy(ledger, partner, client(ledger, partner, "Кофейня Зерно"), "cafe")
    ledger.pay_invoice(first.id, BANK, key="pay/1")

    clock.set(at(2026, 2, 23))
    tick(ledger, clock.now())

    ahead = issued(ledger, database, partner)[1:]
    assert [(i.number, i.issued_on, i.lines[0].period) for i in ahead] == [
        ("INV-2026-000002", date(2026, 2, 23), FEB_28_TO_MAR_31)
    ]


def test_r_c6_autopay_from_the_company_balance_and_by_card_pays_renewals_when_issued(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    ledger.top_up(partner, rub(300000), BANK, key="top-up")
    ledger.add_payment_method(partner, VISA, make_default=True, key="card")
    cafe = client(ledger, partner, "Кофейня Зерно")
    from_balance, first = buy(ledger, partner, cafe, "balance")
    ledger.pay_invoice(first.id, BALANCE, key="pay/1")
    ledger.set_line_autopay(from_balance, BALANCE, key="autopay/1")
    by_card, second = buy(ledger, partner, cafe, "card")
    ledger.pay_invoice(second.id, BANK, key="pay/2")
    ledger.set_line_autopay(by_card, CARD, key="autopay/2")

    clock.set(at(2026, 2, 28))
    tick(ledger, clock.now())

    invoices = issued(ledger, database, partner)
    renewed = of_line(invoices, from_balance)[1]
    assert (renewed.status, renewed.issued_on) == (InvoiceStatus.SETTLED, date(2026, 2, 28))
    assert renewed.due_on == date(2026, 2, 28)  # due when issued: the balance pays at once
    assert payments(renewed) == [(BALANCE, LINE, 0)]
    assert ledger.partner_account(partner).balance == rub(0)
    charged = of_line(invoices, by_card)[1]
    assert charged.status is InvoiceStatus.SETTLED
    assert payments(charged) == [(CARD, LINE + LINE_FEE, LINE_FEE)]
    assert_double_entry(ledger, database, [partner])


def test_r_c7_closing_documents_after_invoice_card_or_balance_never_for_bonuses_or_top_ups(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner = open_partner(ledger)
    ledger.add_payment_method(partner, VISA, make_default=True, key="card")
    ledger.top_up(partner, rub(200000), BANK, key="top-up")
    ledger.top_up(partner, rub(50000), CARD, key="top-up/card")
    assert ledger.partner_account(partner).balance == rub(250000)
    assert not [e for e in logged_events(ledger, database) if isinstance(e, Invoice.Event)]
    lotus = client(ledger, partner, "Салон Лотос", "owner@lotos.example")
    cafe = client(ledger, partner, "Кофейня Зерно")
    _, own = buy(ledger, partner, lotus, "lotus", term=Term.TWELVE_MONTHS, payer=Payer.CLIENT)
    ledger.pay_invoice(own.id, BANK, key="lotus/pay")  # 162 000 bonus
    paid = {}
    for source in (BANK, CARD, BALANCE, BONUS):
        _, paid[source] = buy(ledger, partner, cafe, f"cafe/{source.value}")
        ledger.pay_invoice(paid[source].id, source, key=f"pay/{source.value}")
    _, unpaid = buy(ledger, partner, cafe, "cafe/unpaid")

    documents = [
        ledger.request_closing_document(paid[source].id, key=f"act/{source.value}").data
        for source in (BANK, CARD, BALANCE)  # an act for a card covers the line, not the fee
    ]
    assert [(d["document_number"], d["amount_minor"], d["currency"]) for d in documents] == [
        ("ACT-2026-000001", LINE, "RUB"),
        ("ACT-2026-000002", LINE, "RUB"),
        ("ACT-2026-000003", LINE, "RUB"),
    ]
    refusals = {}
    for name, invoice_id in (
        ("bonus", paid[BONUS].id),
        ("again", paid[BANK].id),
        ("unpaid", unpaid.id),
    ):
        with pytest.raises(ClosingDocumentNotAllowed) as refused:
            ledger.request_closing_document(invoice_id, key=f"act/{name}")
        refusals[name] = refused.value.fields["reason"]
    assert refusals == {
        "bonus": "paid_with_bonuses",
        "again": "already_requested",
        "unpaid": "not_paid",
    }
    # The client that paid its own line gets its own act, and the refusals left no gap.
    act = ledger.request_closing_document(own.id, key="act/lotus").data
    assert (act["document_number"], act["amount_minor"]) == ("ACT-2026-000004", TWELVE)
    events = logged_events(ledger, database)
    requested = [e.client_id for e in events if isinstance(e, Invoice.ClosingDocumentRequested)]
    assert requested == [cafe, cafe, cafe, lotus]
    assert_double_entry(ledger, database, [partner])


def test_r_c8_one_partners_clients_lines_and_invoices_never_mix_with_anothers(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    first = open_partner(ledger, "p1", "Интегратор Плюс")
    second = open_partner(ledger, "p2", "Чат Сервис")
    cafe = client(ledger, first, "Кофейня Зерно")
    lotus = client(ledger, first, "Салон Лотос", "owner@lotos.example")
    garage = client(ledger, second, "Автосервис Гараж")
    cafe_line, cafe_invoice = buy(ledger, first, cafe, "p1/cafe")
    lotus_line, lotus_invoice = buy(ledger, first, lotus, "p1/lotus", payer=Payer.CLIENT)
    garage_line, garage_invoice = buy(ledger, second, garage, "p2/garage")

    invoices = "SELECT invoice_id, payer_id FROM open_invoices WHERE partner_id = %s"
    lines = "SELECT line_id, client_id FROM line_index WHERE partner_id = %s"
    assert set(query(database, invoices, first)) == {
        (cafe_invoice.id, first),
        (lotus_invoice.id, lotus),  # the client pays it, but it is still the partner's
    }
    assert query(database, invoices, second) == [(garage_invoice.id, second)]
    assert set(query(database, lines, first)) == {(cafe_line, cafe), (lotus_line, lotus)}
    assert query(database, lines, second) == [(garage_line, garage)]
    assert set(ledger.partner_account(first).clients) == {str(cafe), str(lotus)}
    assert set(ledger.partner_account(second).clients) == {str(garage)}

    with pytest.raises(ClientNotFound):
        ledger.create_line(first, garage, "messaging-line", key="p1/garage/line")
    ledger.top_up(first, rub(300000), BANK, key="p1/top-up")
    with pytest.raises(InsufficientBalance):  # only the second partner's balance could pay
        ledger.pay_invoice(garage_invoice.id, BALANCE, key="p2/pay")
    assert ledger.partner_account(first).balance == rub(300000)
    assert ledger.partner_account(second).balance == rub(0)

    sent = {subject.split()[1]: to for to, subject, _ in emails(database, "invoice_issued")}
    assert sent == {
        cafe_invoice.number: "buh@p1.example",
        lotus_invoice.number: "owner@lotos.example",
        garage_invoice.number: "buh@p2.example",
    }
    assert [i.id for i in issued(ledger, database, second)] == [garage_invoice.id]
    assert_double_entry(ledger, database, [first, second])
