"""Exactly once, and one projector at a time.

- A projector killed with SIGKILL at seeded points, mid-batch or between batches, resumes
  with no event lost and none applied twice: after the last run its read models equal a
  clean build from position 0, row for row.
- Two `ledgerline serve` processes on one database: one applies the log, the other waits;
  when the first is killed, the second takes over within seconds.
"""

from __future__ import annotations

import json
import queue
import random
import signal
import time
from typing import Any

import pytest

from ledger.application import EVENTS_TABLE, Ledger
from ledger.clock import SimulatedClock
from ledger.database import Database
from projections import generations
from projections.base import Projection
from projections.registry import all_projections
from projections.runner import Runner, Target
from tests.api.test_cli import Served, cli_env
from tests.histories import make_history
from tests.projections import crash_worker
from tests.support import fork_server

WORKER_TIMEOUT_S = 120.0
TAKEOVER_TIMEOUT_S = 20.0


def rows(conn: Any, projection: Projection, generation: int) -> dict[str, list[str]]:
    """Every row of every table of one generation, in a comparable order."""
    schema = projection.schema(generation)
    found = {}
    for table in projection.tables:
        result = conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()
        found[table] = sorted(row[0] for row in result)
    return found


def clean_build(database: Database, projection: Projection) -> int:
    """A new generation built from position 0 in one go; returns its number."""
    with database.connect() as conn:
        generation = generations.create(conn, projection)
    runner = Runner(database.connect, [Target(projection, generation)], events_table=EVENTS_TABLE)
    runner.catch_up()
    runner.close()
    return generation


def run_worker(database: Database, kill_at: int, batch_size: int) -> int:
    """One projector process (tests/projections/crash_worker.py), forked from the tests' fork
    server: its exit code, -SIGKILL if it died at its kill point."""
    context = fork_server()
    failures, report = context.Pipe(duplex=False)
    process = context.Process(
        target=crash_worker.run_reporting, args=(report, database.url, kill_at, batch_size)
    )
    process.start()
    report.close()
    process.join(WORKER_TIMEOUT_S)
    if process.exitcode is None:
        process.kill()
        pytest.fail("the projector did not finish")
    try:  # a failure's traceback, or the end of the pipe
        failure = str(failures.recv())
    except EOFError:
        failure = ""
    failures.close()
    if process.exitcode not in (0, -signal.SIGKILL):
        pytest.fail(f"the projector failed ({process.exitcode}):\n{failure}")
    return process.exitcode


@pytest.mark.parametrize("seed", [5, 6])
def test_a_projector_killed_mid_batch_resumes_without_losing_or_repeating_an_event(
    ledger: Ledger, clock: SimulatedClock, database: Database, seed: int
) -> None:
    make_history(ledger, clock, seed, steps=120)
    with database.connect() as conn:
        head = int(conn.execute(f"SELECT max(notification_id) FROM {EVENTS_TABLE}").fetchone()[0])  # type: ignore[index]
    rng = random.Random(seed)
    batch_size = rng.randint(8, 16)
    kills = 0
    for _ in range(40):
        if run_worker(database, rng.randint(2, 30), batch_size) == 0:
            break
        kills += 1
        if kills >= 8:
            assert run_worker(database, 0, batch_size) == 0
            break
    assert kills >= 3, "the seeded kill points did not land: the test proved nothing"

    with database.connect() as conn:
        for projection in all_projections():
            live = generations.live(conn, projection.name)
            assert live is not None
            assert live.position == head
    for projection in all_projections():
        clean = clean_build(database, projection)
        with database.connect() as conn:
            live = generations.live(conn, projection.name)
            assert live is not None
            assert rows(conn, projection, live.generation) == rows(conn, projection, clean), (
                f"{projection.name} differs from a clean build after {kills} kills"
            )


def logged(served: Served, event: str, timeout_s: float = 0.0) -> bool:
    """Whether the process has logged `event` (waiting up to `timeout_s` for it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            served.seen.append(served.lines.get(timeout=0.1))
        except queue.Empty:
            if time.monotonic() >= deadline:
                break
        if any(_event(line) == event for line in served.seen):
            return True
    return any(_event(line) == event for line in served.seen)


def _event(line: str) -> str | None:
    try:
        return str(json.loads(line).get("event"))
    except ValueError:
        return None


def wait_for_position(database: Database, position: int, timeout_s: float) -> float:
    """Seconds until every live read model has applied `position`."""
    started = time.monotonic()
    names = [p.name for p in all_projections()]
    with database.connect() as conn:
        while time.monotonic() - started < timeout_s:
            reached = conn.execute(
                "SELECT min(position) FROM projection_generations WHERE live AND "
                "projection = ANY(%s)",
                (names,),
            ).fetchone()
            if reached and reached[0] is not None and reached[0] >= position:
                return time.monotonic() - started
            time.sleep(0.05)
    raise AssertionError(f"the read models did not reach position {position}")


def test_two_serve_processes_one_projector_and_a_takeover_after_sigkill(
    ledger: Ledger, database: Database
) -> None:
    env = cli_env(DATABASE_URL=database.url, LEDGERLINE_ENVIRONMENT="test")
    first = Served(env)
    first.url()
    assert logged(first, "projection_lock_taken", TAKEOVER_TIMEOUT_S)
    second = Served(env)
    try:
        second.url()
        opened = ledger.open_partner_account(name="Otter", currency="USD", time_zone="UTC")
        wait_for_position(database, opened.position, TAKEOVER_TIMEOUT_S)
        assert not logged(second, "projection_lock_taken"), "both processes apply the log"

        first.process.send_signal(signal.SIGKILL)
        first.process.wait(TAKEOVER_TIMEOUT_S)
        again = ledger.open_partner_account(name="Badger", currency="USD", time_zone="UTC")
        took = wait_for_position(database, again.position, TAKEOVER_TIMEOUT_S)
        assert logged(second, "projection_lock_taken")
        assert took < 10.0, f"the takeover took {took:.1f} s"
        with database.connect() as conn:
            names = conn.execute("SELECT name FROM partners ORDER BY name").fetchall()
        assert [n[0] for n in names] == ["Badger", "Otter"]
    finally:
        if first.process.poll() is None:
            first.process.kill()
        first.stop(signal.SIGKILL)
        second.stop(signal.SIGTERM)
