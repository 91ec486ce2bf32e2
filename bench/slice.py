"""The foundation slice, measured: open-partner commands/s and the partner projection's catch-up.

Runs on a fresh embedded PostgreSQL with durable commits (fsync on), in a temporary folder.

    .venv/bin/python bench/slice.py [--commands 2000] [--threads 1,4]

Prints a line per measurement and ends with one JSON line of the headline figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from projections.projector import Projector

from ledger.application import EVENTS_TABLE, Ledger
from ledger.clock import SystemClock
from ledger.database import EmbeddedPostgres, check_durability
from projections.partners import PartnerDirectory


def open_partners(ledger: Ledger, count: int, threads: int) -> tuple[float, list[float]]:
    """Open `count` accounts from `threads` threads; return the elapsed seconds and latencies."""

    def one(n: int) -> float:
        started = time.perf_counter()
        ledger.open_partner_account(name=f"Partner {n}", currency="USD", time_zone="UTC")
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        latencies = list(pool.map(one, range(count)))
    return time.perf_counter() - started, latencies


def percentile_ms(latencies: list[float], q: int) -> float:
    return round(statistics.quantiles(latencies, n=100)[q - 1] * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--threads", default="1,4")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="ledgerline-bench-"))
    embedded = EmbeddedPostgres(folder / "home")
    database = embedded.start()
    try:
        check_durability(database, allow_unsafe=False)
        ledger = Ledger(database, SystemClock(), pool_size=8)
        headline: dict[str, float] = {}
        total = 0
        for threads in (int(t) for t in args.threads.split(",")):
            elapsed, latencies = open_partners(ledger, args.commands, threads)
            total += args.commands
            rate = round(args.commands / elapsed)
            p50, p99 = percentile_ms(latencies, 50), percentile_ms(latencies, 99)
            print(
                f"open partner, {threads} thread(s): {rate} commands/s, p50 {p50} ms, p99 {p99} ms"
            )
            headline[f"commands_per_s_{threads}_threads"] = rate
            headline[f"p99_ms_{threads}_threads"] = p99

        projector = Projector(
            database.connect,
            PartnerDirectory(),
            ledger.mapper.to_domain_event,
            events_table=EVENTS_TABLE,
        )
        projector.create_tables()
        started = time.perf_counter()
        applied = projector.catch_up()
        elapsed = time.perf_counter() - started
        if applied != total:
            raise SystemExit(f"the projection applied {applied} events, not {total}")
        rate = round(applied / elapsed)
        print(f"partner projection catch-up: {applied} events in {elapsed:.2f} s, {rate} events/s")
        headline["projection_events_per_s"] = rate
        ledger.close()
    finally:
        embedded.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
