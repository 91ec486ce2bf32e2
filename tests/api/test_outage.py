"""A database outage is ridden out without a restart (issue 11, item 2; R-X5).

PostgreSQL is stopped at once (`pg_ctl stop -m immediate`, as a crash) under a served runtime
with all its background work, while clients send top-ups with Idempotency-Keys and read, and
started again on the same data folder. Before the fix the outage answered 500s, and after it
the projection runner had died: reads waited for `min_position` until the API was restarted,
while `/readyz` said 200.

This test starts its own PostgreSQL (the outage would break every test sharing the worker's):
about 1.5 s of CPU for `initdb` and the first start, then an outage of `OUTAGE_S`. With
LEDGERLINE_SOAK=1 the outage is as long as the one measured in the issue (6.5 s), with more
clients.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from pgserver import _commands as pg_commands
from psycopg import sql

from api import keys
from api.runtime import Runtime
from ledger.application import EVENTS_TABLE
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.settings import Environment, Settings
from tests.support import SOAK, START, created_database, embedded_server, free_port, served

OUTAGE_S = 6.5 if SOAK else 1.0
CLIENTS = 8 if SOAK else 3
RECOVERY_MAX_S = 8.0
"""Ready again within this of the database's return: a background task retries every 2 s at
most, a pool within about a second (ledger/availability.py), with room for a loaded CI box."""
PAUSE_AFTER_503_S = 0.05
"""Clients pause briefly after a 503 rather than honour the whole Retry-After: more requests
land in the outage, which is what is tested."""
TICK_INTERVAL_S = 0.2
TOP_UP_TOPIC = "%PartnerAccount.BalanceToppedUp"


@dataclass
class Outcomes:
    """What the clients heard: each command's key, amount and answers; each read's answer."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    commands: dict[str, tuple[int, list[int]]] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)
    problems: list[tuple[int, str | None, str | None]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def heard(self, answer: httpx.Response) -> None:
        with self.lock:
            self.statuses.append(answer.status_code)
            if answer.status_code >= 400:
                code = answer.json().get("code")
                self.problems.append((answer.status_code, code, answer.headers.get("retry-after")))


class Cluster:
    """A PostgreSQL of this test's own, which it can crash and start again."""

    def __init__(self, folder: Path) -> None:
        self.data_dir = folder / "pgdata"
        self.server = embedded_server(self.data_dir, cleanup_mode="delete")
        self.admin = Database(self.server.get_uri())
        with self.admin.connect() as conn:
            # This cluster does crash: a commit must be in the log before it is answered
            # (synchronous_commit stays on, or a crash loses the last commits acknowledged),
            # though not on the disk (no machine crashes here).
            for setting in ("fsync", "full_page_writes"):
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
            conn.execute("SELECT pg_reload_conf()")

    def _pg_ctl(self, *args: str) -> None:
        pg_commands.pg_ctl(list(args), pgdata=self.data_dir, user=self.server.system_user)

    def crash(self) -> None:
        self._pg_ctl("-w", "-m", "immediate", "stop")

    def start(self) -> None:
        """Start it again on the same data folder and socket, as pgserver first did."""
        socket_dir = self.admin.params()["host"]
        log = str(self.data_dir / "log")
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", log, "start")

    def close(self) -> None:
        # The server pgserver knows is the one crashed: stop the one started since ourselves
        # (none, if the test failed before it started it again).
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("-w", "-m", "fast", "stop")
        self.server.cleanup()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="ledgerline-outage-"))
    cluster = Cluster(folder)
    try:
        yield cluster
    finally:
        cluster.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def busy(cluster: Cluster) -> Iterator[Runtime]:
    """A runtime on the cluster with all its background work: runner, billing clock, mail."""
    mail = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    mail.start()
    with created_database(cluster.admin) as database:
        settings = Settings(
            database_url=database.url,
            environment=Environment.TEST,
            db_pool_size=4,
            tick_interval_s=TICK_INTERVAL_S,
            smtp_url=f"smtp://127.0.0.1:{mail.port}",
        )
        runtime = Runtime.start(settings, clock=SimulatedClock(START))
        runtime.start_background()
        try:
            yield runtime
        finally:
            runtime.close()
            mail.stop()


def client_loop(
    url: str, token: str, partner_id: str, name: str, stop: threading.Event, seen: Outcomes
) -> None:
    """Top up and read the balance, each top-up under a key of its own, until `stop`."""
    path = f"/v1/partners/{partner_id}"
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as http:
        number = 0
        while not stop.is_set():
            number += 1
            key, amount = f"{name}-{number}", 100 + number
            try:
                answer = http.post(
                    f"{path}/top-ups",
                    json=top_up(amount),
                    headers={"Idempotency-Key": key},
                )
                seen.heard(answer)
                with seen.lock:
                    seen.commands[key] = (amount, [answer.status_code])
                read = http.get(f"{path}/balance")
                seen.heard(read)
            except httpx.HTTPError as error:  # a reset connection would be a failure too
                seen.failures.append(repr(error))
                return
            if 503 in (answer.status_code, read.status_code):
                time.sleep(PAUSE_AFTER_503_S)


