"""The rules a line command decides in the ledger, not at the edge (issue 12): who may act on a
line (R-X5's key namespaces aside, a partner acts on its own lines only), who may consent to a
transfer as which party (R-E2), the bounds of a date someone names (R-X7), and a card's key
decided before the payment processor is asked (R-X4, R-X5, R-H5).

Each test drives the sync ledger methods with an actor, on a real database, and checks that a
refusal writes nothing (the event count) and, for the card, that the processor was not asked
(the simulator's tokens). One line each; about 0.3 s of CPU per test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.calendar import Term
from domain.errors import ConsentNotPermitted, InvalidValue, LineNotFound, PartnerNotFound
from domain.payment_methods import CardDetails, PaymentSource
from domain.subscription_line import ALL_PARTIES, TransferParty, TransferRequest
from domain.values import VENDOR, Actor, Location, Payer
from ledger.application import Ledger
from ledger.commands.line_leads import RecordLead
from ledger.commands.lines import Outstanding
from ledger.database import Database
from ledger.errors import IdempotencyKeyReused
from ledger.fingerprints import VERSION_PREFIX
from ledger.payments.simulator import SimulatedGateway

VISA = CardDetails("4242 4242 4242 4242", 12, 2030, "Dana Whitfield", "123", "90012")
MASTERCARD = CardDetails("5555 5555 5555 4444", 12, 2030, "Dana Whitfield", "123", "90012")


@dataclass(frozen=True)
class Resale:
    """Two resellers and a client's line sold by the first."""

    owner: UUID
    other: UUID
    line: UUID


def _resale(ledger: Ledger, product_code: str, payer: Payer = Payer.PARTNER) -> Resale:
    ids = []
    for name in ("Owner", "Other"):
        opened = ledger.open_partner_account(name=name, currency="USD", time_zone="UTC")
        assert opened.aggregate_id is not None
        ids.append(opened.aggregate_id)
    client = ledger.register_client(ids[0], name="Bistro").aggregate_id
    assert client is not None
    line = ledger.create_line(ids[0], client, product_code, payer=payer).aggregate_id
    assert line is not None
    return Resale(ids[0], ids[1], line)


