"""Commands per second with durable commits: Ledgerline's group commit against the plain
eventsourcing loop, in the same run, on the embedded PostgreSQL (fsync on).

Each client thread sends commands one after another and waits for each to be committed. The
mix is half "open a partner account" (a new aggregate) and half "record a top-up" on an
account opened earlier (an existing aggregate), the same domain work on both sides:

- library: `Application.save()` per command (its own transaction and events-table lock),
  loading the account through the library's repository for a top-up;
- ledgerline: `Ledger.open_partner_account` / `Ledger.top_up`, which the writer gathers into
  one transaction per batch, each command still atomic and idempotent;
- unchained: the same ledger with its audit chains turned off (`Writer.linking`, in a database
  of its own), to show what hashing every event into its partner's chain costs.

    .venv/bin/python bench/commands.py [--commands 4000] [--clients 1,4,16]

Prints a line per measurement and ends with one JSON line of the headline figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

from eventsourcing.utils import Environment, EnvType

from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import PaymentSource
from ledger.application import Ledger
from ledger.clock import SystemClock
from ledger.database import Database, EmbeddedPostgres, check_durability, create_database
from ledger.event_store import EventStore

USD = Money(1_000, "USD")
AGGREGATE_CACHE_MAXSIZE = 100_000
"""The library keeps loaded aggregates too (and fast-forwards them), as a fair comparison."""


class Baseline(EventStore):
    """The plain library loop, in tables of its own, with the library's aggregate cache."""

    name = "baseline"

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        settings = dict(env or {})
        settings["AGGREGATE_CACHE_MAXSIZE"] = str(AGGREGATE_CACHE_MAXSIZE)
        return super().construct_env(name, settings)


def run_clients(
    clients: int, commands: int, command: Callable[[int, int], None]
) -> tuple[float, list[float], float]:
    """Run `commands` commands spread over `clients` threads; return seconds, latencies and
    this process's CPU seconds (every thread's: the clients' and the writer's)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    per_client = commands // clients
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        barrier.wait()
        for n in range(per_client):
            started = time.perf_counter()
            command(index, n)
            latencies[index].append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return elapsed, [value for values in latencies for value in values], cpu


def percentile_ms(latencies: list[float], q: int) -> float:
    return round(statistics.quantiles(latencies, n=100)[q - 1] * 1000, 2)


def library_command(app: Baseline, accounts: list[UUID]) -> Callable[[int, int], None]:
    def command(client: int, n: int) -> None:
        if n % 2 == 0:
            account = PartnerAccount.open(
                partner_id=uuid4(),
                name=f"P{client}-{n}",
                currency="USD",
                time_zone="UTC",
                now=SystemClock().now(),
            )
        else:
            account = app.repository.get(accounts[client])
            account.top_up(uuid4(), USD, PaymentSource.BANK_TRANSFER, SystemClock().now())
        app.save(account)

    return command


def ledger_command(ledger: Ledger, accounts: list[UUID]) -> Callable[[int, int], None]:
    def command(client: int, n: int) -> None:
        key = f"bench/{client}/{n}/{uuid4()}"
        if n % 2 == 0:
            ledger.open_partner_account(
                name=f"P{client}-{n}", currency="USD", time_zone="UTC", key=key
            )
        else:
            ledger.top_up(
                accounts[client], USD, PaymentSource.BANK_TRANSFER, reference="b", key=key
            )

    return command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=4000)
    parser.add_argument("--clients", default="1,4,16")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]

    folder = Path(tempfile.mkdtemp(prefix="ledgerline-bench-"))
    embedded = EmbeddedPostgres(folder / "home")
    admin = embedded.start()
    try:
        check_durability(admin, allow_unsafe=False)
        for name in ("bench_library", "bench_ledger", "bench_unchained"):
            create_database(admin.with_dbname("postgres"), name)
        library_db: Database = admin.with_dbname("bench_library")
        ledger_db: Database = admin.with_dbname("bench_ledger")
        clock = SystemClock()
        app = Baseline(library_db, pool_size=max(levels))
        ledger = Ledger(ledger_db, clock, pool_size=4)
        unchained = Ledger(admin.with_dbname("bench_unchained"), clock, pool_size=4)
        unchained.writer.linking = False
        most = max(levels)
        lib_accounts, led_accounts, unchained_accounts = [], [], []
        for n in range(most):
            account = PartnerAccount.open(
                partner_id=uuid4(),
                name=f"seed{n}",
                currency="USD",
                time_zone="UTC",
                now=clock.now(),
            )
            app.save(account)
            lib_accounts.append(account.id)
            result = ledger.open_partner_account(name=f"seed{n}", currency="USD", time_zone="UTC")
            if result.aggregate_id is None:
                raise SystemExit("opening a partner account returned no id")
            led_accounts.append(result.aggregate_id)
            other = unchained.open_partner_account(name=f"seed{n}", currency="USD", time_zone="UTC")
            if other.aggregate_id is None:
                raise SystemExit("opening a partner account returned no id")
            unchained_accounts.append(other.aggregate_id)

        headline: dict[str, float] = {}
        for clients in levels:
            measured = {}
            for side, command in (
                ("library", library_command(app, lib_accounts)),
                ("ledgerline", ledger_command(ledger, led_accounts)),
                ("unchained", ledger_command(unchained, unchained_accounts)),
            ):
                elapsed, latencies, cpu = run_clients(clients, args.commands, command)
                rate = round(len(latencies) / elapsed)
                p50, p99 = percentile_ms(latencies, 50), percentile_ms(latencies, 99)
                # The Python side's CPU a command: unlike the rate, barely moved by other load
                # on the machine (PostgreSQL's own CPU is not in it).
                cpu_us = round(cpu / len(latencies) * 1e6)
                measured[side] = rate
                print(f"{side:>10}, {clients:>2} clients: {rate:>6} commands/s, ", end="")
                print(f"p50 {p50} ms, p99 {p99} ms, {cpu_us} us CPU a command")
                headline[f"{side}_commands_per_s_{clients}"] = rate
                headline[f"{side}_p99_ms_{clients}"] = p99
                headline[f"{side}_cpu_us_{clients}"] = cpu_us
            ratio = round(measured["ledgerline"] / measured["library"], 2)
            headline[f"ratio_vs_library_{clients}"] = ratio
            chain_cost = round(1 - measured["ledgerline"] / measured["unchained"], 3)
            headline[f"chain_cost_{clients}"] = chain_cost
            print(f"{'':>10}  ratio {ratio}x; the audit chain costs {chain_cost:.1%}")
        top = max(levels)
        headline["commands_per_s"] = headline[f"ledgerline_commands_per_s_{top}"]
        headline["ratio_vs_library"] = headline[f"ratio_vs_library_{top}"]
        headline["p99_ms"] = headline[f"ledgerline_p99_ms_{top}"]
        headline["unchained_commands_per_s"] = headline[f"unchained_commands_per_s_{top}"]
        headline["chain_cost"] = headline[f"chain_cost_{top}"]
        headline["batches"] = ledger.writer.batches
        ledger.close()
        unchained.close()
        app.close()
    finally:
        embedded.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