def top_up(amount_minor: int) -> dict[str, Any]:
    return {
        "amount": {"amount_minor": amount_minor, "currency": "USD"},
        "source": "bank_transfer",
        "reference": "Wire",
    }


def wait_for(condition: Any, limit_s: float) -> float:
    """Poll `condition` until it holds; how long that took (fails after `limit_s`)."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < limit_s, "not within the bound"
        time.sleep(0.05)
    return time.monotonic() - started


def test_r_x5_a_database_outage_answers_503_and_recovers_without_a_restart_losing_nothing(
    cluster: Cluster, busy: Runtime
) -> None:
    with busy.database.connect() as conn:
        token = keys.create_key(conn, keys.Role.ADMIN, label="outage")[1]
    with (
        served(busy) as url,
        httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as http,
    ):
        opened = http.post(
            "/v1/partners",
            json={"name": "Acme", "currency": "USD", "time_zone": "UTC"},
            headers={"Idempotency-Key": "open"},
        )
        partner_id = opened.json()["id"]
        wait_for(lambda: http.get("/readyz").status_code == 200, RECOVERY_MAX_S)
        # The clients read the balance without waiting: the read model knows the partner first.
        known = {"min_position": opened.json()["position"]}
        assert http.get(f"/v1/partners/{partner_id}/balance", params=known).status_code == 200
        seen, stop = Outcomes(), threading.Event()
        clients = [
            threading.Thread(target=client_loop, args=(url, token, partner_id, f"c{n}", stop, seen))
            for n in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        time.sleep(0.3)
        before = len(seen.statuses)

        cluster.crash()
        ready_during: list[int] = []
        outage_ends = time.monotonic() + OUTAGE_S
        while time.monotonic() < outage_ends:
            ready_during.append(http.get("/readyz").status_code)
            time.sleep(0.1)
        during = len(seen.statuses) - before
        cluster.start()
        ticks_back = busy.background["billing-clock"].rounds
        recovery_s = wait_for(lambda: http.get("/readyz").status_code == 200, RECOVERY_MAX_S)
        time.sleep(0.3)
        stop.set()
        for client in clients:
            client.join()

        # During the outage: 503 `database_unavailable` with Retry-After, never a 500.
        assert seen.failures == []
        assert set(seen.statuses) <= {200, 201, 503}, seen.problems
        assert set(seen.problems) == {(503, "database_unavailable", "1")}
        assert ready_during
        assert set(ready_during) == {503}

        # After it: ready with every background task running, commands and reads served.
        ready = http.get("/readyz").json()
        assert {task["name"]: task["ok"] for task in ready["background"]} == {
            "projections": True,
            "billing-clock": True,
            "mail": True,
        }
        after = http.post(
            f"/v1/partners/{partner_id}/top-ups", json=top_up(7), headers={"Idempotency-Key": "a"}
        )
        assert after.status_code == 201
        read = http.get(
            f"/v1/partners/{partner_id}/balance", params={"min_position": after.json()["position"]}
        )
        assert read.status_code == 200
        assert busy.background["billing-clock"].rounds > ticks_back

        # Every command refused with 503 sent again with its key: each takes effect once.
        last, landed = after.json()["position"], 0
        for key, (amount, answers) in seen.commands.items():
            if answers[0] == 503:
                again = http.post(
                    f"/v1/partners/{partner_id}/top-ups",
                    json=top_up(amount),
                    headers={"Idempotency-Key": key},
                )
                assert again.status_code == 201
                last = max(last, again.json()["position"])
                # Replayed: it had landed though its caller heard 503 (cut at the commit).
                landed += again.headers.get("idempotent-replayed") == "true"
        expected = sum(amount for amount, _ in seen.commands.values()) + 7
        balance = http.get(
            f"/v1/partners/{partner_id}/balance", params={"min_position": last}
        ).json()
        assert balance["company_balance"]["amount_minor"] == expected

    with busy.database.connect() as conn:
        top_ups = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE originator_id = %s AND topic LIKE %s").format(
                sql.Identifier(EVENTS_TABLE)
            ),
            (UUID(partner_id), TOP_UP_TOPIC),
        ).fetchone()
    assert top_ups == (len(seen.commands) + 1,)
    refused = sum(1 for _, answers in seen.commands.values() if answers[0] == 503)
    print(  # noqa: T201 - the figures the report quotes, shown with -s
        f"outage {OUTAGE_S} s: {during} answers during it, {refused} commands refused with 503 "
        f"of {len(seen.commands)} ({landed} of them had landed), {seen.statuses.count(500)} "
        f"500s, ready {recovery_s:.2f} s after the database was back"
    )
    assert refused > 0
