"""Test clocks at the ledger (issue 15): a partner on a clock lives at the clock's instants, an
advance does exactly its partners' work in order, the server's billing clock never touches
them, and an advance interrupted by a stop resumes without doing anything twice.

Each test advances clocks through a few months of monthly lines (renewals, card and ACH
charges, debit settlements, overdue marks): a few dozen commands each, about a second.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from domain import test_clock as clocks
from domain.calendar import Term
from domain.errors import BillingError
from domain.payment_methods import CardDetails, PaymentSource
from domain.subscription_line import TransferRequest
from ledger.application import EVENTS_TABLE, Ledger
from ledger.billing_clock import due, tick
from ledger.clock import SimulatedClock
from ledger.commands.test_clocks import TEST_CLOCK_DELETED
from ledger.database import Database
from ledger.schedule import Due, upcoming
from ledger.test_clocks import AdvanceReport
from tests.ledger.payments_support import ACH, VISA
from tests.support import START

FIRST = datetime(2027, 3, 10, 15, tzinfo=UTC)
"""Where the test clocks start: a year after the server's clock (START), so that an instant
tells which clock it came from."""
THREE_MONTHS_ON = datetime(2027, 6, 10, 15, tzinfo=UTC)


def new_clock(ledger: Ledger, name: str, at: datetime = FIRST) -> UUID:
    made = ledger.test_clocks.create(name, at, key=f"clock/{name}")
    assert made.aggregate_id is not None
    return made.aggregate_id


def partner_on(
    ledger: Ledger,
    clock_id: UUID | None,
    name: str,
    method: CardDetails | None = VISA,
    autopay: PaymentSource | None = PaymentSource.CARD,
) -> UUID:
    """A partner in New York on the clock (or the server's), with one monthly line started
    today, charged by autopay when it has a method."""
    partner = ledger.open_partner_account(
        name=name,
        currency="USD",
        time_zone="America/New_York",
        key=f"open/{name}",
        test_clock_id=clock_id,
    ).aggregate_id
    assert partner is not None
    if method is not None:
        ledger.add_payment_method(partner, method, make_default=True)
    if autopay is not None:
        ledger.set_account_autopay(partner, autopay)
    client = ledger.register_client(partner, name="Bistro", unified_billing=False).aggregate_id
    assert client is not None
    line = ledger.create_line(partner, client, "email-signatures").aggregate_id
    assert line is not None
    ledger.activate_line(line)
    return partner


def history(ledger: Ledger, partner_id: UUID) -> list[tuple[str, datetime]]:
    """The partner's events as its audit chain holds them: topic and recorded instant."""
    with ledger.database.connect() as conn:
        rows = conn.execute(
            f"SELECT topic, recorded_at FROM {EVENTS_TABLE} WHERE chain = %s ORDER BY chain_seq",
            (partner_id,),
        ).fetchall()
    return [(str(topic).rsplit(":", 1)[-1], at) for topic, at in rows]


def kinds(ledger: Ledger, partner_id: UUID) -> Counter[str]:
    return Counter(topic for topic, _ in history(ledger, partner_id))


def advanced(ledger: Ledger, clock_id: UUID, target: datetime, key: str) -> AdvanceReport:
    ledger.test_clocks.start_advance(clock_id, target, key)
    return ledger.test_clocks.advance(clock_id)


def test_r_x7_a_partner_on_a_test_clock_records_the_clocks_instants_and_bills_on_its_days(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    clock_id = new_clock(ledger, "march")
    partner = partner_on(ledger, clock_id, "Acme")
    opened = history(ledger, partner)
    assert opened[:2] == [
        ("PartnerAccount.Opened", FIRST),
        ("PartnerAccount.JoinedTestClock", FIRST),
    ]
    assert {at for _, at in opened} == {FIRST}  # the server's clock stands at START
    assert ledger.partner_account(partner).opened_on.isoformat() == "2027-03-10"

    report = advanced(ledger, clock_id, THREE_MONTHS_ON, "advance/1")
    # Renewed on 10 April, 10 May, 10 June (midnight in New York), each charged at once.
    assert (report.finished, report.steps, dict(report.done)) == (True, 3, {"renew": 3})
    renewals = [at for topic, at in history(ledger, partner) if topic == "Invoice.Issued"]
    paid = [at for topic, at in history(ledger, partner) if topic == "Invoice.Settled"]
    assert (
        renewals
        == paid
        == [
            FIRST,
            datetime(2027, 4, 10, 4, tzinfo=UTC),  # EDT: 00:00 in New York
            datetime(2027, 5, 10, 4, tzinfo=UTC),
            datetime(2027, 6, 10, 4, tzinfo=UTC),
        ]
    )
    assert all(FIRST <= at <= THREE_MONTHS_ON for _, at in history(ledger, partner))
    found = ledger.load(clocks.TestClock, clock_id)
    assert found is not None
    assert (found.frozen_at, found.status) == (THREE_MONTHS_ON, clocks.ClockStatus.READY)
    assert clock.now() == START  # the server's clock never moved


def test_two_clocks_and_the_servers_clock_never_touch_each_others_partners(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    first, second = new_clock(ledger, "one"), new_clock(ledger, "two")
    on_first = partner_on(ledger, first, "Acme")
    on_second = partner_on(ledger, second, "Globex", ACH, PaymentSource.DIRECT_DEBIT)
    on_server = partner_on(ledger, None, "Initech", None, None)
    servers_before = history(ledger, on_server)
    second_before = history(ledger, on_second)
    schedule_before = schedule_of(ledger, on_server)
    far = datetime(2999, 1, 1, tzinfo=UTC)
    assert {partner_of(ledger, work) for work in due(ledger, far)} == {on_server}
    assert {partner_of(ledger, work) for work in due(ledger, far, first)} == {on_first}

    report = advanced(ledger, first, THREE_MONTHS_ON, "advance/one")
    assert dict(report.done) == {"renew": 3}
    assert history(ledger, on_second) == second_before
    assert history(ledger, on_server) == servers_before

    assert schedule_of(ledger, on_server) == schedule_before
    report = advanced(ledger, second, FIRST + timedelta(days=40), "advance/two")
    # The debit of 10 March settles two business days later; the renewal of 10 April is
    # debited at once, and settles on Tuesday the 13th (a Saturday plus two business days).
    assert dict(report.done) == {"settle_debit": 2, "renew": 1}
    assert history(ledger, on_server) == servers_before
    assert schedule_of(ledger, on_server) == schedule_before
    settled = [at for topic, at in history(ledger, on_second) if topic == "Invoice.Settled"]
    assert settled == [datetime(2027, 3, 12, 5, tzinfo=UTC), datetime(2027, 4, 13, 4, tzinfo=UTC)]

    # The server's own tick, a year on, does the real-clock partner's work alone.
    first_after, second_after = history(ledger, on_first), history(ledger, on_second)
    clock.set(START + timedelta(days=365))
    assert tick(ledger, clock.now()).done["renew"] == 12
    assert (history(ledger, on_first), history(ledger, on_second)) == (first_after, second_after)
    assert all(at <= clock.now() for _, at in history(ledger, on_server))


def schedule_of(ledger: Ledger, partner_id: UUID) -> list[Due]:
    """The partner's scheduled work, soonest first."""
    with ledger.reads.connection() as conn:
        return upcoming(conn, partner_id=partner_id)


def partner_of(ledger: Ledger, work: tuple[object, UUID, object]) -> UUID:
    """The partner whose work this is, from the schedule."""
    with ledger.reads.connection() as conn:
        row = conn.execute(
            "SELECT partner_id FROM schedule WHERE subject_id = %s", (work[1],)
        ).fetchone()
    assert row is not None
    return UUID(str(row[0]))


def test_an_advance_stopped_half_way_resumes_on_the_next_start_and_does_nothing_twice(
    database: Database, ledger: Ledger, clock: SimulatedClock
) -> None:
    """Two clocks with the same partner: one advanced straight; the other stopped after a
    step, then again between a step's move and its work (as a crash would), its ledger
    closed, and a new ledger on the same database resumes it. Both end with the same events."""
    straight, stopped = new_clock(ledger, "straight"), new_clock(ledger, "stopped")
    control = partner_on(ledger, straight, "Acme")
    resumed_partner = partner_on(ledger, stopped, "Acme again")
    assert advanced(ledger, straight, THREE_MONTHS_ON, "advance/straight").finished

    ledger.test_clocks.start_advance(stopped, THREE_MONTHS_ON, "advance/stopped")
    first_run = ledger.test_clocks.advance(stopped, steps_max=1)
    assert (first_run.finished, first_run.steps, dict(first_run.done)) == (False, 1, {"renew": 1})
    # The next step's move is written, its work is not: a crash in between.
    ledger.test_clocks._move(stopped, datetime(2027, 5, 10, 4, tzinfo=UTC))
    ledger.close()

    again = Ledger(database, SimulatedClock(START), ledger.gateway, catalogue=ledger.catalogue)
    try:
        assert again.test_clocks.resume() == [stopped]
        report = again.test_clocks._running[stopped].result(timeout=30)
        assert (report.finished, report.steps, dict(report.done)) == (True, 1, {"renew": 2})
        assert kinds(again, resumed_partner) == kinds(again, control)
        assert [at for _, at in history(again, resumed_partner)] == [
            at for _, at in history(again, control)
        ]
        # Run once more, as a second start would: nothing is left to do.
        assert again.test_clocks.resume() == []
        assert again.test_clocks.advance(stopped).done == Counter()
    finally:
        again.close()


def test_r_e1_a_clock_never_goes_back_advances_once_at_a_time_keeps_its_lines_and_is_deleted(
    ledger: Ledger,
) -> None:
    clock_id = new_clock(ledger, "refusals")
    partner = partner_on(ledger, clock_id, "Acme")

    def refused(call: object) -> str:
        assert callable(call)
        with pytest.raises(BillingError) as error:
            call()
        return error.value.code

    # A line moves between partners on the same clock only: its days would be done twice.
    elsewhere = partner_on(ledger, None, "Elsewhere", None, None)
    with ledger.reads.connection() as conn:
        row = conn.execute("SELECT line_id FROM line_index WHERE partner_id = %s", (partner,))
        (line_id,) = row.fetchone() or (None,)
    move = TransferRequest(
        end_user_name="Bistro",
        current_reseller_id=partner,
        new_reseller_id=elsewhere,
        preferred_date=date(2027, 4, 1),
        owner_email="owner@bistro.example",
        invoice_email="ap@bistro.example",
        billing=Term.MONTHLY,
        payment_method=PaymentSource.CARD,
    )
    with pytest.raises(BillingError) as moved:
        ledger.request_transfer(line_id, move)
    assert (moved.value.code, moved.value.fields) == (
        "transfer_not_allowed",
        {"reason": "another_clock"},
    )

    back = FIRST - timedelta(seconds=1)
    assert refused(lambda: ledger.test_clocks.start_advance(clock_id, back, "b")) == (
        "test_clock_not_forward"
    )
    ledger.test_clocks.start_advance(clock_id, THREE_MONTHS_ON, "a")
    assert refused(lambda: ledger.test_clocks.start_advance(clock_id, THREE_MONTHS_ON, "c")) == (
        "test_clock_busy"
    )
    ledger.test_clocks.delete(clock_id, key="delete")
    assert ledger.partner_account(partner).closed
    assert history(ledger, partner)[-1][0] == "PartnerAccount.Closed"
    assert TEST_CLOCK_DELETED == "test clock deleted"
    # The advance under way stops at its first step; nothing more is done for the partner.
    assert ledger.test_clocks.advance(clock_id).finished is False
    assert refused(lambda: partner_on(ledger, clock_id, "Late")) == "test_clock_busy"
    assert (
        refused(
            lambda: ledger.open_partner_account(
                name="Nowhere",
                currency="USD",
                time_zone="UTC",
                test_clock_id=UUID(int=1),
            )
        )
        == "test_clock_not_found"
    )
