"""`ledgerline serve` as a user runs it: a real process, real signals, the embedded database."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import httpx

from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.sealing import Sealer

LEDGERLINE = str(Path(sys.executable).parent / "ledgerline")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
SERVING = re.compile(r"Ledgerline is serving: (http://[\d.]+:\d+)/docs")


class Served:
    """A `ledgerline serve` process and the lines it has written to stderr."""

    def __init__(self, env: dict[str, str], *options: str) -> None:
        self.process = subprocess.Popen(
            [LEDGERLINE, "serve", "--port", "0", *options],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if match := SERVING.search(line):
                return match.group(1)
        self.process.kill()
        raise AssertionError("ledgerline serve did not start:\n" + "".join(self.seen))

    def stop(self, signal_number: int = signal.SIGINT) -> int:
        self.process.send_signal(signal_number)
        code = self.process.wait(STOP_TIMEOUT_S)
        self._pump_thread.join(STOP_TIMEOUT_S)
        assert self.process.stderr is not None
        self.process.stderr.close()
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code


def cli_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGERLINE_", "DATABASE_URL"))}
    env.update(values)
    return env


def run_cli(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEDGERLINE, "serve"], env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S
    )


def test_serve_on_the_embedded_database_answers_and_stops_cleanly_on_a_signal(
    embedded_home: Path,
) -> None:
    # Production (the default environment), with the simulator chosen on purpose.
    env = cli_env(
        LEDGERLINE_HOME=str(embedded_home),
        LEDGERLINE_LOG_FORMAT="json",
        LEDGERLINE_PAYMENT_GATEWAY="simulator",
    )
    first = Served(env)
    try:
        url = first.url()
        made = subprocess.run(
            [LEDGERLINE, "keys", "create", "--role", "admin", "--label", "test"],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )
        assert made.returncode == 0, made.stderr
        key = made.stdout.strip()
        assert key.startswith("ll_")
        assert "shown this once" in made.stderr
        posted = httpx.post(
            f"{url}/v1/partners",
            json={"name": "Acme", "currency": "EUR", "time_zone": "Europe/Madrid"},
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "open/acme"},
        )
        created = posted.json()
        assert httpx.get(f"{url}/docs").status_code == 200
    finally:
        code = first.stop(signal.SIGINT)
    assert code == 0
    logged = [json.loads(line) for line in first.seen if line.startswith("{")]
    [started] = [entry for entry in logged if entry["event"] == "runtime_started"]
    assert (started["environment"], started["clock"], started["payment_gateway"]) == (
        "production",
        "system",
        "simulator",
    )
    [request_log] = [entry for entry in logged if entry.get("method") == "POST"]
    assert request_log["event"] == "request_completed"
    assert request_log["request_id"] == posted.headers["x-request-id"]
    assert request_log["status"] == 201
    assert "Stopped." in first.seen[-1]
    postmaster = embedded_home / "pgdata" / "postmaster.pid"
    assert not postmaster.exists(), "Ctrl-C left the embedded database running"

    second = Served(env)
    try:
        url = second.url()
        response = httpx.get(
            f"{url}/v1/partners/{created['id']}",
            params={"min_position": created["position"]},
            headers={"Authorization": f"Bearer {key}"},
        )
    finally:
        assert second.stop(signal.SIGTERM) == 0
    assert response.status_code == 200
    assert response.json()["name"] == "Acme"
    assert "Stopped." in second.seen[-1]
    assert not postmaster.exists(), "SIGTERM left the embedded database running"


def test_an_invalid_setting_exits_with_a_message(embedded_home: Path) -> None:
    result = run_cli(cli_env(LEDGERLINE_HOME=str(embedded_home), LEDGERLINE_PORT="eighty"))
    assert result.returncode == 2
    assert "Invalid setting port" in result.stderr
    assert not embedded_home.exists(), "nothing was started"


def test_production_refuses_the_payment_simulator_unless_chosen(embedded_home: Path) -> None:
    result = run_cli(cli_env(LEDGERLINE_HOME=str(embedded_home)))
    assert result.returncode == 2
    assert "LEDGERLINE_PAYMENT_GATEWAY=simulator" in result.stderr
    assert not embedded_home.exists(), "nothing was started"


def test_a_database_without_durable_commits_is_refused_at_start(database: Database) -> None:
    with database.connect() as conn:
        conn.execute(f'ALTER DATABASE "{database.params()["dbname"]}" SET synchronous_commit = off')

    refused = run_cli(
        cli_env(
            DATABASE_URL=database.url,
            LEDGERLINE_ENVIRONMENT="production",
            LEDGERLINE_PAYMENT_GATEWAY="simulator",
        )
    )

    assert refused.returncode == 3
    assert "synchronous_commit" in refused.stderr
    assert "LEDGERLINE_ENVIRONMENT=test" in refused.stderr


def test_issue_11_a_sealed_ledger_refuses_to_start_without_its_cipher_key(
    database: Database, clock: SimulatedClock
) -> None:
    made = subprocess.run(
        [LEDGERLINE, "keys", "cipher-key"],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    Ledger(database, clock, sealer=Sealer(key), pool_size=1).close()  # seals its key check

    refused = run_cli(cli_env(DATABASE_URL=database.url, LEDGERLINE_ENVIRONMENT="test"))

    assert refused.returncode == 2
    assert "set LEDGERLINE_CIPHER_KEY" in refused.stderr


def test_a_taken_port_exits_with_a_message(database: Database) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_cli(
            cli_env(DATABASE_URL=database.url, LEDGERLINE_ENVIRONMENT="test", LEDGERLINE_PORT=port)
        )
    assert result.returncode == 4
    assert f"could not start on 127.0.0.1:{port}" in result.stderr


def test_tick_does_the_work_due_up_to_an_instant_once(database: Database, ledger: Ledger) -> None:
    partner = ledger.open_partner_account(
        name="Acme", currency="USD", time_zone="UTC", key="open"
    ).aggregate_id
    assert partner is not None
    client = ledger.register_client(partner, name="Bistro", key="client").aggregate_id
    assert client is not None
    line = ledger.create_line(partner, client, "service-plan", key="line").aggregate_id
    assert line is not None
    ledger.activate_line(line, date(2026, 1, 31), key="activate")
    env = cli_env(DATABASE_URL=database.url, LEDGERLINE_ENVIRONMENT="test")

    def run_tick() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LEDGERLINE, "tick", "--until", "2026-03-01T00:00+00:00"],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )

    first = run_tick()
    assert first.returncode == 0, first.stderr
    assert "renew 1" in first.stderr
    assert "mark_overdue 1" in first.stderr  # the first invoice, unpaid by bank transfer
    again = run_tick()
    assert "nothing done" in again.stderr
    with database.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM ledger_events WHERE topic LIKE '%Invoice.Issued'"
        ).fetchone()
    assert row == (2,)


def test_tick_refuses_an_instant_without_its_offset(database: Database) -> None:
    result = subprocess.run(
        [LEDGERLINE, "tick", "--until", "2026-03-01T00:00"],
        env=cli_env(DATABASE_URL=database.url, LEDGERLINE_ENVIRONMENT="test"),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )
    assert result.returncode == 2
    assert "--until" in result.stderr


def make_admin_key(env: dict[str, str]) -> str:
    made = subprocess.run(
        [LEDGERLINE, "keys", "create", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_serve_with_two_workers_shares_the_log_and_stops_cleanly(embedded_home: Path) -> None:
    env = cli_env(
        LEDGERLINE_HOME=str(embedded_home),
        LEDGERLINE_LOG_FORMAT="json",
        LEDGERLINE_ENVIRONMENT="development",
    )
    served = Served(env, "--workers", "2")
    try:
        url = served.url()
        headers = {"Authorization": f"Bearer {make_admin_key(env)}"}
        with httpx.Client(base_url=url, headers=headers, timeout=10.0) as http:
            opened = [
                http.post(
                    "/v1/partners",
                    json={"name": f"Partner {n}", "currency": "USD", "time_zone": "UTC"},
                    headers={"Idempotency-Key": f"open/{n}"},
                )
                for n in range(8)
            ]
            assert [response.status_code for response in opened] == [201] * 8
            positions = [response.json()["position"] for response in opened]
            assert positions == sorted(positions)
            assert len(set(positions)) == 8
            last = opened[-1].json()
            read = http.get(f"/v1/partners/{last['id']}", params={"min_position": last["position"]})
            assert read.status_code == 200
            assert read.json()["name"] == "Partner 7"
    finally:
        code = served.stop(signal.SIGINT)
    assert code == 0
    assert "Stopped." in served.seen[-1]
    assert not (embedded_home / "pgdata" / "postmaster.pid").exists()


def test_a_read_only_serve_beside_serve_reads_its_log_refuses_commands_and_stops_alone(
    embedded_home: Path,
) -> None:
    """`serve --reads-only` on the same home uses the embedded database the writing `serve`
    started: it reads what that one wrote, answers commands 421, and stopping it leaves the
    database to the writing one, which stops it last (issue 16)."""
    env = cli_env(
        LEDGERLINE_HOME=str(embedded_home),
        LEDGERLINE_LOG_FORMAT="json",
        LEDGERLINE_ENVIRONMENT="development",
    )
    writing = Served(env)
    try:
        headers = {"Authorization": f"Bearer {make_admin_key(env)}"}
        with httpx.Client(base_url=writing.url(), headers=headers, timeout=10.0) as http:
            reading = Served(env, "--reads-only")
            try:
                with httpx.Client(base_url=reading.url(), headers=headers, timeout=10.0) as reader:
                    opened = http.post(
                        "/v1/partners",
                        json={"name": "Acme", "currency": "USD", "time_zone": "UTC"},
                        headers={"Idempotency-Key": "open"},
                    ).json()
                    read = reader.get(
                        f"/v1/partners/{opened['id']}", params={"min_position": opened["position"]}
                    )
                    assert (read.status_code, read.json()["name"]) == (200, "Acme")
                    refused = reader.post(
                        "/v1/partners",
                        json={"name": "Other", "currency": "USD", "time_zone": "UTC"},
                        headers={"Idempotency-Key": "other"},
                    )
                    assert (refused.status_code, refused.json()["code"]) == (
                        421,
                        "read_only_instance",
                    )
            finally:
                assert reading.stop(signal.SIGINT) == 0
            assert any("Reads only" in line for line in reading.seen)
            assert "Stopped." in reading.seen[-1]
            # The writing instance still has its database, and wrote nothing for the refusal.
            listed = http.get("/v1/partners", params={"min_position": opened["position"]})
            assert [partner["name"] for partner in listed.json()["items"]] == ["Acme"]
    finally:
        assert writing.stop(signal.SIGINT) == 0
    assert not (embedded_home / "pgdata" / "postmaster.pid").exists()


def test_serve_refuses_several_workers_with_a_simulated_clock(embedded_home: Path) -> None:
    env = cli_env(
        LEDGERLINE_HOME=str(embedded_home),
        LEDGERLINE_CLOCK="simulated",
        LEDGERLINE_ENVIRONMENT="development",
    )
    done = subprocess.run(
        [LEDGERLINE, "serve", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )
    assert done.returncode == 2
    assert "one worker" in done.stderr
