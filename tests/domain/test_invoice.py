"""Invoice: given events, when a command, then events or a refusal.

Rules: R-X3 (number as given), R-O3 (a line per location), R-O7 (card fee line), R-C2 (payment
sources, partial payments, overpayment), R-H2 and R-H4 (overdue, failed card charges), R-H5
(mark as paid), R-H6 (refunds), R-X6 (void, credit notes), R-C7 (closing documents). The
state machine over random commands is in test_invoice_machine.py.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain.errors import BillingError
from domain.invoice import MARKED_PAID_NOTE, Invoice, InvoiceStatus
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.values import InvoiceLine, InvoiceLineKind, Location, Payer
from tests.domain.gwt import NOW, TODAY, given, then_events, then_refused
from tests.domain.invoicing import (
    BALANCE,
    BANK,
    BONUS,
    CARD,
    CASH,
    CLIENT,
    DEBIT,
    DUE,
    GATEWAY,
    LATE,
    LINE,
    NUMBER,
    OFFLINE,
    POLICY,
    credit,
    document,
    fail,
    issue,
    pay,
    product,
    refund,
    usd,
)

OPEN, SETTLED, VOID = InvoiceStatus.OPEN, InvoiceStatus.SETTLED, InvoiceStatus.VOID
CARD_FEE = InvoiceLineKind.CARD_FEE

# --- issuing (R-X3, R-O3) -------------------------------------------------------------------


def test_r_x3_the_invoice_carries_its_number_as_given() -> None:
    invoice = issue(6_000, 4_000, payer=Payer.CLIENT)
    expected = {"number": NUMBER, "payer_id": CLIENT, "total": usd(10_000), "line_ids": (LINE,)}
    then_events(invoice, (Invoice.Issued, expected))
    assert (invoice.number, invoice.status, invoice.outstanding) == (NUMBER, OPEN, usd(10_000))


@pytest.mark.parametrize(
    ("lines", "code", "fields"),
    [
        ((), "invalid_value", {"field": "lines"}),
        ((100, -100), "amount_not_positive", {"field": "lines"}),
        ((100, product(5, currency="EUR")), "currency_mismatch", {"expected": "USD", "got": "EUR"}),
    ],
)
def test_r_x3_an_invoice_needs_lines_with_a_positive_total_in_one_currency(
    lines: tuple[int | InvoiceLine, ...], code: str, fields: dict[str, str]
) -> None:
    with pytest.raises(BillingError) as refused:
        issue(*lines)
    assert (refused.value.code, refused.value.fields) == (code, fields)


def test_r_o3_the_invoice_keeps_one_line_per_location() -> None:
    places = [Location(UUID(int=50 + n), name) for n, name in enumerate(("Main St", "Harbour"))]
    discount = InvoiceLine(InvoiceLineKind.DISCOUNT, usd(-600), description="12-month discount")
    invoice = issue(*[product(3_000, place) for place in places], discount)
    then_events(invoice, (Invoice.Issued, {"total": usd(5_400)}))
    assert [line.location for line in invoice.lines] == [*places, None]


# --- paying (R-O7, R-C2) --------------------------------------------------------------------


def test_r_o7_a_card_payment_adds_the_3_percent_fee_as_its_own_line() -> None:
    invoice = given(issue(10_000, expected=CARD))
    charge, fee_line = invoice.card_charge(POLICY)
    assert fee_line is not None
    assert (charge, fee_line.kind, fee_line.amount) == (usd(10_300), CARD_FEE, usd(300))
    payment_id = pay(invoice, CARD, charge, fee_line)
    then_events(
        invoice,
        (Invoice.CardFeeAdded, {"line": fee_line}),
        (Invoice.PaymentReceived, {"payment_id": payment_id, "amount": charge, "fee": usd(300)}),
        (Invoice.Settled, {"settled_on": TODAY}),
    )
    assert (invoice.total, invoice.lines[-1]) == (usd(10_300), fee_line)


@pytest.mark.parametrize(
    ("source", "reference", "code", "field"),
    # A card payment's reference is the processor's id: one word (R-X4's check is for text).
    [(BANK, None, "invalid_value", "fee"), (CARD, "not an id", "invalid_value", "reference")],
)
def test_r_o7_a_refused_card_payment_adds_no_fee_line(
    source: PaymentSource, reference: str | None, code: str, field: str
) -> None:
    invoice = given(issue(10_000))
    charge, fee_line = invoice.card_charge(POLICY)
    with then_refused(invoice, code, {"field": field}):
        pay(invoice, source, charge, fee_line, reference)


@pytest.mark.parametrize("source", [CARD, BALANCE, BANK, BONUS, DEBIT])
def test_r_c2_each_source_pays_in_part_then_in_full(source: PaymentSource) -> None:
    invoice = given(issue(10_000))
    first = pay(invoice, source, 4_000)
    then_events(invoice, (Invoice.PaymentReceived, {"payment_id": first, "source": source}))
    assert (invoice.status, invoice.outstanding) == (OPEN, usd(6_000))
    second = pay(invoice, source, 6_000)
    then_events(
        invoice,
        (Invoice.PaymentReceived, {"payment_id": second, "amount": usd(6_000), "fee": usd(0)}),
        (Invoice.Settled, {"settled_on": TODAY}),
    )
    assert (invoice.status, invoice.paid) == (SETTLED, usd(10_000))


@pytest.mark.parametrize(
    ("amount", "code", "fields"),
    [
        (usd(10_001), "overpayment", {"outstanding": 10_000}),
        (Money(10_000, "EUR"), "currency_mismatch", {"expected": "USD", "got": "EUR"}),
        (usd(0), "amount_not_positive", {"field": "amount"}),
    ],
)
def test_r_c2_a_payment_above_the_outstanding_or_in_another_currency_is_refused(
    amount: Money, code: str, fields: dict[str, object]
) -> None:
    invoice = given(issue(10_000))
    with then_refused(invoice, code, fields):
        pay(invoice, BANK, amount)


def test_r_c2_a_payment_is_recorded_once_and_a_settled_invoice_takes_no_more() -> None:
    invoice = issue(10_000)
    first = pay(given(invoice), BANK, 4_000)
    with then_refused(given(invoice), "invalid_value", {"field": "payment_id"}):
        pay(invoice, BANK, 1, payment_id=first)
    pay(invoice, BANK)
    with then_refused(given(invoice), "invoice_already_settled", {"number": NUMBER}):
        pay(invoice, BANK, 1)


# --- overdue and failed (R-H2, R-H4, R-H5) --------------------------------------------------


@pytest.mark.parametrize("source", [*OFFLINE, BANK, None])
def test_r_h2_an_offline_invoice_becomes_overdue_only_after_its_due_date(
    source: PaymentSource | None,
) -> None:
    invoice = given(issue(10_000, expected=source))
    assert invoice.mark_overdue(DUE, NOW) is False
    then_events(invoice)
    assert invoice.mark_overdue(LATE, NOW) is True
    then_events(invoice, (Invoice.MarkedOverdue, {"overdue_on": LATE}))
    assert invoice.is_outstanding
    assert invoice.mark_overdue(LATE + timedelta(days=1), NOW) is False
    then_events(invoice)


@pytest.mark.parametrize(("source", "paid"), [(CARD, False), (DEBIT, False), (CASH, True)])
def test_r_h2_a_card_or_paid_invoice_is_never_marked_overdue(
    source: PaymentSource, paid: bool
) -> None:
    invoice = issue(10_000, expected=source)
    if paid:
        pay(invoice, source)
    assert given(invoice).mark_overdue(DUE + timedelta(days=60), NOW) is False
    then_events(invoice)
    assert not invoice.is_outstanding


@pytest.mark.parametrize("source", GATEWAY)
def test_r_h2_a_declined_charge_is_recorded_and_the_invoice_is_outstanding(
    source: PaymentSource,
) -> None:
    invoice = given(issue(10_000, expected=source))
    fail(invoice, source)
    expected = {"source": source, "amount": usd(10_000), "decline_code": "expired_card"}
    then_events(invoice, (Invoice.PaymentFailed, expected))
    assert (invoice.status, invoice.is_outstanding) == (OPEN, True)
    with then_refused(invoice, "invalid_value", {"field": "source"}):
        fail(invoice, CASH)


def test_r_h4_the_failure_carries_the_reason_for_the_customer() -> None:
    invoice = given(issue(10_000, expected=CARD))
    fail(invoice, reason="  Your card   has expired. ")
    then_events(invoice, (Invoice.PaymentFailed, {"reason": "Your card has expired."}))
    assert invoice.last_decline == "expired_card"
    with then_refused(invoice, "invalid_value", {"field": "reason"}):
        fail(invoice, reason=" ")


@pytest.mark.parametrize("failed", [True, False])
def test_r_h5_mark_paid_settles_a_failed_or_overdue_invoice_with_an_other_payment(
    failed: bool,
) -> None:
    invoice = issue(10_000, expected=CARD if failed else PaymentSource.CHEQUE)
    pay(invoice, BANK, 2_500)
    if failed:
        fail(invoice)
    else:
        invoice.mark_overdue(LATE, NOW)
    given(invoice).mark_paid(UUID(int=71), TODAY, NOW)
    other = {"source": PaymentSource.OTHER, "amount": usd(7_500), "note": MARKED_PAID_NOTE}
    then_events(invoice, (Invoice.PaymentReceived, other), (Invoice.Settled, {}))
    assert not invoice.is_outstanding


@pytest.mark.parametrize("paid", [False, True])
def test_r_h5_mark_paid_is_refused_when_nothing_is_outstanding(paid: bool) -> None:
    invoice = issue(10_000, expected=CARD)
    if paid:
        fail(invoice)
        pay(invoice, CARD)
    with then_refused(given(invoice), "nothing_outstanding", {"number": NUMBER}):
        invoice.mark_paid(uuid4(), TODAY, NOW)


# --- refunds (R-H6) -------------------------------------------------------------------------


def test_r_h6_a_card_payment_is_refunded_in_part_and_in_full() -> None:
    invoice = issue(10_000)
    card = pay(invoice, CARD)
    refund(given(invoice), card, 3_000)
    expected = {"payment_id": card, "source": CARD, "amount": usd(3_000)}
    then_events(invoice, (Invoice.PaymentRefunded, expected))
    refund(invoice, card, 7_300)
    then_events(invoice, (Invoice.PaymentRefunded, {"amount": usd(7_300)}))
    assert (invoice.refunded, invoice.status) == (usd(10_300), SETTLED)
    with then_refused(invoice, "refund_exceeds_payment", {"refundable": 0}):
        refund(invoice, card, 1)


@pytest.mark.parametrize("source", [BALANCE, BANK, DEBIT])
def test_r_h6_refunds_never_exceed_what_that_payment_paid_and_was_not_refunded(
    source: PaymentSource,
) -> None:
    invoice = issue(10_000)
    first, second = pay(invoice, source, 4_000), pay(invoice, source, 6_000)
    refund(invoice, first, 1_000)
    with then_refused(given(invoice), "refund_exceeds_payment", {"refundable": 3_000}):
        refund(invoice, first, 3_001)
    refund(invoice, first, 3_000)
    refund(invoice, second, 6_000)
    then_events(invoice, (Invoice.PaymentRefunded, {}), (Invoice.PaymentRefunded, {}))
    assert [payment.refunded for payment in invoice.payments.values()] == [usd(4_000), usd(6_000)]


@pytest.mark.parametrize(
    ("source", "code"),
    [(source, "offline_payment_not_refundable") for source in OFFLINE]
    + [(BONUS, "bonus_payment_not_refundable")],
)
def test_r_h6_cash_cheque_other_and_bonus_payments_are_not_refunded(
    source: PaymentSource, code: str
) -> None:
    invoice = issue(10_000)
    payment_id, stranger = pay(invoice, source), uuid4()
    with then_refused(given(invoice), code, {"source": source.value}):
        refund(invoice, payment_id, 1)
    with then_refused(invoice, "payment_not_found", {"payment_id": stranger}):
        refund(invoice, stranger, 1)


# --- corrections (R-X6) ---------------------------------------------------------------------


def test_r_x6_an_unpaid_invoice_is_voided_and_then_takes_nothing() -> None:
    invoice = given(issue(10_000))
    invoice.void("issued twice", TODAY, NOW)
    then_events(invoice, (Invoice.Voided, {"amount": usd(10_000), "reason": "issued twice"}))
    assert (invoice.status, invoice.outstanding) == (VOID, usd(0))
    for command in (
        lambda: pay(invoice, BANK, 1),
        lambda: credit(invoice, 1),
        lambda: fail(invoice),
        lambda: invoice.void("again", TODAY, NOW),
    ):
        with then_refused(invoice, "invoice_voided", {"number": NUMBER}):
            command()


@pytest.mark.parametrize("paid", [True, False])
def test_r_x6_an_invoice_with_payments_cannot_be_voided(paid: bool) -> None:
    invoice = issue(10_000)
    if paid:
        pay(invoice, CARD, 100)
    else:
        credit(invoice, 100)
    with then_refused(given(invoice), "void_not_allowed", {"number": NUMBER}):
        invoice.void("mistake", TODAY, NOW)


@pytest.mark.parametrize("minor", [3_000, 9_000])
def test_r_x6_credit_notes_credit_up_to_the_total_and_settle_what_they_cover(minor: int) -> None:
    invoice = issue(10_000)
    pay(invoice, BANK, 6_000)
    credit(invoice, 1_000)
    with then_refused(given(invoice), "credit_exceeds_invoice", {"creditable": 9_000}):
        credit(invoice, 9_001)
    credit(invoice, minor)
    expected = {"amount": usd(minor), "credit_note_number": "CN-1"}
    then_events(invoice, (Invoice.CreditNoteIssued, expected), (Invoice.Settled, {}))
    # Credited beyond what was still owed, the payer is owed the difference.
    assert (invoice.status, invoice.outstanding) == (SETTLED, usd(3_000 - minor))


# --- closing documents (R-C7) ---------------------------------------------------------------


def test_r_c7_the_closing_document_covers_card_bank_and_balance_net_of_refunds_and_fees() -> None:
    invoice = issue(30_000)
    for source, minor in ((BONUS, 10_000), (BALANCE, 5_000), (BANK, 5_000)):
        pay(invoice, source, minor)
    refund(invoice, pay(invoice, CARD), 2_000)
    assert document(given(invoice)) == usd(18_000)
    expected = {"amount": usd(18_000), "client_id": CLIENT}
    then_events(invoice, (Invoice.ClosingDocumentRequested, expected))
    refusal = {"reason": "already_requested", "number": NUMBER}
    with then_refused(invoice, "closing_document_not_allowed", refusal):
        document(invoice)


def test_r_c7_a_card_payment_refunded_with_its_fee_takes_nothing_from_the_others() -> None:
    invoice = issue(20_000)
    pay(invoice, BANK, 10_000)
    refund(invoice, pay(invoice, CARD), 10_300)
    assert document(given(invoice)) == usd(10_000)


@pytest.mark.parametrize(
    ("sources", "reason"),
    [
        ((BANK,), "not_paid"),
        ((BONUS, BONUS), "paid_with_bonuses"),
        ((BONUS, CASH), "paid_with_bonuses"),
        ((CASH, PaymentSource.CHEQUE), "nothing_documentable"),
    ],
)
def test_r_c7_no_closing_document_for_an_unpaid_or_bonus_paid_invoice(
    sources: tuple[PaymentSource, ...], reason: str
) -> None:
    invoice = issue(10_000)
    for source in sources:
        pay(invoice, source, 5_000)
    refusal = {"reason": reason, "number": NUMBER}
    with then_refused(given(invoice), "closing_document_not_allowed", refusal):
        document(invoice)
