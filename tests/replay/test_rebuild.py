"""Rebuilding a read model beside the live one: equal row for row, swapped without a reader
noticing, a changed rule shown as a diff, and the same result as incremental maintenance."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql

from domain.payment_methods import PaymentSource
from ledger.application import EVENTS_TABLE, Ledger
from ledger.catalogue import load_catalogue
from ledger.clock import SimulatedClock
from ledger.database import Database
from projections import generations, invoices
from projections.activity import ActivityFeed
from projections.base import Projection, install_functions
from projections.invoices import InvoiceHistory
from projections.partners import PartnerDirectory
from projections.registry import all_projections
from projections.runner import Runner, Target
from replay.rebuild import (
    compare,
    discard,
    head_position,
    rebuild,
    rebuild_many,
    status,
    swap,
)
from tests.histories import make_history, transfers_done
from tests.projections.support import stored_backwards
from tests.support import START

WAIT_S = 20.0
"""The longest a test waits for a background thread to reach the head of the log."""


class ShoutingDirectory(PartnerDirectory):
    """A changed rule: partner names in capitals (version 2 of the partner directory)."""

    version = 2
    statements = (
        PartnerDirectory.statements[0].replace(
            "ll_personal(event -> 'name')", "upper(ll_personal(event -> 'name'))"
        ),
        *PartnerDirectory.statements[1:],
    )


def following(database: Database, *projections: Projection, batch_size: int = 11) -> Runner:
    """The live runner as `serve` runs it: it follows promoted generations."""
    with database.connect() as conn:
        install_functions(conn)
        for projection in projections:
            generations.ensure_live(conn, projection)
    return Runner.following_live(
        database.connect, list(projections), events_table=EVENTS_TABLE, batch_size=batch_size
    )


@contextmanager
def running(runner: Runner) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        runner.wake()
        thread.join(WAIT_S)
        runner.close()
    assert runner.failure is None


def wait_for_head(database: Database, name: str) -> int:
    deadline = time.monotonic() + WAIT_S
    with database.connect() as conn:
        while generations.live_position(conn, name) < head_position(conn):
            assert time.monotonic() < deadline, f"{name} did not reach the head of the log"
            time.sleep(0.02)
        return generations.live_position(conn, name)


def keep_commanding(ledger: Ledger, stop: threading.Event, done: list[int]) -> None:
    """A partner portal at work: clients and lines keep being created and activated."""
    partner = ledger.open_partner_account(name="Busy", currency="USD", time_zone="UTC")
    assert partner.aggregate_id is not None
    while not stop.is_set():
        client = ledger.register_client(partner.aggregate_id, name=f"Client {len(done)}")
        assert client.aggregate_id is not None
        line = ledger.create_line(partner.aggregate_id, client.aggregate_id, "service-plan")
        assert line.aggregate_id is not None
        ledger.activate_line(line.aggregate_id)
        done.append(line.position)


def keep_reading(database: Database, stop: threading.Event, counts: list[int]) -> None:
    """A reader counting the feed's rows as fast as it can; any error fails the test."""
    with database.connect() as conn:
        while not stop.is_set():
            row = conn.execute("SELECT count(*) FROM activity").fetchone()
            assert row is not None
            counts.append(int(str(row[0])))


def test_a_rebuild_while_commands_arrive_equals_the_live_model_and_swaps_unnoticed(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    make_history(ledger, clock, 11, steps=40)
    feed = ActivityFeed()
    live = following(database, feed)
    stop_commands, stop_reader = threading.Event(), threading.Event()
    commanded: list[int] = []
    counts: list[int] = []
    errors: list[BaseException] = []

    def guarded(work: Callable[..., None], *args: object) -> threading.Thread:
        def run() -> None:
            try:
                work(*args)
            except BaseException as error:  # reported by the assertion below
                errors.append(error)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    with running(live):
        wait_for_head(database, feed.name)
        commands = guarded(keep_commanding, ledger, stop_commands, commanded)
        reader = guarded(keep_reading, database, stop_reader, counts)
        progress: list[tuple[int, int]] = []
        rebuilt = rebuild(database, feed, lambda done, head: progress.append((done, head)))
        difference = compare(database, feed, rebuilt.generation)
        swapped = swap(database, feed, rebuilt.generation)
        during = len(commanded)
        time.sleep(0.3)  # commands go on after the swap, and the live runner follows
        stop_commands.set()
        commands.join(WAIT_S)
        wait_for_head(database, feed.name)
        stop_reader.set()
        reader.join(WAIT_S)
        assert live.targets == [Target(feed, rebuilt.generation)]

    assert errors == []
    assert difference.empty, difference
    assert difference.old_position == difference.new_position
    assert progress[-1][0] == rebuilt.position
    assert during > 0, "no command arrived during the rebuild"
    assert len(commanded) > during, "no command arrived after the swap"
    assert counts, "the reader never read"
    assert counts == sorted(counts), "a reader saw rows disappear: a half-built model"
    assert (swapped.old_generation, swapped.old_dropped) == (1, True)
    with database.connect() as conn:
        assert generations.live(conn, feed.name) == generations.Generation(
            feed.name, rebuilt.generation, 1, head_position(conn), True
        )
        schemas = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rm_activity_%' ORDER BY 1"
        ).fetchall()
    assert schemas == [(f"rm_activity_{rebuilt.generation}",)]
    # What the live runner went on to apply to the new generation is right too.
    again = rebuild(database, feed)
    assert compare(database, feed, again.generation).empty
    discard(database, feed, again.generation)


