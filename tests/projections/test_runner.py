"""The runner applies the log to read models a batch per transaction, exactly once."""

from __future__ import annotations

import threading
import time
from typing import ClassVar

import pytest

from ledger.application import EVENTS_TABLE, Ledger
from ledger.database import Database
from projections import generations
from projections.partners import PartnerDirectory
from projections.runner import ProjectionFailed, Runner
from tests.projections.support import live_runner

LIVE_TIMEOUT_S = 5.0


def open_partners(ledger: Ledger, count: int) -> list[int]:
    return [
        ledger.open_partner_account(name=f"Partner {n}", currency="USD", time_zone="UTC").position
        for n in range(count)
    ]


def partner_names(database: Database) -> list[str]:
    with database.connect() as conn:
        return [row[0] for row in conn.execute("SELECT name FROM partners ORDER BY position")]


def position(database: Database, name: str = "partners") -> int:
    with database.connect() as conn:
        return generations.live_position(conn, name)


class BrokenOnThird(PartnerDirectory):
    """Writes its rows, then fails when a batch holds a third partner (a buggy read model)."""

    name = "broken"
    tables: ClassVar[tuple[str, ...]] = ("broken_partners",)
    ddl = tuple(
        s.replace("{schema}.partners", "{schema}.broken_partners") for s in PartnerDirectory.ddl
    )
    statements = (
        *(
            s.replace("{schema}.partners", "{schema}.broken_partners")
            for s in PartnerDirectory.statements
        ),
        # Not `1 / 0`: PostgreSQL folds a constant at planning, before any row is counted.
        "SELECT 1 / (CASE WHEN count(*) >= 3 THEN 0 ELSE 1 END) FROM {schema}.broken_partners",
    )


def test_catching_up_applies_every_event_and_moves_the_position(
    ledger: Ledger, database: Database
) -> None:
    start = position(database)  # the template's catalogue, read already
    positions = open_partners(ledger, 5)
    runner = live_runner(database, PartnerDirectory())
    assert runner.catch_up() == positions[-1] - start
    assert partner_names(database) == [f"Partner {n}" for n in range(5)]
    assert position(database) == positions[-1]
    assert runner.catch_up() == 0
    runner.close()


def test_batches_move_the_position_one_transaction_at_a_time(
    ledger: Ledger, database: Database
) -> None:
    start = position(database)  # the template's catalogue, read already
    open_partners(ledger, 5)
    runner = live_runner(database, PartnerDirectory(), batch_size=2)
    with database.connect() as conn:
        from projections.base import stage

        stage(conn)
        assert runner.run_once(conn) == (2, False)
        assert position(database) == start + 2
        assert len(partner_names(database)) == 2
        assert runner.run_once(conn) == (2, False)
        assert runner.run_once(conn) == (1, True)
    runner.close()


def test_a_failing_batch_writes_neither_rows_nor_position(
    ledger: Ledger, database: Database
) -> None:
    open_partners(ledger, 4)
    failing = live_runner(database, BrokenOnThird())
    with pytest.raises(ProjectionFailed) as failed:
        failing.catch_up()
    assert "broken" in str(failed.value)
    assert position(database, "broken") == 0
    with database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM broken_partners").fetchone() == (0,)
    failing.close()


def test_two_runners_of_one_generation_never_apply_an_event_twice(
    ledger: Ledger, database: Database
) -> None:
    open_partners(ledger, 30)
    runners = [live_runner(database, PartnerDirectory(), batch_size=3) for _ in "ab"]
    errors: list[BaseException] = []

    def run(runner: Runner) -> None:
        try:
            runner.catch_up()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(partner_names(database)) == 30  # a second insert of a partner would have failed
    for runner in runners:
        runner.close()


def test_an_event_of_unknown_kind_stops_the_runner_where_it_is(
    ledger: Ledger, database: Database
) -> None:
    open_partners(ledger, 2)
    runner = live_runner(database, PartnerDirectory())
    runner.catch_up()
    before = position(database)
    with database.connect() as conn:
        conn.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state) "
            "VALUES (gen_random_uuid(), 1, 'domain.future:Thing.Happened', '{}')"
        )
    open_partners(ledger, 1)

    runner.run(threading.Event())  # returns by itself: it stops instead of skipping

    assert runner.failure is not None
    assert "unknown kind" in str(runner.failure)
    assert position(database) == before
    assert len(partner_names(database)) == 2
    runner.close()


def test_the_live_runner_follows_new_commands(ledger: Ledger, database: Database) -> None:
    runner = live_runner(database, PartnerDirectory())
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        reached = open_partners(ledger, 1)[0]
        deadline = time.monotonic() + LIVE_TIMEOUT_S
        while position(database) < reached and time.monotonic() < deadline:
            time.sleep(0.01)
        assert partner_names(database) == ["Partner 0"]
    finally:
        stop.set()
        runner.wake()
        thread.join(LIVE_TIMEOUT_S)
    assert not thread.is_alive()
    runner.close()


def test_only_one_runner_holds_the_live_lock(database: Database, ledger: Ledger) -> None:
    first = live_runner(database, PartnerDirectory())
    second = live_runner(database, PartnerDirectory())
    first.lock_key = second.lock_key = "test/live"
    stops = [threading.Event(), threading.Event()]
    threads = [
        threading.Thread(target=r.run, args=(s,), daemon=True)
        for r, s in zip((first, second), stops, strict=True)
    ]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + LIVE_TIMEOUT_S
        while not (first.holds_lock or second.holds_lock) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert first.holds_lock != second.holds_lock
    finally:
        for stop in stops:
            stop.set()
        first.wake()
        for thread in threads:
            thread.join(LIVE_TIMEOUT_S)
        first.close()
        second.close()
