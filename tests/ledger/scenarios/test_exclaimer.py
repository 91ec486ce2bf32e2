"""Exclaimer (seed 002): a client's subscription moves to a new reseller (R-E1 … R-E4).

Two resellers in Warsaw sell e-mail signatures at 99.00 PLN a month. Kowalski's line starts on
Saturday 31 January 2026 with its current reseller, Northwind, and is invoiced by bank transfer
(net 14). The billing clock, in Warsaw time, renews it and completes the transfer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from uuid import UUID, uuid4

import pytest

from domain.calendar import BillingPeriod, Term
from domain.errors import (
    BillingError,
    InvalidValue,
    InvoiceNotSettled,
    PartnerNotFound,
    TransferNotAllowed,
)
from domain.money import Money
from domain.partner_account import Client
from domain.payment_methods import PaymentSource
from domain.subscription_line import SubscriptionLine, TransferParty, TransferRequest
from domain.values import Address
from ledger.application import Ledger
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock
from ledger.database import Database
from tests.ledger.scenarios.exclaimer_housecall_support import (
    assert_double_entry,
    event_count,
    history,
    local,
    mails,
    of_type,
    scheduled,
)

WARSAW = "Europe/Warsaw"
MONTH = Money(99_00, "PLN")
YEAR = Money(12 * 99_00, "PLN")
"""Annual billing: twelve months at 99.00 PLN, 1 188.00 PLN, no duration discount."""
END_USER = "Kowalski i Synowie Sp. z o.o."
INVOICE_EMAIL = "faktury@kowalski.example"


def warsaw(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return local(WARSAW, year, month, day, hour, minute)


@dataclass(frozen=True)
class Resale:
    """Who takes part in the transfer, and the line's first invoice (INV-2026-000001)."""

    current: UUID
    new: UUID
    client: UUID
    line: UUID
    first_invoice: UUID

    def request(self, preferred: date) -> TransferRequest:
        """A request with every field R-E2 asks for (the subscription id is the line's id)."""
        return TransferRequest(
            end_user_name=END_USER,
            current_reseller_id=self.current,
            new_reseller_id=self.new,
            preferred_date=preferred,
            owner_email="admin@kowalski.example",
            invoice_email=INVOICE_EMAIL,
            billing=Term.ANNUAL,
            payment_method=PaymentSource.BANK_TRANSFER,
        )


def set_up(ledger: Ledger) -> Resale:
    """Two resellers; Kowalski's line with Northwind, started and invoiced on 31 January."""
    current = ledger.open_partner_account(
        name="Northwind IT", currency="PLN", time_zone=WARSAW, key="open/northwind"
    ).aggregate_id
    new = ledger.open_partner_account(
        name="Baltic Partners", currency="PLN", time_zone=WARSAW, key="open/baltic"
    ).aggregate_id
    assert current is not None
    assert new is not None
    address = Address.of(["ul. Długa 1"], "Gdańsk", "80-827", "PL")
    ledger.record_billing_profile(
        new, "Baltic Partners Sp. z o.o.", address, "billing@baltic.example", key="profile/baltic"
    )
    client = ledger.register_client(
        current, name=END_USER, email=INVOICE_EMAIL, unified_billing=False, key="client/kowalski"
    ).aggregate_id
    assert client is not None
    line = ledger.create_line(current, client, "email-signatures", key="line/kowalski")
    assert line.aggregate_id is not None
    activated = ledger.activate_line(line.aggregate_id, date(2026, 1, 31), key="activate/kowalski")
    assert activated.data["invoice_number"] == "INV-2026-000001"
    first = ledger.invoice(UUID(activated.data["invoice_id"]))
    assert (first.partner_id, first.total, first.due_on) == (current, MONTH, date(2026, 2, 14))
    return Resale(current, new, client, line.aggregate_id, first.id)


def pay(ledger: Ledger, invoice_id: UUID, key: str) -> None:
    ledger.pay_invoice(invoice_id, PaymentSource.BANK_TRANSFER, reference=key, key=key)