def test_a_changed_rule_shows_a_diff_with_examples_and_needs_a_rebuild(
    ledger: Ledger, database: Database
) -> None:
    for n in range(7):
        ledger.open_partner_account(name=f"Partner {n}", currency="USD", time_zone="UTC")
    live = following(database, PartnerDirectory())
    live.catch_up()
    live.close()
    shouting = ShoutingDirectory()
    with database.connect() as conn:
        [model] = [m for m in status(conn) if m.name == "partners"]
        assert not model.needs_rebuild
        conn.execute("UPDATE projection_generations SET version = 0 WHERE projection = 'partners'")
        [model] = [m for m in status(conn) if m.name == "partners"]
        assert model.needs_rebuild
        assert model.lag == 0

    rebuilt = rebuild(database, shouting)
    with database.connect() as conn:
        [model] = [m for m in status(conn) if m.name == "partners"]
        assert [g.generation for g in model.building] == [rebuilt.generation]
    difference = compare(database, shouting, rebuilt.generation)

    assert not difference.empty
    [partners] = difference.tables
    assert (partners.key, partners.added, partners.removed, partners.changed) == (
        ("partner_id",),
        0,
        0,
        7,
    )
    assert len(partners.changed_examples) == 5
    before, after = partners.changed_examples[0]
    assert before["partner_id"] == after["partner_id"]
    assert after["name"] == before["name"].upper() != before["name"]

    swap(database, shouting, rebuilt.generation, keep_old=True)
    with database.connect() as conn:
        assert [g.generation for g in generations.generations(conn, "partners")] == [1, 2]
        names = [row[0] for row in conn.execute("SELECT name FROM partners ORDER BY position")]
    assert names == [f"PARTNER {n}" for n in range(7)]


def test_a_rebuild_that_would_change_nothing_can_be_dropped_leaving_the_live_one(
    ledger: Ledger, database: Database
) -> None:
    ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC")
    live = following(database, PartnerDirectory())
    live.catch_up()
    live.close()
    rebuilt = rebuild(database, PartnerDirectory())
    assert compare(database, PartnerDirectory(), rebuilt.generation).empty
    discard(database, PartnerDirectory(), rebuilt.generation)
    with database.connect() as conn:
        assert [(g.generation, g.live) for g in generations.generations(conn, "partners")] == [
            (1, True)
        ]
        schema = conn.execute("SELECT to_regnamespace('rm_partners_2')").fetchone()
    assert schema == (None,)


def test_r_h2_an_invoice_history_of_version_1_is_rebuilt_with_the_payments_announced(
    ledger: Ledger, database: Database
) -> None:
    partner = ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC")
    assert partner.aggregate_id is not None
    client = ledger.register_client(partner.aggregate_id, name="Bistro")
    assert client.aggregate_id is not None
    line = ledger.create_line(partner.aggregate_id, client.aggregate_id, "email-signatures")
    assert line.aggregate_id is not None
    billed = UUID(ledger.activate_line(line.aggregate_id).data["invoice_id"])
    announced = ledger.announce_payment(billed, PaymentSource.CASH, "Receipt 17")
    history = InvoiceHistory()
    live = following(database, history)
    live.catch_up()
    live.close()
    with database.connect() as conn:  # the generation version 1 built: no announcements
        conn.execute("DROP TABLE rm_invoices_1.invoice_announcements CASCADE")
        conn.execute("UPDATE projection_generations SET version = 1 WHERE projection = 'invoices'")
        [model] = [m for m in status(conn) if m.name == "invoices"]
        assert model.needs_rebuild

    rebuilt = rebuild(database, history)
    difference = compare(database, history, rebuilt.generation)
    swap(database, history, rebuilt.generation)

    [added] = [t for t in difference.tables if not t.empty]
    assert (added.table, added.added, added.removed, added.changed) == (
        "invoice_announcements",
        1,
        0,
        0,
    )
    with database.connect() as conn:
        [model] = [m for m in status(conn) if m.name == "invoices"]
        document = invoices.invoice(conn, billed)
    assert not model.needs_rebuild
    assert document is not None
    [waiting] = document.announcements
    assert (waiting.payment_id, waiting.reference, waiting.confirmed_on) == (
        UUID(announced.data["payment_id"]),
        "Receipt 17",
        None,
    )