def _events(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(str(row[0]))


def _transfer(resale: Resale, preferred: date = date(2026, 3, 2)) -> TransferRequest:
    return TransferRequest(
        end_user_name="Bistro",
        current_reseller_id=resale.owner,
        new_reseller_id=resale.other,
        preferred_date=preferred,
        owner_email="owner@bistro.example",
        invoice_email="billing@bistro.example",
        billing=Term.MONTHLY,
        payment_method=PaymentSource.CARD,
    )


def test_r_c8_a_partner_acting_on_another_partners_line_is_told_it_does_not_exist(
    ledger: Ledger, database: Database
) -> None:
    """Every line command the edge issues decides ownership itself (no load before it): the
    other partner gets the line's not-found and nothing is written; the owner may act."""
    resale = _resale(ledger, "service-plan")
    line, stranger = resale.line, Actor(resale.other)
    commands: list[Callable[[Actor], Any]] = [
        lambda actor: ledger.activate_line(line, actor=actor),
        lambda actor: ledger.renew_line(line, date(2026, 2, 28), actor=actor),
        lambda actor: ledger.pause_line(line, "Holidays", actor=actor),
        lambda actor: ledger.resume_line(line, actor=actor),
        lambda actor: ledger.cancel_line(line, "Closing", actor=actor),
        lambda actor: ledger.add_location(line, Location(uuid4(), "Uptown"), actor=actor),
        lambda actor: ledger.remove_location(line, uuid4(), actor=actor),
        lambda actor: ledger.set_line_autopay(line, PaymentSource.CARD, actor=actor),
        lambda actor: ledger.record_lead(line, uuid4(), datetime.now(UTC), actor=actor),
        lambda actor: ledger.request_transfer(line, _transfer(resale), actor=actor),
    ]
    written = _events(database)
    for command in commands:
        with pytest.raises(LineNotFound):
            command(stranger)
    with pytest.raises(PartnerNotFound):  # nor may it sell a line in another partner's name
        ledger.create_line(resale.owner, uuid4(), "service-plan", actor=stranger)
    assert _events(database) == written
    assert ledger.activate_line(line, actor=Actor(resale.owner)).data["status"] == "active"


def test_r_e2_each_reseller_consents_as_itself_and_the_line_reseller_for_the_client(
    ledger: Ledger, database: Database
) -> None:
    """Who may consent as which party is the line's rule, decided in the commands: the owner
    as the client and itself, the receiving reseller as itself only (though the line is not
    its own), a stranger not at all (the line's not-found), the vendor as anyone. A refused
    consent writes nothing."""
    resale = _resale(ledger, "lead")  # per lead: active with nothing to settle (R-E3)
    ledger.activate_line(resale.line)
    owner, receiving = Actor(resale.owner), Actor(resale.other)
    written = _events(database)
    with pytest.raises(ConsentNotPermitted) as refused:
        ledger.request_transfer(
            resale.line, _transfer(resale), (TransferParty.NEW_RESELLER,), actor=owner
        )
    assert (refused.value.code, refused.value.fields) == (
        "forbidden",
        {"parties": ["new_reseller"]},
    )
    assert _events(database) == written
    # Before a transfer is asked for, the receiving reseller has no relation to the line.
    with pytest.raises(LineNotFound):
        ledger.give_consent(resale.line, TransferParty.NEW_RESELLER, actor=receiving)

    asked = ledger.request_transfer(
        resale.line, _transfer(resale), (TransferParty.CLIENT,), actor=owner
    )
    assert asked.data["missing_consents"] == ["current_reseller", "new_reseller"]
    written = _events(database)
    for actor, party in [
        (owner, TransferParty.NEW_RESELLER),
        (receiving, TransferParty.CLIENT),
        (receiving, TransferParty.CURRENT_RESELLER),
    ]:
        with pytest.raises(ConsentNotPermitted):
            ledger.give_consent(resale.line, party, actor=actor)
    with pytest.raises(LineNotFound):
        ledger.give_consent(resale.line, TransferParty.CLIENT, actor=Actor(uuid4()))
    assert _events(database) == written

    ledger.give_consent(resale.line, TransferParty.CURRENT_RESELLER, actor=owner)
    done = ledger.give_consent(resale.line, TransferParty.NEW_RESELLER, actor=receiving)
    assert done.data["missing_consents"] == []
    line = ledger.line(resale.line)
    assert line.consents_permitted(VENDOR) == frozenset(ALL_PARTIES)
    with pytest.raises(LineNotFound):  # the line is still the owner's: not the receiver's yet
        ledger.pause_line(resale.line, "Holidays", actor=receiving)


@pytest.mark.parametrize(
    "delivered_at",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12))),
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_r_x7_a_lead_delivered_outside_the_calendars_bounds_is_refused_and_writes_nothing(
    ledger: Ledger, database: Database, delivered_at: datetime
) -> None:
    """The bounds are the domain's (`domain.calendar.plausible_date`), applied by the command
    before the instant is turned into a business date: 9999-12-31 at -12:00 would overflow."""
    resale = _resale(ledger, "lead")
    ledger.activate_line(resale.line)
    written = _events(database)
    with pytest.raises(InvalidValue) as refused:
        ledger.record_lead(resale.line, uuid4(), delivered_at)
    assert refused.value.fields == {"field": "delivered_at"}
    assert _events(database) == written


def test_r_x7_a_transfer_preferred_in_the_year_3000_is_refused_and_writes_nothing(
    ledger: Ledger, database: Database
) -> None:
    resale = _resale(ledger, "lead")
    ledger.activate_line(resale.line)
    written = _events(database)
    with pytest.raises(InvalidValue) as refused:
        ledger.request_transfer(resale.line, _transfer(resale, date(3000, 1, 1)))
    assert refused.value.fields == {"field": "preferred_date"}
    assert _events(database) == written


