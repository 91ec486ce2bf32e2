"""A tracked projection writes its rows and its position in one transaction, exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import psycopg
import pytest

from ledger.application import EVENTS_TABLE, Ledger
from ledger.database import Database
from projections.partners import PartnerDirectory
from projections.projector import Projected, Projection, ProjectionFailed, Projector

LIVE_TIMEOUT_S = 5.0


def projector_for(
    projection: Projection, ledger: Ledger, database: Database, batch_size: int = 100
) -> Projector:
    projector = Projector(
        database.connect,
        projection,
        ledger.mapper.to_domain_event,
        events_table=EVENTS_TABLE,
        batch_size=batch_size,
    )
    projector.create_tables()
    return projector


def open_partners(ledger: Ledger, count: int) -> list[int]:
    return [
        ledger.open_partner_account(name=f"Partner {n}", currency="USD", time_zone="UTC").position
        for n in range(count)
    ]


def partner_names(database: Database) -> list[str]:
    with database.connect() as conn:
        return [row[0] for row in conn.execute("SELECT name FROM partners ORDER BY position")]


class FailsOnThirdEvent(PartnerDirectory):
    """Writes the batch's rows, then fails on its third event, as a buggy projection would."""

    def apply(self, conn: psycopg.Connection[Any], batch: Sequence[Projected]) -> None:
        super().apply(conn, batch)
        if len(batch) >= 3:
            raise ValueError("cannot apply the third event")


class ReadsNothing(Projection):
    name = "reads_nothing"
    event_classes = ()

    def create_tables(self, conn: psycopg.Connection[Any]) -> None:
        pass

    def apply(self, conn: psycopg.Connection[Any], batch: Sequence[Projected]) -> None:
        raise AssertionError("no event is this projection's business")


def test_catching_up_applies_every_event_and_records_the_position(
    ledger: Ledger, database: Database
) -> None:
    positions = open_partners(ledger, 5)
    projector = projector_for(PartnerDirectory(), ledger, database)

    assert projector.catch_up() == 5
    assert partner_names(database) == [f"Partner {n}" for n in range(5)]
    assert projector.position() == positions[-1]
    assert projector.catch_up() == 0


def test_batches_advance_the_position_one_transaction_at_a_time(
    ledger: Ledger, database: Database
) -> None:
    positions = open_partners(ledger, 5)
    projector = projector_for(PartnerDirectory(), ledger, database, batch_size=2)

    assert projector.run_once() == (2, False)
    assert projector.position() == positions[1]
    assert len(partner_names(database)) == 2
    assert projector.run_once() == (2, False)
    assert projector.run_once() == (1, True)
    assert projector.position() == positions[4]


def test_a_failing_batch_writes_neither_rows_nor_position(
    ledger: Ledger, database: Database
) -> None:
    positions = open_partners(ledger, 4)
    failing = projector_for(FailsOnThirdEvent(), ledger, database)

    with pytest.raises(ProjectionFailed) as failed:
        failing.catch_up()
    assert failed.value.projection == "partners"
    assert failing.position() == 0
    assert partner_names(database) == []

    fixed = projector_for(PartnerDirectory(), ledger, database)
    assert fixed.catch_up() == 4
    assert fixed.position() == positions[-1]


def test_two_projectors_of_one_projection_never_apply_an_event_twice(
    ledger: Ledger, database: Database
) -> None:
    open_partners(ledger, 30)
    projectors = [projector_for(PartnerDirectory(), ledger, database, batch_size=3) for _ in "ab"]
    applied: list[int] = []
    errors: list[BaseException] = []

    def run(projector: Projector) -> None:
        try:
            applied.append(projector.catch_up())
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(p,)) for p in projectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(applied) == 30
    assert len(partner_names(database)) == 30


def test_events_outside_a_projection_still_advance_its_position(
    ledger: Ledger, database: Database
) -> None:
    positions = open_partners(ledger, 3)
    projector = projector_for(ReadsNothing(), ledger, database)
    assert projector.catch_up() == 0
    assert projector.position() == positions[-1]


def test_an_event_it_cannot_read_stops_the_projector_where_it_is(
    ledger: Ledger, database: Database
) -> None:
    open_partners(ledger, 2)
    projector = projector_for(PartnerDirectory(), ledger, database)
    projector.catch_up()
    before = projector.position()
    with database.connect() as conn:
        conn.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state) "
            "VALUES (gen_random_uuid(), 1, %s, %s)",
            ("domain.partner_account:PartnerAccount.Opened", b"{not json"),
        )
    open_partners(ledger, 1)

    stop = threading.Event()
    projector.run(stop)  # returns by itself: it stops at the bad event instead of skipping it

    assert projector.failure is not None
    assert projector.failure.position == before + 1
    assert projector.position() == before
    assert len(partner_names(database)) == 2


def test_the_live_projector_follows_new_commands(ledger: Ledger, database: Database) -> None:
    projector = projector_for(PartnerDirectory(), ledger, database)
    stop = threading.Event()
    thread = threading.Thread(target=projector.run, args=(stop,), daemon=True)
    thread.start()
    try:
        position = ledger.open_partner_account(
            name="Live", currency="EUR", time_zone="Europe/Paris"
        ).position
        deadline = time.monotonic() + LIVE_TIMEOUT_S
        while projector.position() < position and time.monotonic() < deadline:
            time.sleep(0.01)
        assert partner_names(database) == ["Live"]
    finally:
        stop.set()
        thread.join(LIVE_TIMEOUT_S)
    assert not thread.is_alive()
