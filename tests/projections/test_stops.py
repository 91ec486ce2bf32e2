"""A read model that meets an event it cannot apply stops alone, loudly; the others carry on.

Issue 11: one accepted command once stopped every read model (the runner applies them in one
transaction). The live runner now applies a failing batch again one read model at a time,
keeps each failing one up to the event before the one it cannot apply, and records that
event and the database's reason in `projection_stops`; `ledgerline projections status`
names it and exits 1 (`/readyz` and `/metrics` are shown in tests/api/test_operations.py).
"""

from __future__ import annotations

import structlog

from ledger.application import EVENTS_TABLE, Ledger
from ledger.database import Database
from projections import generations
from projections.base import install_functions
from projections.partners import PartnerDirectory
from projections.runner import Runner
from tests.projections.test_runner import BrokenOnThird, open_partners, partner_names, position
from tests.replay.test_rebuild_cli import ledgerline

OPENED = "PartnerAccount.Opened"


def following(database: Database, *projections: PartnerDirectory) -> Runner:
    """The live runner of these read models, as `ledgerline serve` runs it."""
    with database.connect() as conn:
        install_functions(conn)
        for projection in projections:
            generations.ensure_live(conn, projection)
    return Runner.following_live(
        database.connect, list(projections), events_table=EVENTS_TABLE, batch_size=100
    )


def stop_of(database: Database, name: str) -> generations.Stop | None:
    with database.connect() as conn:
        return generations.live_stop(conn, name)


def broken_rows(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute("SELECT count(*) FROM broken_partners").fetchone()
    return int(row[0]) if row else 0


def test_a_read_model_stops_at_the_event_it_cannot_apply_and_the_others_carry_on(
    ledger: Ledger, database: Database
) -> None:
    opened = open_partners(ledger, 5)
    runner = following(database, PartnerDirectory(), BrokenOnThird())

    assert runner.catch_up() == opened[-1]

    assert len(partner_names(database)) == 5
    assert position(database) == opened[-1]
    # The broken one kept what it could apply: up to the event before the third partner.
    assert (broken_rows(database), position(database, "broken")) == (2, opened[2] - 1)
    stop = stop_of(database, "broken")
    assert stop is not None
    assert (stop.position, stop.topic.endswith(OPENED)) == (opened[2], True)
    assert "division by zero" in stop.reason
    assert stop_of(database, "partners") is None

    # It stays stopped; the other follows new events.
    more = open_partners(ledger, 2)
    runner.catch_up()
    assert position(database) == more[-1]
    assert len(partner_names(database)) == 7
    assert position(database, "broken") == opened[2] - 1

    status = ledgerline(database, "projections", "status")
    assert status.returncode == 1, status.stderr
    assert f"broken is stopped at log position {opened[2]}" in status.stderr
    assert "division by zero" in status.stderr
    assert "partners is stopped" not in status.stderr

    # Tried again (a new process clears the stop): the same event stops it again, no further.
    with database.connect() as conn:
        assert generations.clear_stop(conn, "broken") == stop
    runner.catch_up()
    again = stop_of(database, "broken")
    assert again is not None
    assert again.position == opened[2]
    assert broken_rows(database) == 2
    runner.close()


def test_an_event_of_unknown_kind_stops_every_live_read_model_before_it(
    ledger: Ledger, database: Database
) -> None:
    before = open_partners(ledger, 2)
    with database.connect() as conn:
        row = conn.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state) "
            "VALUES (gen_random_uuid(), 1, 'domain.future:Thing.Happened', '{}') "
            "RETURNING notification_id"
        ).fetchone()
    assert row is not None
    unknown = int(row[0])
    open_partners(ledger, 1)
    runner = following(database, PartnerDirectory())

    runner.catch_up()
    runner.catch_up()  # nothing more: it does not skip, it waits for code that knows the kind

    assert position(database) == unknown - 1 == before[-1]
    stop = stop_of(database, "partners")
    assert stop is not None
    assert (stop.position, stop.topic) == (unknown, "domain.future:Thing.Happened")
    assert "unknown kind" in stop.reason
    runner.close()


def test_a_read_model_stopped_before_an_unknown_kind_keeps_its_own_stop(
    ledger: Ledger, database: Database
) -> None:
    """In one batch the broken read model's own bad event comes first, then an event of a kind
    the code does not know: each read model is stopped at the first event it cannot apply."""
    opened = open_partners(ledger, 4)
    with database.connect() as conn:
        row = conn.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state) "
            "VALUES (gen_random_uuid(), 1, 'domain.future:Thing.Happened', '{}') "
            "RETURNING notification_id"
        ).fetchone()
    assert row is not None
    runner = following(database, PartnerDirectory(), BrokenOnThird())
    try:
        with structlog.testing.capture_logs() as logs:
            runner.catch_up()
        said = [e["projection"] for e in logs if e["event"] == "projection_stopped"]
        assert sorted(said) == ["broken", "partners"]  # each stop said once, as recorded
        broken, partners = stop_of(database, "broken"), stop_of(database, "partners")
        assert broken is not None
        assert partners is not None
        assert (broken.position, "division by zero" in broken.reason) == (opened[2], True)
        assert (partners.position, "unknown kind" in partners.reason) == (int(row[0]), True)
    finally:
        runner.close()
