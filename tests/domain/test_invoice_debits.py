"""Direct debits (ACH) on an invoice: submitted, then settled or bounced (R-C2, R-H2).

A debit the processor accepted is on its way: the invoice is neither failed nor overdue while
it is, nothing else may pay what it covers, and it ends as a payment or as a failed charge.
"""

from __future__ import annotations

from uuid import uuid4

from domain.invoice import Invoice, InvoiceStatus
from domain.payment_methods import PaymentSource
from tests.domain.gwt import NOW, TODAY, given, then_events, then_refused
from tests.domain.invoicing import BANK, DEBIT, LATE, issue, usd

DEBIT_ID = uuid4()


def submitted(minor: int = 10_000) -> Invoice:
    invoice = issue(minor, expected=DEBIT)
    invoice.record_pending_debit(
        payment_id=DEBIT_ID, amount=usd(minor), reference="sim_ach_ok", on=TODAY, now=NOW
    )
    return given(invoice)


def test_r_c2_a_submitted_debit_is_pending_not_paid() -> None:
    invoice = given(issue(10_000, expected=DEBIT))
    invoice.record_pending_debit(
        payment_id=DEBIT_ID, amount=usd(10_000), reference="sim_ach_ok", on=TODAY, now=NOW
    )
    then_events(
        invoice,
        (Invoice.PaymentPending, {"payment_id": DEBIT_ID, "amount": usd(10_000)}),
    )
    assert (invoice.status, invoice.outstanding, invoice.is_outstanding) == (
        InvoiceStatus.OPEN,
        usd(10_000),
        False,
    )


def test_r_c2_a_settled_debit_pays_the_invoice() -> None:
    invoice = submitted()
    invoice.record_payment(payment_id=DEBIT_ID, source=DEBIT, amount=usd(10_000), on=TODAY, now=NOW)
    then_events(
        invoice,
        (Invoice.PaymentReceived, {"payment_id": DEBIT_ID, "source": DEBIT}),
        (Invoice.Settled, {"settled_on": TODAY}),
    )
    assert invoice.pending == {}


def test_r_h2_a_bounced_debit_is_a_failed_payment() -> None:
    invoice = submitted()
    invoice.record_failed_payment(
        payment_id=DEBIT_ID,
        source=DEBIT,
        amount=usd(10_000),
        decline_code="account_closed",
        reason="The bank account is closed.",
        on=TODAY,
        now=NOW,
    )
    then_events(invoice, (Invoice.PaymentFailed, {"decline_code": "account_closed"}))
    assert (invoice.pending, invoice.is_outstanding) == ({}, True)


def test_r_h2_an_invoice_with_a_debit_on_its_way_is_not_marked_overdue() -> None:
    invoice = issue(10_000, expected=BANK)
    invoice.record_pending_debit(
        payment_id=DEBIT_ID, amount=usd(10_000), reference="sim_ach_ok", on=TODAY, now=NOW
    )
    given(invoice)
    assert invoice.mark_overdue(LATE, NOW) is False
    then_events(invoice)


def test_r_c2_nothing_else_pays_what_a_debit_on_its_way_covers() -> None:
    invoice = submitted(10_000)
    with then_refused(invoice, "overpayment", {"outstanding": 0}):
        invoice.record_payment(
            payment_id=uuid4(),
            source=PaymentSource.BANK_TRANSFER,
            amount=usd(1),
            on=TODAY,
            now=NOW,
        )
    with then_refused(invoice, "invalid_value", {"field": "amount"}):
        invoice.record_payment(
            payment_id=DEBIT_ID, source=DEBIT, amount=usd(9_999), on=TODAY, now=NOW
        )


# A processor id with a Luhn-valid run of 16 digits, as one in about 300 random ids has.
PROCESSOR_ID = "sim_ch_4242424242424242ab"


def test_r_x4_a_processors_id_is_its_own_not_text_checked_for_card_numbers() -> None:
    debit = given(issue(10_000, expected=DEBIT))
    debit.record_pending_debit(
        payment_id=DEBIT_ID, amount=usd(10_000), reference=PROCESSOR_ID, on=TODAY, now=NOW
    )
    card = given(issue(10_000, expected=PaymentSource.CARD))
    card.record_payment(
        payment_id=uuid4(),
        source=PaymentSource.CARD,
        amount=usd(10_000),
        reference=PROCESSOR_ID,
        on=TODAY,
        now=NOW,
    )
    assert card.status is InvoiceStatus.SETTLED


def test_r_x4_a_typed_transfer_reference_holding_a_card_number_is_refused() -> None:
    invoice = given(issue(10_000, expected=BANK))
    with then_refused(invoice, "card_number_in_text", {"field": "reference"}):
        invoice.record_payment(
            payment_id=uuid4(),
            source=BANK,
            amount=usd(10_000),
            reference="paid with 4242 4242 4242 4242",
            on=TODAY,
            now=NOW,
        )
