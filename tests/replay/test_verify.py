"""The audit chains the writer keeps, and the walk that finds every kind of tampering (issue
14; ledger/audit_chain.py, replay/verify.py).

One random history (with transfers between resellers) is written through the ledger by
concurrent callers; then each test changes the stored log the way someone at a SQL prompt
could, and the walk must name the row. Each test costs about a second: the history is the
cost, and it must be long enough to hold several partners and every aggregate kind.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

import psycopg
import pytest

from domain.money import Money
from domain.payment_methods import PaymentSource
from ledger import audit_chain
from ledger.application import Ledger
from ledger.audit_chain import VENDOR_CHAIN, Cause, CauseKind, caused_by, event_hash
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.schema import create_tables
from ledger.store import EVENTS_TABLE
from replay.verify import BreakKind, verify
from tests.histories import make_history

EVENTS = EVENTS_TABLE


@pytest.fixture
def history(ledger: Ledger, clock: SimulatedClock) -> list[UUID]:
    with caused_by(Cause.api_key("k_test", "admin", "req-1")):
        made = make_history(ledger, clock, 5, steps=60, transfers=True)
    tick(ledger, clock.now())
    return made.partners


def rows(conn: psycopg.Connection[Any], where: str = "TRUE") -> list[tuple[Any, ...]]:
    return conn.execute(
        f"SELECT notification_id, chain, chain_seq, cause FROM {EVENTS} WHERE {where} "
        "ORDER BY notification_id"
    ).fetchall()


def test_every_event_is_linked_in_its_partners_chain_with_its_cause(
    ledger: Ledger, database: Database, history: list[UUID]
) -> None:
    with database.connect() as conn:
        found = verify(conn)
        stored = rows(conn)
    assert found.intact, found.summary()
    assert found.events == len(stored) > 50
    assert [row[0] for row in stored] == list(range(1, len(stored) + 1))
    chains = {row[1] for row in stored}
    assert set(history) <= chains, "a partner has no chain"
    assert VENDOR_CHAIN in chains, "the catalogue's events are not in the vendor's chain"
    for chain in chains:
        assert [row[2] for row in stored if row[1] == chain] == list(
            range(1, 1 + sum(1 for row in stored if row[1] == chain))
        )
    causes = {row[3]["kind"] for row in stored if row[3] is not None}
    assert causes == {CauseKind.LEDGER, CauseKind.API_KEY, CauseKind.BILLING_CLOCK}
    keyed = [row[3] for row in stored if row[3] and row[3]["kind"] == CauseKind.API_KEY]
    assert keyed[0] == {
        "kind": "api_key",
        "key_id": "k_test",
        "role": "admin",
        "request_id": "req-1",
    }


def test_chains_stay_single_lines_under_concurrent_writers_in_two_processes(
    ledger: Ledger, second_process: Ledger, database: Database, history: list[UUID]
) -> None:
    """Both writers link to the same partner's chain at once: each reads its head under the
    events lock (the other's links evict it from the cache), so no link is given twice."""
    partner = history[0]
    currency = ledger.partner_account(partner).currency

    def top_ups(target: Ledger, name: str) -> None:
        for n in range(15):
            target.top_up(
                partner,
                Money(100 + n, currency),
                PaymentSource.BANK_TRANSFER,
                reference=f"{name}-{n}",
                key=f"{name}/{n}",
            )

    threads = [
        threading.Thread(target=top_ups, args=(target, name))
        for target, name in ((ledger, "one"), (second_process, "two"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with database.connect() as conn:
        found = verify(conn, partner_id=partner)
    assert found.intact, found.summary()
    assert found.heads[partner].seq == found.events


def tamper(database: Database, statement: str, *params: Any) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute(statement, params)


def middle(database: Database, partner: UUID) -> tuple[int, int]:
    """A position in the middle of a partner's chain, and its link number."""
    with database.connect() as conn:
        links = rows(conn, f"chain = '{partner}'")
    position, _, seq, _ = links[len(links) // 2]
    return position, seq


def test_r_x6_an_updated_row_is_named_by_its_position_and_partner(
    database: Database, history: list[UUID]
) -> None:
    partner = history[0]
    position, seq = middle(database, partner)
    tamper(
        database,
        f"UPDATE {EVENTS} SET state = convert_to(replace(convert_from(state, 'UTF8'), "
        "'\"_data_\"', '\"_data_\" '), 'UTF8') WHERE notification_id = %s",
        position,
    )
    with database.connect() as conn:
        found = verify(conn)
        alone = verify(conn, partner_id=partner)
    assert not found.intact
    assert found.break_count == 1, "one altered row is one break, not the rest of its chain"
    first = found.first_break
    assert first is not None
    assert (first.position, first.partner_id, first.kind) == (position, partner, BreakKind.ALTERED)
    assert f"link {seq}" in first.message
    assert alone.first_break == first


def test_r_x6_a_changed_cause_or_instant_breaks_the_chain(
    database: Database, history: list[UUID]
) -> None:
    position, _ = middle(database, history[1])
    tamper(
        database,
        f'UPDATE {EVENTS} SET cause = \'{{"kind": "ledger"}}\' WHERE notification_id = %s',
        position,
    )
    later, _ = middle(database, history[0])
    tamper(
        database,
        f"UPDATE {EVENTS} SET recorded_at = recorded_at - interval '1 day' "
        "WHERE notification_id = %s",
        later,
    )
    with database.connect() as conn:
        found = verify(conn)
    assert {(each.position, each.kind) for each in found.breaks} == {
        (position, BreakKind.ALTERED),
        (later, BreakKind.ALTERED),
    }


def test_r_x6_a_deleted_row_is_named_by_the_position_after_it(
    database: Database, history: list[UUID]
) -> None:
    partner = history[0]
    position, seq = middle(database, partner)
    with database.connect() as conn:
        after = conn.execute(
            f"SELECT notification_id FROM {EVENTS} WHERE chain = %s AND chain_seq = %s",
            (partner, seq + 1),
        ).fetchone()
    assert after is not None
    tamper(database, f"DELETE FROM {EVENTS} WHERE notification_id = %s", position)
    with database.connect() as conn:
        found = verify(conn)
    first = found.first_break
    assert first is not None
    assert (first.position, first.partner_id, first.kind) == (after[0], partner, BreakKind.MISSING)
    assert f"lacks link {seq} " in first.message


def test_r_x6_a_swapped_pair_of_rows_is_named(database: Database, history: list[UUID]) -> None:
    """Two rows of two partners exchange positions: each chain is in order, but a hash covers
    its position, so both rows are named."""
    one, _ = middle(database, history[0])
    two, _ = middle(database, history[1])
    tamper(
        database,
        f"UPDATE {EVENTS} SET notification_id = CASE notification_id WHEN %s THEN -1 "
        "ELSE notification_id END WHERE notification_id = %s",
        one,
        one,
    )
    tamper(
        database, f"UPDATE {EVENTS} SET notification_id = %s WHERE notification_id = %s", one, two
    )
    tamper(database, f"UPDATE {EVENTS} SET notification_id = %s WHERE notification_id = -1", two)
    with database.connect() as conn:
        found = verify(conn)
    assert not found.intact
    assert {each.position for each in found.breaks} >= {min(one, two)}
    assert found.first_break is not None
    assert found.first_break.position == min(one, two)


def test_r_x6_a_row_inserted_out_of_band_is_named_even_with_a_forged_link(
    database: Database, history: list[UUID]
) -> None:
    """One row inserted bare (outside every chain), one with a link forged by someone who
    knows the format but not what came after it: both named by position."""
    partner = history[0]
    with database.connect(autocommit=True) as conn:
        head = conn.execute(f"SELECT max(notification_id) FROM {EVENTS}").fetchone()
        assert head is not None
        conn.execute(
            f"INSERT INTO {EVENTS} (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, 'domain.partner_account:PartnerAccount.Opened', %s)",
            (UUID(int=7), b"{}"),
        )
        bare = head[0] + 1
        _, seq = middle(database, partner)
        forged = event_hash(
            b"\x00" * 32,
            position=bare + 1,
            chain=partner,
            chain_seq=seq,
            originator_id=UUID(int=8),
            originator_version=1,
            topic="t",
            state=b"{}",
            recorded_at=None,
            cause=None,
        )
        conn.execute(
            f"INSERT INTO {EVENTS} (notification_id, originator_id, originator_version, topic, "
            "state, chain, chain_seq, hash) VALUES (%s, %s, 1, 't', %s, %s, %s, %s)",
            (bare + 1, UUID(int=8), b"{}", partner, seq + 10_000, forged),
        )
    with database.connect() as conn:
        found = verify(conn)
    kinds = {(each.position, each.kind) for each in found.breaks}
    assert (bare, BreakKind.UNCHAINED) in kinds
    assert any(pos == bare + 1 for pos, _ in kinds), found.as_json()


def test_a_store_made_before_the_chains_is_linked_once_on_its_upgrade(
    ledger: Ledger, database: Database, history: list[UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The columns dropped (as a store made before them) and the schema made again: every
    event is linked, causes unknown, and the walk finds the store intact. Batches of 7 rows,
    so the reading and the writing back go in many batches, as on a large store."""
    monkeypatch.setattr(audit_chain, "LINK_BATCH", 7)
    with database.connect(autocommit=True) as conn:
        count = conn.execute(f"SELECT count(*) FROM {EVENTS}").fetchone()
        conn.execute(
            f"ALTER TABLE {EVENTS} DROP COLUMN chain, DROP COLUMN chain_seq, "
            "DROP COLUMN recorded_at, DROP COLUMN cause, DROP COLUMN hash"
        )
    with database.connect() as conn:
        create_tables(conn)
    with database.connect() as conn:
        found = verify(conn)
        unknown = conn.execute(f"SELECT count(*) FROM {EVENTS} WHERE cause IS NULL").fetchone()
        chains = {row[0] for row in conn.execute(f"SELECT DISTINCT chain FROM {EVENTS}")}
    assert found.intact, found.summary()
    assert count is not None
    assert unknown is not None
    assert found.events == count[0] == unknown[0]
    assert set(history) <= chains


def test_r_x6_a_changed_snapshot_is_named_at_the_event_it_stands_after(
    ledger: Ledger, database: Database, history: list[UUID]
) -> None:
    """Snapshots are not in the chains, and an as-of replay starts from them: the check replays
    each snapshotted aggregate and compares. About a second: 200 events make a snapshot."""
    partner = history[0]
    currency = ledger.partner_account(partner).currency
    for n in range(200):
        ledger.top_up(
            partner,
            Money(100, currency),
            PaymentSource.BANK_TRANSFER,
            reference=f"r{n}",
            key=f"snap/{n}",
        )
    with database.connect() as conn:
        found = verify(conn, snapshots=ledger.mapper)
        row = conn.execute(
            "SELECT e.notification_id FROM ledger_snapshots s JOIN ledger_events e "
            "ON e.originator_id = s.originator_id AND e.originator_version = s.originator_version "
            "WHERE s.originator_id = %s",
            (partner,),
        ).fetchone()
    assert found.intact, found.summary()
    assert row is not None, "no snapshot of the account was taken"
    tamper(
        database,
        "UPDATE ledger_snapshots SET state = convert_to(replace(convert_from(state, 'UTF8'), "
        "%s, 'Forged Resellers'), 'UTF8') WHERE originator_id = %s",
        ledger.partner_account(partner).name,
        partner,
    )
    with database.connect() as conn:
        walked = verify(conn)
        checked = verify(conn, snapshots=ledger.mapper, partner_id=partner)
    assert walked.intact, "the chains alone do not cover snapshots"
    first = checked.first_break
    assert first is not None
    assert (first.position, first.kind, first.partner_id) == (row[0], BreakKind.SNAPSHOT, partner)
