"""Rules the invoice routes used to decide themselves, now decided once in the ledger: whose
invoice a command may act on (a partner's own only: another's is not found, R-C8), that only
the vendor records money received outside the gateway (R-H2), and, for charges and refunds,
which call the processor first, both checked and the key asked before the processor is called
(R-X5). Each test writes a handful of commands on its own database: about 0.1 s each."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from domain.errors import InvoiceNotFound
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.values import VENDOR, Actor
from ledger.application import Ledger
from ledger.command_records import CommandResult
from ledger.commands import invoices as invoice_commands
from ledger.commands.base import LedgerCommand
from ledger.commands.charges import RecordCharge
from ledger.commands.closing_documents import RequestClosingDocument
from ledger.commands.invoice_corrections import IssueCreditNote, RecordRefund, VoidInvoice
from ledger.database import Database
from ledger.errors import IdempotencyKeyReused, VendorOnly
from ledger.fingerprints import REQUEST_VERSION_PREFIX, VERSION_PREFIX, is_same_command
from ledger.payments.simulator import SimulatedGateway
from tests.ledger.payments_support import SIGNATURES, VISA, open_partner

USD = "USD"


def _events(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(str(row[0]))


def _other_partner(ledger: Ledger) -> Actor:
    other = ledger.open_partner_account(name="Globex", currency=USD, time_zone="UTC")
    assert other.aggregate_id is not None
    return Actor(other.aggregate_id)


def test_r_c8_a_partner_acting_on_another_partners_invoice_is_told_it_does_not_exist(
    ledger: Ledger, database: Database
) -> None:
    """Every command on an invoice decides ownership itself (no load before it): another
    partner gets the invoice's not-found, for each command, and nothing is written; the
    owner and the vendor act."""
    owner, _, (invoice_id,) = open_partner(ledger)
    stranger = _other_partner(ledger)
    key_id = uuid4()
    commands: list[LedgerCommand] = [
        invoice_commands.RecordPayment(
            invoice_id=invoice_id, payment_id=key_id, source=PaymentSource.CASH, actor=stranger
        ),
        invoice_commands.AnnouncePayment(
            invoice_id=invoice_id,
            payment_id=key_id,
            source=PaymentSource.CHEQUE,
            reference="Cheque 1",
            actor=stranger,
        ),
        invoice_commands.ConfirmPayment(invoice_id=invoice_id, payment_id=key_id, actor=stranger),
        invoice_commands.PayInternally(
            invoice_id=invoice_id, source=PaymentSource.COMPANY_BALANCE, actor=stranger
        ),
        invoice_commands.MarkPendingPaid(invoice_id=invoice_id, actor=stranger),
        VoidInvoice(invoice_id=invoice_id, reason="Wrong client", actor=stranger),
        IssueCreditNote(
            invoice_id=invoice_id,
            credit_note_id=key_id,
            amount=Money(100, USD),
            reason="Outage",
            actor=stranger,
        ),
        RequestClosingDocument(invoice_id=invoice_id, document_id=key_id, actor=stranger),
    ]
    through_the_ledger = [  # the sync methods (command line, clock, tests) carry it too
        lambda: ledger.pay_invoice(invoice_id, PaymentSource.CASH, actor=stranger),
        lambda: ledger.announce_payment(invoice_id, PaymentSource.CASH, "R1", actor=stranger),
        lambda: ledger.confirm_payment(invoice_id, key_id, actor=stranger),
        lambda: ledger.mark_pending_paid(invoice_id, actor=stranger),
        lambda: ledger.void_invoice(invoice_id, "Wrong client", actor=stranger),
        lambda: ledger.issue_credit_note(invoice_id, Money(100, USD), "Outage", actor=stranger),
        lambda: ledger.request_closing_document(invoice_id, actor=stranger),
    ]
    written = _events(database)
    for command in commands:
        with pytest.raises(InvoiceNotFound) as refused:
            ledger.execute(command)
        assert refused.value.code == "invoice_not_found", command.command_name
    for call in through_the_ledger:
        with pytest.raises(InvoiceNotFound):
            call()
    assert _events(database) == written

    announced = ledger.announce_payment(
        invoice_id, PaymentSource.CHEQUE, "Cheque 2", key="own", actor=Actor(owner)
    )
    assert announced.data["status"] == "open"
    void = ledger.execute(VoidInvoice(invoice_id=invoice_id, reason="Wrong client", actor=VENDOR))
    assert void.data["status"] == "void"


def test_r_h2_only_the_vendor_records_money_received_outside_the_gateway(
    ledger: Ledger, database: Database
) -> None:
    """A partner's own invoice: recording its cash as received is the vendor's word only
    (`VendorOnly`, answered 403 by the edge), and nothing is written; the vendor records it."""
    owner, _, (invoice_id,) = open_partner(ledger)
    written = _events(database)
    with pytest.raises(VendorOnly):
        ledger.pay_invoice(invoice_id, PaymentSource.CASH, key="cash", actor=Actor(owner))
    assert _events(database) == written
    paid = ledger.pay_invoice(invoice_id, PaymentSource.CASH, key="cash")
    assert (paid.data["status"], paid.data["outstanding_minor"]) == ("settled", 0)


def test_r_c8_a_charge_or_refund_of_another_partners_invoice_never_reaches_the_processor(
    ledger: Ledger, gateway: SimulatedGateway, database: Database
) -> None:
    """Ownership is checked before the processor is called: no charge and no refund is made
    for a stranger, and nothing is written."""
    _, _, (invoice_id,) = open_partner(ledger, VISA)
    paid = ledger.charge_invoice(invoice_id, key="owner-charge")
    assert len(gateway.charges) == 1
    stranger = _other_partner(ledger)
    written = _events(database)

    with pytest.raises(InvoiceNotFound):
        ledger.charge_invoice(invoice_id, key="stranger-charge", actor=stranger)
    with pytest.raises(InvoiceNotFound):
        ledger.refund(
            invoice_id,
            UUID(paid.data["payment_id"]),
            Money(100, USD),
            "Goodwill",
            key="stranger-refund",
            actor=stranger,
        )
    assert (len(gateway.charges), len(gateway.refunds)) == (1, 0)
    assert _events(database) == written


def test_r_x5_a_charge_key_reused_for_another_invoice_is_refused_before_the_processor_is_called(
    ledger: Ledger, gateway: SimulatedGateway, database: Database
) -> None:
    """The charge's key is asked with the request (invoice, method asked for) before the
    processor is called: the same request answers as the first (one charge), another
    invoice or another method under the key is refused with no charge and nothing written."""
    _, (card,), (first, second) = open_partner(ledger, VISA, lines=2)
    charged = ledger.charge_invoice(first, key="k")
    again = ledger.charge_invoice(first, key="k")
    written = _events(database)

    assert (again.replayed, again.data) == (True, charged.data)
    assert charged.data["currency"] == USD
    for other_request in (
        lambda: ledger.charge_invoice(second, key="k"),
        lambda: ledger.charge_invoice(first, method_id=card, key="k"),
        lambda: ledger.pay_invoice(first, PaymentSource.CARD, key="k"),
    ):
        with pytest.raises(IdempotencyKeyReused):
            other_request()
    assert len(gateway.charges) == 1
    assert _events(database) == written


def test_r_x5_a_refund_key_reused_for_another_amount_is_refused_before_the_processor_is_called(
    ledger: Ledger, gateway: SimulatedGateway, database: Database
) -> None:
    _, _, (invoice_id,) = open_partner(ledger, VISA)
    payment_id = UUID(ledger.charge_invoice(invoice_id, key="charge").data["payment_id"])
    refunded = ledger.refund(invoice_id, payment_id, Money(100, USD), "Goodwill", key="r")
    again = ledger.refund(invoice_id, payment_id, Money(100, USD), "Goodwill", key="r")
    written = _events(database)

    assert (again.replayed, again.data["refund_id"]) == (True, refunded.data["refund_id"])
    with pytest.raises(IdempotencyKeyReused):
        ledger.refund(invoice_id, payment_id, Money(200, USD), "Goodwill", key="r")
    assert len(gateway.refunds) == 1
    assert _events(database) == written


def test_a_charge_and_a_refund_are_fingerprinted_by_their_request_not_by_the_answer() -> None:
    """What the processor answered (and what was decided from the invoice then) is left out
    (`v3:`); a charge or refund recorded before (a `v2:` or legacy digest) replays by its key
    alone, as it did."""
    invoice_id, payment_id = uuid4(), uuid4()
    request = RecordCharge(invoice_id=invoice_id, payment_id=payment_id)
    decided = RecordCharge(
        invoice_id=invoice_id,
        payment_id=payment_id,
        source=PaymentSource.DIRECT_DEBIT,
        amount=Money(SIGNATURES, USD),
    )
    refund = RecordRefund(
        invoice_id=invoice_id,
        payment_id=payment_id,
        refund_id=uuid4(),
        amount=Money(100, USD),
        reason="Goodwill",
    )
    answered = RecordRefund(**{**refund.__dict__, "gateway_refund_id": "sim_re_1"})

    assert request.fingerprint() == decided.fingerprint()
    assert request.fingerprint().startswith(REQUEST_VERSION_PREFIX)
    assert refund.fingerprint() == answered.fingerprint()
    other = RecordCharge(invoice_id=uuid4(), payment_id=payment_id)
    assert not is_same_command(other, "record_charge", request.fingerprint())
    for recorded in (f"{VERSION_PREFIX}{'0' * 64}", "ab" * 32):
        assert is_same_command(request, "record_charge", recorded)
        assert is_same_command(refund, "record_refund", recorded)
    assert not is_same_command(refund, "record_charge", "ab" * 32)


def test_an_answer_recorded_before_it_carried_the_currency_is_completed_from_the_invoice(
    ledger: Ledger,
) -> None:
    """A key used before answers carried the invoice's currency (and number) replays with
    them: the edge's answer needs both, and neither ever changes."""
    _, _, (invoice_id,) = open_partner(ledger)
    result = ledger.void_invoice(invoice_id, "Wrong client", key="void")
    legacy = {k: v for k, v in result.data.items() if k not in ("currency", "number")}
    old = CommandResult(result.aggregate_id, result.position, legacy, replayed=True)

    completed = ledger.completed_invoice_answer(old)

    assert completed.data == result.data
    assert (completed.position, completed.replayed) == (result.position, True)
    assert ledger.completed_invoice_answer(result) is result


def test_r_x5_a_charge_that_lost_its_key_to_another_request_refunds_nothing(
    ledger: Ledger, gateway: SimulatedGateway
) -> None:
    """Two requests under one key, both past the question before either was written (a race
    a sequential test can only stage): the second gets the first's charge back from the
    processor (same key), and its refusal must not refund that money, which paid the first."""
    _, _, (first, second) = open_partner(ledger, VISA, lines=2)
    late = ledger.invoice(second)
    account = ledger.partner_account(late.partner_id)
    method, line_id = ledger.charging.paying_method(account, late, None, None)
    ledger.charge_invoice(first, key="k")

    with pytest.raises(IdempotencyKeyReused):
        ledger.charging._charge(
            RecordCharge(invoice_id=second, payment_id=uuid4()), late, account, method, line_id, "k"
        )

    assert (len(gateway.charges), len(gateway.refunds)) == (1, 0)
    assert ledger.invoice(first).outstanding.amount_minor == 0
