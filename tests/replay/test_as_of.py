"""A partner's account as it stood at a moment (issue 14; replay/as_of.py, replay/history.py).

The states are checked against an independent computation: the aggregates replayed by the
library's own rules from their whole event streams (no snapshots), cut by position in Python.
The database tests cost about a second each: one random history (the cost), or 450 top-ups
through the writer to cross two snapshots.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.postings import POSTINGS
from ledger.application import Ledger
from ledger.audit_chain import UNKNOWN, Cause, caused_by
from ledger.batch_writes import SNAPSHOT_EVERY
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.store import EVENTS_TABLE, SNAPSHOTS_TABLE
from replay.as_of import AuditCutInvalid, CutKind, PartnerThenNotFound, partner_as_of
from replay.as_of_dates import DATED_BY, event_business_date
from replay.as_of_events import events_to
from replay.as_of_sentences import SENTENCES, sentence
from replay.history import load_at_version
from tests.histories import make_history
from tests.specimens import event_classes, specimens


def test_every_event_class_has_a_sentence_and_dates_resolve() -> None:
    missing = [cls.__qualname__ for cls in event_classes() if cls not in SENTENCES]
    assert not missing, f"events without a sentence: {missing}"
    for cls, event in specimens().items():
        said = sentence(event)
        assert said.endswith("."), (cls.__qualname__, said)
        assert len(said) > 10, (cls.__qualname__, said)
        assert "tok_" not in said, "a sentence shows a payment token"
        assert isinstance(event_business_date(event, "Europe/Madrid"), date)
    unresolved = [
        cls.__qualname__
        for cls, path in DATED_BY.items()
        if cls in specimens() and not isinstance(_path(specimens()[cls], path), date)
    ]
    assert not unresolved


def _path(event: Any, path: str) -> Any:
    for name in path.split("."):
        event = getattr(event, name)
    return event


def test_r_x2_money_events_take_effect_on_the_journals_business_date() -> None:
    """The journal dates each entry (domain/postings.py `dated_by`); the audit's business date
    of the same event must be the same day, or "in effect on" and the balances would differ."""
    for rule in POSTINGS:
        assert DATED_BY.get(rule.event) == rule.dated_by, rule.event.__qualname__


def _replayed_without_snapshots(
    database: Database, ledger: Ledger, aggregate_id: UUID, position: int
) -> Any:
    """The aggregate by the library's own mutate over its whole stream, cut in Python."""
    with database.connect() as conn:
        rows = conn.execute(
            f"SELECT notification_id, originator_version, topic, state FROM {EVENTS_TABLE} "
            "WHERE originator_id = %s ORDER BY originator_version",
            (aggregate_id,),
        ).fetchall()
    aggregate: Any = None
    for notification_id, version, topic, state in rows:
        if notification_id <= position:
            stored = StoredEvent(aggregate_id, version, topic, bytes(state))
            aggregate = ledger.mapper.to_domain_event(stored).mutate(aggregate)  # type: ignore[attr-defined]
    return aggregate


@pytest.fixture
def history(ledger: Ledger, clock: SimulatedClock) -> list[UUID]:
    with caused_by(Cause.api_key("k_audit", "admin", "req-7")):
        made = make_history(ledger, clock, 3, steps=70)
    return made.partners


def _busiest(database: Database, partners: list[UUID]) -> tuple[UUID, list[int]]:
    """The partner with the most events, and its chain's positions."""
    with database.connect() as conn:
        chains = {
            partner: [
                row[0]
                for row in conn.execute(
                    f"SELECT notification_id FROM {EVENTS_TABLE} WHERE chain = %s "
                    "ORDER BY notification_id",
                    (partner,),
                )
            ]
            for partner in partners
        }
    partner = max(chains, key=lambda each: len(chains[each]))
    return partner, chains[partner]


