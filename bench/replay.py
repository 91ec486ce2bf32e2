"""Audit replay: an account of 10,000 events at any version, and the walk of the audit chains
(issue 14), on the embedded PostgreSQL with durable commits.

    .venv/bin/python bench/replay.py [--events 10000] [--samples 300] [--clients 16]

1. One partner account gets `--events` events through the ledger's own commands (top-ups
   from `--clients` callers at once, which the writer gathers into batches and snapshots
   every SNAPSHOT_EVERY events), plus a client, a line and its invoice for the full state.
2. As of a version: the account at `--samples` random versions, from the newest snapshot at
   or before each plus the events after it (replay/history.py), against the same from every
   event (no snapshots, the library's way) at a tenth as many; p50 and p99 of each.
3. As of a position: the partner's whole state (replay/as_of.py) at random log positions.
4. Verify: `replay.verify.verify` over the whole log, events per second (best of three).

Prints a line per measurement and ends with one JSON line: `as_of_ms_p50`, `as_of_ms_p99`,
`events`, `verify_events_per_s` and the others.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.money import Money
from domain.payment_methods import PaymentSource
from ledger.application import Ledger
from ledger.catalogue import load_catalogue
from ledger.clock import SystemClock
from ledger.database import Database, EmbeddedPostgres, check_durability, create_database
from replay.as_of import partner_as_of
from replay.history import load_at_version
from replay.verify import verify

SEED = 14
"""The random versions and positions sampled: the same on every run."""
VERIFY_RUNS = 3


def percentile_ms(samples: list[float], q: int) -> float:
    return round(statistics.quantiles(samples, n=100)[q - 1] * 1000, 2)


def timed(samples: int, measure: Callable[[], object]) -> list[float]:
    found = []
    for _ in range(samples):
        started = time.perf_counter()
        measure()
        found.append(time.perf_counter() - started)
    return found


def build(ledger: Ledger, events: int, clients: int) -> UUID:
    """One account with `events` events: top-ups by `clients` callers at once."""
    opened = ledger.open_partner_account(name="Bench", currency="USD", time_zone="UTC")
    partner = opened.aggregate_id
    if partner is None:
        raise SystemExit("opening a partner account returned no id")
    client = ledger.register_client(partner, name="Bench client", unified_billing=False)
    assert client.aggregate_id is not None
    line = ledger.create_line(partner, client.aggregate_id, "email-signatures").aggregate_id
    assert line is not None
    ledger.activate_line(line)
    more = events - ledger.partner_account(partner).version

    def top_ups(first: int) -> None:
        for n in range(first, more, clients):
            ledger.top_up(partner, Money(100, "USD"), PaymentSource.BANK_TRANSFER, key=f"b/{n}")

    threads = [threading.Thread(target=top_ups, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return partner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    rng = random.Random(SEED)
    headline: dict[str, Any] = {}

    folder = Path(tempfile.mkdtemp(prefix="ledgerline-bench-"))
    embedded = EmbeddedPostgres(folder / "home")
    admin = embedded.start()
    try:
        check_durability(admin, allow_unsafe=False)
        create_database(admin.with_dbname("postgres"), "bench_replay")
        database: Database = admin.with_dbname("bench_replay")
        ledger = Ledger(database, SystemClock(), catalogue=load_catalogue(), pool_size=4)
        started = time.perf_counter()
        partner = build(ledger, args.events, args.clients)
        version = ledger.partner_account(partner).version
        print(f"built: an account of {version} events in {time.perf_counter() - started:.1f} s")
        headline["events"] = version
        with database.connect() as conn:
            load_at_version(conn, ledger.mapper, partner, 1)  # connection and statement warm

            def at_version(snapshots: bool) -> Callable[[], object]:
                def measure() -> object:
                    wanted = rng.randint(1, version)
                    found = load_at_version(
                        conn, ledger.mapper, partner, wanted, snapshots=snapshots
                    )
                    if found is None or found.version != wanted:
                        raise SystemExit(f"the account at version {wanted} did not load")
                    return found

                return measure

            for name, snapshots, samples in (
                ("as_of", True, args.samples),
                ("without_snapshots", False, max(args.samples // 10, 10)),
            ):
                found = timed(samples, at_version(snapshots))
                p50, p99 = percentile_ms(found, 50), percentile_ms(found, 99)
                print(f"account at a random version, {name}: p50 {p50} ms, p99 {p99} ms")
                headline[f"{name}_ms_p50"], headline[f"{name}_ms_p99"] = p50, p99

            head = int(conn.execute("SELECT max(notification_id) FROM ledger_events").fetchone()[0])  # type: ignore[index]

            def whole_state() -> object:
                return partner_as_of(conn, ledger.mapper, partner, position=rng.randint(1, head))

            found = timed(max(args.samples // 10, 10), whole_state)
            p50, p99 = percentile_ms(found, 50), percentile_ms(found, 99)
            print(f"the partner's whole state at a random position: p50 {p50} ms, p99 {p99} ms")
            headline["partner_state_ms_p50"], headline["partner_state_ms_p99"] = p50, p99

            best = 0.0
            for _ in range(VERIFY_RUNS):
                started = time.perf_counter()
                walked = verify(conn)
                elapsed = time.perf_counter() - started
                assert walked.intact, walked.summary()
                best = max(best, walked.events / elapsed)
            headline["verify_events_per_s"] = round(best)
            headline["verified_events"] = walked.events
            print(f"verify: {walked.events} events, {round(best)} events/s (best of {VERIFY_RUNS})")
        ledger.close()
    finally:
        embedded.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