@contextmanager
def fresh_database(server: Database) -> Iterator[Database]:
    """A database of its own for one hypothesis example, dropped after it."""
    name = f"ledgerline_example_{uuid4().hex[:16]}"
    with server.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.with_dbname(name)
    finally:
        with server.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@settings(max_examples=4, deadline=None, derandomize=True, print_blob=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    steps=st.integers(60, 90),
    live_batch=st.integers(1, 40),
    rebuild_batch=st.sampled_from([3, 50, 5_000]),
    workers=st.integers(1, 3),
)
def test_for_random_histories_a_rebuilt_model_equals_the_incrementally_maintained_one(
    postgres_server: Database,
    seed: int,
    steps: int,
    live_batch: int,
    rebuild_batch: int,
    workers: int,
) -> None:
    """Whatever the history (reseller transfers included) and however it was cut into batches,
    live or rebuilt, every read model comes out the same, row for row."""
    with fresh_database(postgres_server) as database:
        clock = SimulatedClock(START)
        ledger = Ledger(database, clock, catalogue=load_catalogue(), pool_size=2)
        try:
            models = all_projections()
            with running(following(database, *models, batch_size=live_batch)):
                make_history(ledger, clock, seed, steps=steps, transfers=True)
                clock.advance(timedelta(days=1))
                for model in models:
                    wait_for_head(database, model.name)
            # All at once, shared among runners working in parallel, as `rebuild all` does,
            # from a log whose rows lie on disk in another order than the log's.
            stored_backwards(database)
            rebuilt = rebuild_many(database, models, batch_size=rebuild_batch, workers=workers)
            assert [r.projection for r in rebuilt] == [m.name for m in models]
            with database.connect() as conn:
                head = head_position(conn)
            for model, built in zip(models, rebuilt, strict=True):
                difference = compare(database, model, built.generation)
                assert difference.empty, (model.name, difference)
                assert difference.new_position == difference.old_position == head
        finally:
            ledger.close()


TRANSFERRING_SEED = 4
"""A history (of 75 steps) in which two reseller transfers take effect (R-E1)."""


@pytest.mark.parametrize("live_batch", [1, 7])
def test_r_e1_a_random_history_with_transfers_rebuilt_equals_the_live_model(
    ledger: Ledger, clock: SimulatedClock, database: Database, live_batch: int
) -> None:
    """Transferred clients and their acts come out the same live, in any batches, and rebuilt;
    also when the log's rows lie on disk in another order than the log's."""
    history = make_history(ledger, clock, TRANSFERRING_SEED, steps=75, transfers=True)
    assert transfers_done(ledger) >= 2
    assert history.transfers_requested > transfers_done(ledger)  # some wait, or were refused
    models = all_projections()
    live = following(database, *models, batch_size=live_batch)
    live.catch_up()
    live.close()
    stored_backwards(database)
    for model, built in zip(models, rebuild_many(database, models), strict=True):
        difference = compare(database, model, built.generation)
        assert difference.empty, (model.name, difference)


def test_the_live_runner_leaves_another_versions_model_alone_until_its_own_is_promoted(
    ledger: Ledger, database: Database
) -> None:
    ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC")
    with database.connect() as conn:
        install_functions(conn)
        generations.ensure_live(conn, PartnerDirectory())  # built by version 1
    shouting = ShoutingDirectory()
    live = Runner.following_live(database.connect, [shouting], events_table=EVENTS_TABLE)
    assert live.catch_up() == 0
    assert live.targets == []

    swap(database, shouting, rebuild(database, shouting).generation)
    ledger.open_partner_account(name="Bistro", currency="USD", time_zone="UTC")
    assert live.catch_up() == 1
    live.close()
    assert live.targets == [Target(shouting, 2)]
    with database.connect() as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM partners ORDER BY position")]
    assert names == ["ACME", "BISTRO"]
