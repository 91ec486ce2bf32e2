"""A reseller transfer in the read models (R-E1, R-C7, R-C8): applied live in batches of any
size or rebuilt from scratch, the closing documents and the partner directory come out the same,
and they say whose the client and its documents are after the move."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import Term
from domain.payment_methods import PaymentSource
from domain.subscription_line import TransferParty, TransferRequest
from ledger.application import Ledger
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock
from ledger.database import Database
from projections import documents
from projections.documents import ClosingDocuments
from projections.partners import PartnerDirectory
from replay.rebuild import compare, rebuild_many
from tests.projections.support import live_runner, stored_backwards

WARSAW = ZoneInfo("Europe/Warsaw")
OLD_NAME = "Kowalski (Northwind's client)"
NEW_NAME = "Kowalski i Synowie Sp. z o.o."


def transferred(ledger: Ledger, clock: SimulatedClock) -> tuple[UUID, UUID, UUID, UUID]:
    """Northwind's client Kowalski pays January, asks for its act, and its line moves to Baltic
    on 3 February; Baltic's first invoice is paid and gets an act too. Returns the resellers,
    the client and the line."""
    northwind = ledger.open_partner_account(name="Northwind", currency="PLN", time_zone="UTC")
    baltic = ledger.open_partner_account(name="Baltic", currency="PLN", time_zone="UTC")
    old, new = northwind.aggregate_id, baltic.aggregate_id
    assert old is not None
    assert new is not None
    client = ledger.register_client(old, name=OLD_NAME, unified_billing=False).aggregate_id
    assert client is not None
    line = ledger.create_line(old, client, "email-signatures").aggregate_id
    assert line is not None
    first = UUID(ledger.activate_line(line, date(2026, 1, 31)).data["invoice_id"])
    ledger.pay_invoice(first, PaymentSource.BANK_TRANSFER, reference="przelew-1")
    request = TransferRequest(
        end_user_name=NEW_NAME,
        current_reseller_id=old,
        new_reseller_id=new,
        preferred_date=date(2026, 2, 3),
        owner_email="admin@kowalski.example",
        invoice_email="faktury@kowalski.example",
        billing=Term.MONTHLY,
        payment_method=PaymentSource.BANK_TRANSFER,
    )
    ledger.request_transfer(line, request, tuple(TransferParty))
    clock.set(datetime(2026, 2, 3, 12, tzinfo=WARSAW))
    assert tick(ledger, clock.now()).done["complete_transfer"] == 1
    # Northwind's act for January is requested after the move: it is still Northwind's.
    ledger.request_closing_document(first)
    clock.set(datetime(2026, 2, 28, 12, tzinfo=WARSAW))
    tick(ledger, clock.now())
    [renewal] = [UUID(key) for key in ledger.line(line).open_invoices]
    ledger.pay_invoice(renewal, PaymentSource.BANK_TRANSFER, reference="przelew-2")
    ledger.request_closing_document(renewal)
    return old, new, client, line


@pytest.mark.parametrize("batch_size", [1, 3, 5_000])
def test_r_e1_r_c8_after_a_transfer_live_batches_and_a_rebuild_agree(
    ledger: Ledger, clock: SimulatedClock, database: Database, batch_size: int
) -> None:
    clock.set(datetime(2026, 1, 31, 12, tzinfo=WARSAW))
    transferred(ledger, clock)
    models = [ClosingDocuments(), PartnerDirectory()]
    live = live_runner(database, *models, batch_size=batch_size)
    live.catch_up()
    live.close()
    stored_backwards(database)
    for model, built in zip(models, rebuild_many(database, models, batch_size=50_000), strict=True):
        difference = compare(database, model, built.generation)
        assert difference.empty, (model.name, difference)


def test_r_e1_r_c8_the_client_is_the_new_resellers_and_each_act_its_billed_resellers(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    clock.set(datetime(2026, 1, 31, 12, tzinfo=WARSAW))
    old, new, client, _ = transferred(ledger, clock)
    live = live_runner(database, ClosingDocuments(), batch_size=2)
    live.catch_up()
    live.close()
    with database.connect() as conn:
        owner = documents.client_partner(conn, client)
        northwinds = documents.documents_of(conn, old, client)
        baltics = documents.documents_of(conn, new, client)
    assert owner == new
    assert [(d.partner_name, d.client_name, d.period_start) for d in northwinds] == [
        ("Northwind", OLD_NAME, date(2026, 1, 31))
    ]
    assert [(d.partner_name, d.client_name, d.period_start) for d in baltics] == [
        ("Baltic", NEW_NAME, date(2026, 2, 28))
    ]