def open_invoice_of(ledger: Ledger, line_id: UUID, number: str) -> UUID:
    numbers = {value: UUID(key) for key, value in ledger.line(line_id).open_invoices.items()}
    return numbers[number]


def test_r_e3_a_transfer_is_refused_with_the_open_invoices_listed_until_they_are_paid(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    resale = set_up(ledger)
    clock.set(warsaw(2026, 2, 28))  # the renewal, 28 February; January's invoice is overdue
    tick(ledger, clock.now())
    assert sorted(ledger.line(resale.line).open_invoices.values()) == [
        "INV-2026-000001",
        "INV-2026-000002",
    ]
    assert ledger.invoice(resale.first_invoice).overdue
    second = open_invoice_of(ledger, resale.line, "INV-2026-000002")
    request = resale.request(date(2026, 3, 16))

    clock.set(warsaw(2026, 3, 2, 10))
    before = event_count(database)
    with pytest.raises(InvoiceNotSettled) as refused:
        ledger.request_transfer(resale.line, request, (TransferParty.CLIENT,), key="transfer/1")
    assert refused.value.code == "invoice_not_settled"
    assert refused.value.fields == {"unsettled": ["INV-2026-000001", "INV-2026-000002"]}
    assert event_count(database) == before

    pay(ledger, resale.first_invoice, "przelew-0001")
    with pytest.raises(InvoiceNotSettled) as still:
        ledger.request_transfer(resale.line, request, (TransferParty.CLIENT,), key="transfer/2")
    assert still.value.fields == {"unsettled": ["INV-2026-000002"]}

    pay(ledger, second, "przelew-0002")
    accepted = ledger.request_transfer(
        resale.line, request, (TransferParty.CLIENT,), key="transfer/3"
    )
    assert accepted.data == {
        "missing_consents": ["current_reseller", "new_reseller"],
        "effective_on": None,
    }
    events = history(ledger, database, resale.line)
    assert [type(e).__name__ for e in events[-2:]] == ["TransferRequested", "TransferConsentGiven"]
    assert ledger.line(resale.line).partner_id == resale.current
    assert "complete_transfer" not in scheduled(database, resale.line)
    assert assert_double_entry(ledger, database) == {}


def test_r_e2_a_request_short_of_what_r_e2_asks_for_is_refused_and_writes_nothing(
    ledger: Ledger, database: Database
) -> None:
    resale = set_up(ledger)
    pay(ledger, resale.first_invoice, "przelew-0001")
    good = resale.request(date(2026, 2, 16))
    refusals: list[tuple[TransferRequest, type[BillingError], dict[str, object]]] = [
        (
            replace(good, payment_method=PaymentSource.CASH),
            InvalidValue,
            {"field": "payment_method"},
        ),
        (replace(good, billing=Term.TWELVE_MONTHS), InvalidValue, {"field": "billing"}),
        (replace(good, owner_email="kowalski"), InvalidValue, {"field": "owner_email"}),
        (replace(good, invoice_email=""), InvalidValue, {"field": "invoice_email"}),
        (replace(good, end_user_name="  "), InvalidValue, {"field": "end_user_name"}),
        (
            replace(good, new_reseller_id=resale.current),
            TransferNotAllowed,
            {"reason": "same_reseller"},
        ),
        (
            replace(good, current_reseller_id=resale.new, new_reseller_id=resale.current),
            TransferNotAllowed,
            {"reason": "not_current_reseller"},
        ),
    ]
    before = event_count(database)
    for index, (request, error, fields) in enumerate(refusals):
        with pytest.raises(error) as refused:
            ledger.request_transfer(resale.line, request, tuple(TransferParty), key=f"bad/{index}")
        assert {name: refused.value.fields.get(name) for name in fields} == fields
    with pytest.raises(PartnerNotFound):
        ledger.request_transfer(resale.line, replace(good, new_reseller_id=uuid4()), key="bad/x")
    with pytest.raises(TransferNotAllowed) as no_request:
        ledger.give_consent(resale.line, TransferParty.CLIENT, key="consent/early")
    assert no_request.value.fields == {"reason": "not_requested"}
    assert event_count(database) == before
    assert ledger.line(resale.line).transfer is None


def test_r_e2_r_e4_r_e1_done_on_a_friday_a_too_early_date_moves_to_tuesday_to_the_new_reseller(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    resale = set_up(ledger)
    pay(ledger, resale.first_invoice, "przelew-0001")
    # Monday 23 February is one business day after the Friday the request completes: too early.
    request = resale.request(date(2026, 2, 23))

    clock.set(warsaw(2026, 2, 16, 10))  # Monday: the client asks, and consents
    asked = ledger.request_transfer(
        resale.line, request, (TransferParty.CLIENT,), key="transfer/kowalski"
    )
    assert asked.data == {
        "missing_consents": ["current_reseller", "new_reseller"],
        "effective_on": None,
    }
    [requested] = of_type(
        history(ledger, database, resale.line), SubscriptionLine.TransferRequested
    )
    assert requested.originator_id == resale.line  # the subscription id
    assert requested.request == request  # every R-E2 field, as asked
    assert requested.requested_on == date(2026, 2, 16)

    clock.set(warsaw(2026, 2, 19, 15))  # Thursday: the current reseller consents
    northwind = ledger.give_consent(
        resale.line, TransferParty.CURRENT_RESELLER, key="consent/northwind"
    )
    assert northwind.data == {"missing_consents": ["new_reseller"], "effective_on": None}
    assert "complete_transfer" not in scheduled(database, resale.line)

    clock.set(warsaw(2026, 2, 20, 11))  # Friday: the new reseller consents; the request is complete
    baltic = ledger.give_consent(resale.line, TransferParty.NEW_RESELLER, key="consent/baltic")
    assert baltic.data == {"missing_consents": [], "effective_on": "2026-02-24"}
    assert scheduled(database, resale.line)["complete_transfer"] == date(2026, 2, 24)

    clock.set(warsaw(2026, 2, 23, 23, 59))  # a minute before Tuesday in Warsaw
    assert tick(ledger, clock.now()).done["complete_transfer"] == 0
    assert ledger.line(resale.line).partner_id == resale.current

    clock.set(warsaw(2026, 2, 24))  # Tuesday, 00:00 in Warsaw (23:00 UTC on Monday)
    assert tick(ledger, clock.now()).done["complete_transfer"] == 1
    assert tick(ledger, clock.now()).total == 0
    moved = ledger.line(resale.line)
    assert (moved.partner_id, moved.term, moved.transfer) == (resale.new, Term.ANNUAL, None)
    transferred = history(ledger, database, resale.line)[-1]
    assert isinstance(transferred, SubscriptionLine.Transferred)
    assert (transferred.new_partner_id, transferred.effective_on) == (resale.new, date(2026, 2, 24))
    with database.connect() as conn:
        row = conn.execute(
            "SELECT partner_id FROM line_index WHERE line_id = %s", (resale.line,)
        ).fetchone()
    assert row == (resale.new,)
    assert ledger.partner_account(resale.new).client(resale.client) == Client(
        resale.client, END_USER, INVOICE_EMAIL, unified_billing=False
    )

    clock.set(warsaw(2026, 2, 28))  # the next renewal is the new reseller's, billed annually
    assert tick(ledger, clock.now()).done["renew"] == 1
    renewal = ledger.invoice(open_invoice_of(ledger, resale.line, "INV-2026-000002"))
    assert (renewal.partner_id, renewal.payer_id, renewal.total) == (resale.new, resale.new, YEAR)
    assert [item.period for item in renewal.lines] == [
        BillingPeriod(date(2026, 2, 28), date(2027, 2, 28))
    ]
    assert [to for to, _, _ in mails(database, "invoice_issued")] == ["billing@baltic.example"]
    assert all(e.partner_id == resale.new for e in history(ledger, database, renewal.id))
    assert assert_double_entry(ledger, database) == {resale.new: YEAR.amount_minor}


def test_r_e4_r_e3_a_later_preferred_date_is_kept_and_an_invoice_opened_meanwhile_holds_it_back(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    resale = set_up(ledger)
    pay(ledger, resale.first_invoice, "przelew-0001")
    # Saturday 31 January, every consent given at once: the earliest date is Tuesday 3 February,
    # so the preferred Monday 2 March stands.
    asked = ledger.request_transfer(
        resale.line, resale.request(date(2026, 3, 2)), tuple(TransferParty), key="transfer/all"
    )
    assert asked.data == {"missing_consents": [], "effective_on": "2026-03-02"}

    clock.set(warsaw(2026, 2, 28))  # Northwind still owns the line: its renewal is Northwind's
    tick(ledger, clock.now())
    march = open_invoice_of(ledger, resale.line, "INV-2026-000002")
    assert (ledger.invoice(march).partner_id, ledger.invoice(march).total) == (
        resale.current,
        MONTH,
    )

    clock.set(warsaw(2026, 3, 2))  # the effective date, with the renewal unpaid
    report = tick(ledger, clock.now())
    assert (report.done["complete_transfer"], report.refused["complete_transfer"]) == (0, 1)
    held = ledger.line(resale.line)
    assert (held.partner_id, held.transfer_effective_on) == (resale.current, date(2026, 3, 2))

    clock.set(warsaw(2026, 3, 2, 10))
    pay(ledger, march, "przelew-0002")
    assert tick(ledger, clock.now()).done["complete_transfer"] == 1
    transferred = history(ledger, database, resale.line)[-1]
    assert isinstance(transferred, SubscriptionLine.Transferred)
    assert (transferred.new_partner_id, transferred.effective_on) == (resale.new, date(2026, 3, 2))
    assert ledger.line(resale.line).partner_id == resale.new
    assert assert_double_entry(ledger, database) == {}


def test_r_e4_r_h1_a_line_cancelled_before_its_effective_date_leaves_no_transfer_to_do(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    resale = set_up(ledger)
    pay(ledger, resale.first_invoice, "przelew-0001")
    ledger.request_transfer(
        resale.line, resale.request(date(2026, 2, 16)), tuple(TransferParty), key="transfer/all"
    )
    assert scheduled(database, resale.line) == {
        "complete_transfer": date(2026, 2, 16),
        "renew": date(2026, 2, 28),
    }

    clock.set(warsaw(2026, 2, 10, 9))
    ledger.cancel_line(resale.line, "Kowalski stopped using signatures", key="cancel")
    assert scheduled(database, resale.line) == {}

    clock.set(warsaw(2026, 2, 16))
    report = tick(ledger, clock.now())
    assert (report.done["complete_transfer"], report.refused["complete_transfer"]) == (0, 0)
    assert ledger.line(resale.line).partner_id == resale.current
    assert assert_double_entry(ledger, database) == {}


def test_r_e1_a_transfer_to_a_reseller_billing_in_another_currency_is_refused(
    ledger: Ledger, database: Database
) -> None:
    # The line bills 99.00 PLN; a reseller billing in EUR could neither invoice it in its
    # currency nor take the client's payment (its bonus wallet is in EUR).
    resale = set_up(ledger)
    pay(ledger, resale.first_invoice, "przelew-0001")
    euro = ledger.open_partner_account(
        name="Euro Partners", currency="EUR", time_zone=WARSAW, key="open/euro"
    ).aggregate_id
    assert euro is not None
    before = event_count(database)
    with pytest.raises(BillingError):
        ledger.request_transfer(
            resale.line,
            replace(resale.request(date(2026, 2, 16)), new_reseller_id=euro),
            tuple(TransferParty),
            key="transfer/euro",
        )
    assert event_count(database) == before
    assert ledger.line(resale.line).transfer is None