def test_a_partner_at_any_position_is_its_aggregates_replayed_to_it(
    ledger: Ledger, database: Database, history: list[UUID]
) -> None:
    partner, positions = _busiest(database, history)
    assert len(positions) > 30
    for position in (positions[0], positions[len(positions) // 3], positions[-5], positions[-1]):
        with database.connect() as conn:
            state = partner_as_of(conn, ledger.mapper, partner, position=position)
            listed = events_to(conn, ledger.mapper, partner, state.cut)
        assert state.cut == (state.cut.__class__(CutKind.POSITION, position))
        expected = _replayed_without_snapshots(database, ledger, partner, position)
        assert state.account.version == expected.version
        assert state.account.balance == expected.balance
        assert sorted(state.account.clients) == sorted(expected.clients)
        for line in state.lines:
            again = _replayed_without_snapshots(database, ledger, line.id, position)
            assert (line.version, line.status, line.current_period) == (
                again.version,
                again.status,
                again.current_period,
            )
        for invoice in state.invoices:
            again = _replayed_without_snapshots(database, ledger, invoice.id, position)
            assert (invoice.version, invoice.status, invoice.outstanding) == (
                again.version,
                again.status,
                again.outstanding,
            )
        assert [entry.position for entry in listed] == [p for p in positions if p <= position]
    # At the head, the state is today's.
    assert state.account.balance == ledger.partner_account(partner).balance
    assert {invoice.id: invoice.status for invoice in state.invoices} == {
        invoice.id: ledger.invoice(invoice.id).status for invoice in state.invoices
    }
    assert state.invoices, "the busiest partner has no invoice: the history proves little"
    kinds = {entry.type for entry in listed}
    assert {"PartnerAccount.Opened", "Invoice.Issued", "SubscriptionLine.Created"} <= kinds
    who = {entry.caused_by for entry in listed}
    assert "API key k_audit (admin), request req-7" in who
    assert all(entry.sentence.endswith(".") for entry in listed)


def test_as_of_an_instant_is_the_last_position_recorded_by_then_and_actor_narrows(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    """What the ledger knew at an instant: events recorded after it are not in the state, an
    instant before the partner's first event answers `partner_then_not_found`, and the
    listing narrowed to one key's doing shows only its events; events with no cause read as
    unknown."""
    before = clock.now()
    partner = ledger.open_partner_account(name="Otter", currency="USD", time_zone="UTC")
    partner_id = partner.aggregate_id
    assert partner_id is not None
    with caused_by(Cause.api_key("k_one", "admin", "r1")):
        ledger.top_up(partner_id, Money(1_000, "USD"), PaymentSource.BANK_TRANSFER)
    clock.advance(timedelta(hours=2))
    known = clock.now() - timedelta(hours=1)
    with caused_by(Cause.api_key("k_two", "admin", "r2")):
        ledger.top_up(partner_id, Money(500, "USD"), PaymentSource.BANK_TRANSFER)
    with database.connect() as conn:
        then = partner_as_of(conn, ledger.mapper, partner_id, as_of=known)
        now = partner_as_of(conn, ledger.mapper, partner_id, as_of=clock.now())
        by_one = events_to(conn, ledger.mapper, partner_id, now.cut, actor="k_one")
        everything = events_to(conn, ledger.mapper, partner_id, now.cut)
        with pytest.raises(PartnerThenNotFound):
            partner_as_of(conn, ledger.mapper, partner_id, as_of=before - timedelta(seconds=1))
        with pytest.raises(AuditCutInvalid):
            partner_as_of(conn, ledger.mapper, partner_id, as_of=known, position=1)
    assert then.account.balance == Money(1_000, "USD")
    assert now.account.balance == Money(1_500, "USD")
    assert then.cut.position < now.cut.position
    assert [entry.type for entry in by_one] == ["PartnerAccount.BalanceToppedUp"]
    assert by_one[0].caused_by == "API key k_one (admin), request r1"
    assert everything[0].caused_by == "the ledger itself"
    with database.connect(autocommit=True) as conn:  # as a store made before causes existed
        conn.execute(f"UPDATE {EVENTS_TABLE} SET cause = NULL WHERE chain = %s", (partner_id,))
        assert events_to(conn, ledger.mapper, partner_id, now.cut)[0].caused_by == UNKNOWN


def test_r_x7_in_effect_on_a_business_date_is_by_the_partners_zone(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    """A top-up recorded at 03:00 UTC on 3 February is 2 February in New York: it is in effect
    on 2 February there, though the ledger knew nothing of it at the end of that UTC day."""
    clock.set(datetime(2026, 2, 1, 12, tzinfo=UTC))
    opened = ledger.open_partner_account(name="NY", currency="USD", time_zone="America/New_York")
    partner = opened.aggregate_id
    assert partner is not None
    clock.set(datetime(2026, 2, 3, 3, tzinfo=UTC))
    ledger.top_up(partner, Money(700, "USD"), PaymentSource.BANK_TRANSFER)
    with database.connect() as conn:
        on_2nd = partner_as_of(conn, ledger.mapper, partner, business_date=date(2026, 2, 2))
        on_1st = partner_as_of(conn, ledger.mapper, partner, business_date=date(2026, 2, 1))
        known = partner_as_of(
            conn, ledger.mapper, partner, as_of=datetime(2026, 2, 2, 23, 59, tzinfo=UTC)
        )
        listed = events_to(conn, ledger.mapper, partner, on_1st.cut)
    assert on_2nd.account.balance == Money(700, "USD")
    assert on_1st.account.balance == Money(0, "USD")
    assert known.account.balance == Money(0, "USD")
    assert "PartnerAccount.BalanceToppedUp" not in {entry.type for entry in listed}
    assert on_2nd.cut.kind is CutKind.BUSINESS_DATE


def test_a_state_from_a_snapshot_is_the_state_from_every_event(
    ledger: Ledger, database: Database
) -> None:
    """450 top-ups (by four callers at once, so the writer batches them): the account has
    snapshots at versions 200 and 400; at versions around them, loading from the snapshot
    gives exactly what the whole stream gives."""
    opened = ledger.open_partner_account(name="Snap", currency="USD", time_zone="UTC")
    partner = opened.aggregate_id
    assert partner is not None

    def top_ups(first: int) -> None:
        for n in range(first, 450, 4):
            ledger.top_up(
                partner, Money(100 + n, "USD"), PaymentSource.BANK_TRANSFER, key=f"snap/{n}"
            )

    threads = [threading.Thread(target=top_ups, args=(first,)) for first in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with database.connect() as conn:
        snapshots = [
            row[0]
            for row in conn.execute(
                f"SELECT originator_version FROM {SNAPSHOTS_TABLE} WHERE originator_id = %s",
                (partner,),
            )
        ]
        assert len(snapshots) >= 2
        assert all(v >= SNAPSHOT_EVERY for v in snapshots)
        last = ledger.partner_account(partner).version
        assert last == 451, "a top-up was refused"
        for version in sorted({1, 2, *snapshots, *(v - 1 for v in snapshots), last}):
            quick = load_at_version(conn, ledger.mapper, partner, version)
            slow = load_at_version(conn, ledger.mapper, partner, version, snapshots=False)
            assert (
                (quick.version, quick.balance)
                == (slow.version, slow.balance)
                == (
                    version,
                    slow.balance,
                )
            )
            assert quick.__dict__ == slow.__dict__
