"""The HTTP API under load, over loopback: commands per second, command latency, query latency.

Starts `ledgerline serve` on a fresh embedded PostgreSQL (fsync on, as in production) in a
temporary folder, which loads the demo on its first start (docs/operations.md, "The demo"),
makes an admin key with `ledgerline keys create`, opens some partner accounts, then drives the
server with asyncio clients (aiohttp: httpx's async pool collapsed to 70 requests/s at 64
concurrent requests here, far below what the server answers):

1. throughput: `--clients` concurrent clients send commands back to back for `--seconds`;
   the mix is half top-ups, a third client registrations and a sixth new partner accounts;
2. liveness: `GET /healthz` back to back from `--clients` clients;
3. the stack alone (bench/bare_app.py: FastAPI on uvicorn with uvloop and httptools, nothing
   of Ledgerline), its `GET /healthz` and a top-up shaped POST through a pydantic body, under
   the same load. `ratio_vs_bare` is Ledgerline's commands per second over the bare POSTs per
   second; `healthz_ratio_vs_bare` the same for `/healthz`;
4. paced: commands at `--rate` per second on an open-loop schedule (a late answer does not
   slow the next send), with balance and banner queries at `--query-rate` beside them: the
   latency of each, measured from its scheduled send time;
5. with `--reads-apart`, paced again, the queries sent to a read-only instance
   (`ledgerline serve --reads-only`, a process of its own on the same database) and the
   commands to the writing one: the `*_reads_apart_ms` figures.

Both servers run from the start, and 1-3 take turns in `--rounds` rounds (Ledgerline's
commands, then the bare POSTs, Ledgerline's /healthz, the bare one), each kind summed over its
rounds: the machine's speed drifts between minutes (other work, the virtual machine's
neighbours), and a drift then weighs on both sides of a ratio alike. A server that is not
being measured is idle. Ledgerline's read models catch up after its commands before the bare
POSTs start.

The load generator runs on the same machine and takes CPU from the server: the figures are
what this machine does with both on it.

    .venv/bin/python bench/http.py [--workers 1] [--clients 64] [--seconds 20] [--rate 200]
        [--query-rate 50] [--rounds 4] [--reads-apart]

Prints a line per measurement and ends with one JSON line of the headline figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and this file (http.py) would
# stand in for the standard library's `http` package that aiohttp imports: drop the folder.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import asyncio
import gc
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

LEDGERLINE = str(Path(sys.executable).parent / "ledgerline")
SERVING = re.compile(r"Ledgerline is serving: (http://[\d.]+:\d+)/docs")
BARE_APP = Path(__file__).resolve().parent / "bare_app.py"
START_TIMEOUT_S = 90.0
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PARTNERS = 50
CLIENTS_PER_PARTNER = 4


@dataclass(frozen=True)
class Answer:
    status: int
    what: str
    body: dict[str, Any]


class Http:
    """The load generator's session: JSON in, status and JSON out."""

    def __init__(self, url: str, key: str) -> None:
        self.session = aiohttp.ClientSession(
            url,
            headers={"Authorization": f"Bearer {key}"},
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def post(self, path: str, body: dict[str, object]) -> Answer:
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        async with self.session.post(path, json=body, headers=headers) as response:
            return Answer(response.status, f"POST {path}", await response.json())

    async def get(self, path: str) -> Answer:
        async with self.session.get(path) as response:
            return Answer(response.status, f"GET {path}", await response.json())

    async def close(self) -> None:
        await self.session.close()


@dataclass
class Samples:
    latencies_s: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, seconds: float, answer: Answer, expected: int) -> None:
        if answer.status == expected:
            self.latencies_s.append(seconds)
        else:
            key = f"{answer.status} {ID.sub('{id}', answer.what)}"
            self.errors[key] = self.errors.get(key, 0) + 1

    def percentile_ms(self, p: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def describe(self) -> str:
        if not self.latencies_s:
            return "no answers"
        return (
            f"{len(self.latencies_s)} ok, p50 {self.percentile_ms(50):.1f} ms, "
            f"p99 {self.percentile_ms(99):.1f} ms, max {max(self.latencies_s) * 1000:.1f} ms"
            + (f", errors {self.errors}" if self.errors else "")
        )


class Server:
    """`ledgerline serve` in a process of its own, on the embedded database of `home` (which a
    read-only one shares with the writing one started there first)."""

    def __init__(self, home: Path, workers: int, *, reads_only: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERLINE_")}
        env.pop("DATABASE_URL", None)
        env.update(
            LEDGERLINE_HOME=str(home),
            LEDGERLINE_LOG_LEVEL="warning",
            LEDGERLINE_PAYMENT_GATEWAY="simulator",
            LEDGERLINE_LOG_FORMAT="json",
            LEDGERLINE_DB_POOL_SIZE="20",
            # The demo's history first (issue 15: four months of seven partners), so the
            # figures are of a ledger with a past, not of an empty one.
            LEDGERLINE_DEMO="first-start",
            LEDGERLINE_TEST_CLOCKS="allow",
        )
        self.env = env
        self.process = subprocess.Popen(
            [LEDGERLINE, "serve", "--port", "0", "--workers", str(workers)]
            + (["--reads-only"] if reads_only else []),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if line.startswith("The demo:"):
                print(line.strip())
            if match := SERVING.search(line):
                return match.group(1)
        self.process.kill()
        raise SystemExit("ledgerline serve did not start")

    def admin_key(self) -> str:
        made = subprocess.run(
            [LEDGERLINE, "keys", "create", "--role", "admin", "--label", "bench"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=True,
        )
        return made.stdout.strip()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


class BareServer:
    """The stack alone (bench/bare_app.py) under uvicorn, as `ledgerline serve` runs it."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bare_app:app",
                "--app-dir",
                str(BARE_APP.parent),
                "--port",
                str(self.port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            with socket.socket() as attempt:
                if attempt.connect_ex(("127.0.0.1", self.port)) == 0:
                    return f"http://127.0.0.1:{self.port}"
            time.sleep(0.05)
        self.process.kill()
        raise SystemExit("the bare app did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class World:
    partners: list[str]
    clients: list[str]


async def setup(http: Http) -> World:
    partners: list[str] = []
    clients: list[str] = []
    for n in range(PARTNERS):
        opened = await http.post(
            "/v1/partners", {"name": f"Bench {n}", "currency": "USD", "time_zone": "UTC"}
        )
        assert opened.status == 201, opened
        partners.append(str(opened.body["id"]))
    for partner in partners:
        for n in range(CLIENTS_PER_PARTNER):
            made = await http.post(f"/v1/partners/{partner}/clients", client_body(n))
            assert made.status == 201, made
            clients.append(str(made.body["id"]))
    return World(partners, clients)


def client_body(n: int) -> dict[str, object]:
    return {"name": f"Client {n}", "email": f"c{n}@bench.example", "unified_billing": True}


def command(http: Http, world: World, n: int) -> Awaitable[Answer]:
    """The n-th command of the mix: top-up, top-up, top-up, register, register, open."""
    partner = world.partners[n % len(world.partners)]
    kind = n % 6
    if kind < 3:
        return http.post(f"/v1/partners/{partner}/top-ups", top_up_body(n))
    if kind < 5:
        return http.post(f"/v1/partners/{partner}/clients", client_body(n))
    return http.post(
        "/v1/partners", {"name": f"Bench extra {n}", "currency": "USD", "time_zone": "UTC"}
    )


def query(http: Http, world: World, n: int) -> Awaitable[Answer]:
    """Balance and banner queries in turn."""
    if n % 2 == 0:
        return http.get(f"/v1/partners/{world.partners[n % len(world.partners)]}/balance")
    return http.get(f"/v1/clients/{world.clients[n % len(world.clients)]}/banner")


async def caught_up(http: Http) -> float:
    """Wait until every read model has applied the whole log; answer how long that took."""
    started = time.perf_counter()
    while True:
        status = await http.get("/v1/projections/status")
        if all(model["lag"] == 0 for model in status.body["projections"]):
            return time.perf_counter() - started
        await asyncio.sleep(0.1)


async def throughput(
    http: Http, world: World, clients: int, seconds: float
) -> tuple[float, Samples]:
    return await closed_loop(clients, seconds, lambda n: command(http, world, n), 201)


async def closed_loop(
    clients: int, seconds: float, send: Callable[[int], Awaitable[Answer]], expected: int
) -> tuple[float, Samples]:
    """`clients` clients sending back to back for `seconds`: how long it took, and the
    answers."""
    samples = Samples()
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            answer = await send(next(counter))
            samples.add(time.perf_counter() - started, answer, expected)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, samples


def top_up_body(n: int) -> dict[str, object]:
    return {
        "amount": {"amount_minor": 1_000 + n % 97, "currency": "USD"},
        "source": "bank_transfer",
        "reference": f"bench {n}",
    }


class Tally:
    """Answers per second of one kind, summed over the rounds it was measured in."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.samples = Samples()

    def add(self, measured: tuple[float, Samples]) -> None:
        seconds, samples = measured
        self.seconds += seconds
        self.samples.latencies_s.extend(samples.latencies_s)
        for status, count in samples.errors.items():
            self.samples.errors[status] = self.samples.errors.get(status, 0) + count

    def per_s(self) -> float:
        return len(self.samples.latencies_s) / self.seconds


async def compared(
    http: Http, bare: Http, world: World, args: argparse.Namespace
) -> dict[str, Tally]:
    """Ledgerline and the stack alone, taking turns (see the module's docstring)."""
    tallies = {name: Tally() for name in ("commands", "bare_post", "healthz", "bare_healthz")}
    slice_s = args.seconds / args.rounds
    partner = str(uuid.uuid4())
    await throughput(http, world, args.clients, 2.0)  # warm up
    await closed_loop(args.clients, 1.0, lambda i: bare.get("/healthz"), 200)
    await caught_up(http)
    for _ in range(args.rounds):
        tallies["commands"].add(await throughput(http, world, args.clients, slice_s))
        await caught_up(http)
        tallies["bare_post"].add(
            await closed_loop(
                args.clients,
                slice_s,
                lambda i: bare.post(f"/v1/partners/{partner}/top-ups", top_up_body(i)),
                201,
            )
        )
        tallies["healthz"].add(
            await closed_loop(args.clients, slice_s / 2, lambda i: http.get("/healthz"), 200)
        )
        tallies["bare_healthz"].add(
            await closed_loop(args.clients, slice_s / 2, lambda i: bare.get("/healthz"), 200)
        )
    return tallies


async def paced(
    rate: float,
    seconds: float,
    send: Callable[[int], Awaitable[Answer]],
    expected: int,
) -> Samples:
    """Open loop: the i-th request is due at start + i / rate, whatever came back before."""
    samples = Samples()
    start = time.perf_counter() + 0.05
    total = int(rate * seconds)
    tasks: list[asyncio.Task[None]] = []

    async def one(i: int, due: float) -> None:
        response = await send(i)
        samples.add(time.perf_counter() - due, response, expected)

    for i in range(total):
        due = start + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return samples


@contextmanager
def unpaused() -> Iterator[None]:
    """No garbage collection in the load generator while it measures: a full collection of its
    own (tens of milliseconds with a run's latencies held) would count as the server's latency.
    What it allocated until then is frozen; what it allocates meanwhile waits for the end."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def main_async(
    args: argparse.Namespace, url: str, key: str, bare_url: str, reads_url: str | None
) -> dict[str, float]:
    http = Http(url, key)
    bare = Http(bare_url, "none")
    reads = Http(reads_url, key) if reads_url else None
    try:
        world = await setup(http)
        print(f"set up {len(world.partners)} partners and {len(world.clients)} clients")
        with unpaused():
            tallies = await compared(http, bare, world, args)
        commands = tallies["commands"]
        print(
            f"throughput, {args.clients} clients, {args.rounds} rounds: "
            f"{commands.per_s():,.0f} commands/s; {commands.samples.describe()}"
        )
        print(f"GET /healthz, {args.clients} clients: {tallies['healthz'].per_s():,.0f}/s")
        print(
            f"the stack alone: GET /healthz {tallies['bare_healthz'].per_s():,.0f}/s; "
            f"POST with a body {tallies['bare_post'].per_s():,.0f}/s"
        )
        at_rate, queries = await paced_beside(args, http, http, world)
        print(f"paced at {args.rate:,.0f} commands/s: {at_rate.describe()}")
        print(f"queries at {args.query_rate:,.0f}/s beside them: {queries.describe()}")
        caught_up_s = await caught_up(http)
        print(f"read models caught up with the log {caught_up_s:.1f} s after the paced run")
        headline = {
            "healthz_per_s": round(tallies["healthz"].per_s()),
            "commands_per_s": round(commands.per_s()),
            "command_p99_ms": round(at_rate.percentile_ms(99), 1),
            "query_p99_ms": round(queries.percentile_ms(99), 1),
            "throughput_p99_ms": round(commands.samples.percentile_ms(99), 1),
            "command_p50_ms": round(at_rate.percentile_ms(50), 1),
            "query_p50_ms": round(queries.percentile_ms(50), 1),
            "errors": sum(commands.samples.errors.values())
            + sum(at_rate.errors.values())
            + sum(queries.errors.values()),
            "bare_healthz_per_s": round(tallies["bare_healthz"].per_s()),
            "bare_post_per_s": round(tallies["bare_post"].per_s()),
        }
        if reads is not None:
            at_rate_apart, queries_apart = await paced_beside(args, http, reads, world)
            print(f"paced again, the queries to a read-only instance: {at_rate_apart.describe()}")
            print(f"queries at {args.query_rate:,.0f}/s there: {queries_apart.describe()}")
            await caught_up(http)
            headline["command_p99_reads_apart_ms"] = round(at_rate_apart.percentile_ms(99), 1)
            headline["query_p99_reads_apart_ms"] = round(queries_apart.percentile_ms(99), 1)
            headline["query_p50_reads_apart_ms"] = round(queries_apart.percentile_ms(50), 1)
            headline["errors"] += sum(at_rate_apart.errors.values()) + sum(
                queries_apart.errors.values()
            )
        return headline
    finally:
        await http.close()
        await bare.close()
        if reads is not None:
            await reads.close()


async def paced_beside(
    args: argparse.Namespace, http: Http, reads: Http, world: World
) -> tuple[Samples, Samples]:
    """Commands paced at `--rate` to `http`, queries at `--query-rate` to `reads` beside them."""
    commands_task = asyncio.create_task(
        paced(args.rate, args.seconds, lambda i: command(http, world, i), 201)
    )
    queries_task = asyncio.create_task(
        paced(args.query_rate, args.seconds, lambda i: query(reads, world, i), 200)
    )
    with unpaused():
        return await commands_task, await queries_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--query-rate", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--reads-apart", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ledgerline-bench-http-"))
    server = Server(folder / "home", args.workers)
    bare = BareServer()
    reads: Server | None = None
    try:
        url = server.url()
        key = server.admin_key()
        print(f"serving at {url} with {args.workers} workers (cores: {os.cpu_count()})")
        reads_url = None
        if args.reads_apart:  # on the database the writing instance started
            reads = Server(folder / "home", 1, reads_only=True)
            reads_url = reads.url()
            print(f"a read-only instance at {reads_url}")
        headline = asyncio.run(main_async(args, url, key, bare.url(), reads_url))
    finally:
        if reads is not None:
            reads.stop()
        bare.stop()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    headline["ratio_vs_bare"] = round(headline["commands_per_s"] / headline["bare_post_per_s"], 2)
    headline["healthz_ratio_vs_bare"] = round(
        headline["healthz_per_s"] / headline["bare_healthz_per_s"], 2
    )
    print(
        f"ratio to the stack alone: commands {headline['ratio_vs_bare']}, "
        f"/healthz {headline['healthz_ratio_vs_bare']}"
    )
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