def test_a_lead_is_one_command_whatever_offset_its_instant_is_written_with() -> None:
    """The command keeps the instant in UTC: the same lead sent as 17:00+02:00 and as 15:00Z is
    the same command (a retry with the same key replays it), as when the edge converted it."""
    line_id, lead_id = uuid4(), uuid4()
    in_utc = RecordLead(
        line_id=line_id, lead_id=lead_id, delivered_at=datetime(2026, 2, 2, 15, tzinfo=UTC)
    )
    in_warsaw = RecordLead(
        line_id=line_id,
        lead_id=lead_id,
        delivered_at=datetime(2026, 2, 2, 17, tzinfo=timezone(timedelta(hours=2))),
    )
    assert in_warsaw.fingerprint() == in_utc.fingerprint()
    assert in_warsaw.delivered_at.utcoffset() == timedelta(0)


def test_r_x5_a_card_key_is_decided_before_the_processor_is_asked(
    ledger: Ledger, database: Database, gateway: SimulatedGateway
) -> None:
    """Another partner's line, a key reused for another card and a key first used for another
    command are each refused before the card is tokenised (the simulator issued no token) and
    write nothing; the same card again replays the first answer, card and all, without a
    second token."""
    resale = _resale(ledger, "service-plan", payer=Payer.CLIENT)
    with pytest.raises(LineNotFound):
        ledger.attach_line_card(resale.line, VISA, actor=Actor(resale.other), key="card/stranger")
    assert gateway.tokens == []

    first = ledger.attach_line_card(
        resale.line, VISA, Outstanding.CHARGE_ALL, actor=Actor(resale.owner), key="card/once"
    )
    shown = {"brand": "visa", "last4": "4242", "expiry_month": 12, "expiry_year": 2030}
    assert first.data["card"] == shown
    assert len(gateway.tokens) == 1
    written = _events(database)

    again = ledger.attach_line_card(resale.line, VISA, Outstanding.CHARGE_ALL, key="card/once")
    assert (again.replayed, again.position, again.data["card"]) == (True, first.position, shown)
    with pytest.raises(IdempotencyKeyReused):
        ledger.attach_line_card(resale.line, MASTERCARD, Outstanding.CHARGE_ALL, key="card/once")
    with pytest.raises(IdempotencyKeyReused):  # the same card, asked to do something else
        ledger.attach_line_card(resale.line, VISA, Outstanding.MARK_PAID, key="card/once")
    assert ledger.send_line(resale.line, key="send").data["status"] == "pending"
    with pytest.raises(IdempotencyKeyReused):
        ledger.attach_line_card(resale.line, VISA, key="send")
    assert len(gateway.tokens) == 1
    assert _events(database) == written + 1  # the line sent, nothing more


def test_r_x5_a_card_put_on_before_the_upgrade_replays_by_its_key_showing_the_card_asked_for(
    ledger: Ledger, database: Database, gateway: SimulatedGateway
) -> None:
    """A key recorded before the card was fingerprinted and answered (a `v2:` fingerprint, no
    `card` in the answer) still replays, by the key alone as then, and shows the card asked
    for (the router used to show it from the request); the processor is not asked again."""
    resale = _resale(ledger, "service-plan", payer=Payer.CLIENT)
    first = ledger.attach_line_card(resale.line, VISA, key="card/before")
    with database.connect() as conn:  # the row as a Ledgerline before the upgrade wrote it
        conn.execute(
            "UPDATE command_log SET fingerprint = %s, response = response - 'card' WHERE key = %s",
            (f"{VERSION_PREFIX}{'0' * 64}", "card/before"),
        )
    written = _events(database)

    again = ledger.attach_line_card(resale.line, VISA, key="card/before")

    assert (again.replayed, again.position) == (True, first.position)
    assert again.data["card"] == first.data["card"]
    assert len(gateway.tokens) == 1
    assert _events(database) == written
