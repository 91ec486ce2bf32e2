"""The process lifecycle around the embedded PostgreSQL: killed, rejoined, stopped while down.

Real `ledgerline` processes and real signals on a fresh LEDGERLINE_HOME each. Every test
starts two or three processes (about 1.5 s of CPU each, mostly the start of PostgreSQL and
of the HTTP app): what is proved is what processes do to each other.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from ledger.availability import BACKOFF_FIRST_S
from tests.api.test_cli import LEDGERLINE, START_TIMEOUT_S, Served, cli_env, make_admin_key

POSTMASTER_EXIT_S = 10.0
"""An immediate shutdown takes PostgreSQL well under a second; past this it is stuck."""
RETRIES_FAIL_S = 3 * BACKOFF_FIRST_S + 0.2
"""Long enough for a background task's first two retries on a database that is gone."""
THREAD_DIED = "Exception in thread"


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """The live PostgreSQL processes serving `data_dir` (the postmaster names it in -D)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if (
            process.info["name"] == "postgres"
            and str(data_dir) in cmdline
            and process.info["status"] != psutil.STATUS_ZOMBIE
        ):
            found.append(process)
    return found


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


@pytest.fixture
def home(embedded_home: Path) -> Iterator[Path]:
    """A fresh LEDGERLINE_HOME; a PostgreSQL a failed test left running there is shut down."""
    yield embedded_home
    for process in postgres_processes(embedded_home.resolve() / "pgdata"):
        process.send_signal(signal.SIGQUIT)


def kill_hard(served: Served) -> None:
    """SIGKILL: the process leaves no word, and its embedded PostgreSQL lives on, orphaned."""
    served.process.kill()
    served.process.wait(START_TIMEOUT_S)
    assert served.process.stderr is not None
    served.process.stderr.close()


def assert_database_stopped(data_dir: Path) -> None:
    assert not (data_dir / "postmaster.pid").exists(), "the embedded database was left running"
    assert postgres_processes(data_dir) == []


def keys_create(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEDGERLINE, "keys", "create", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )


def test_a_killed_serve_does_not_keep_the_database_running_past_the_next_clean_stop(
    home: Path,
) -> None:
    """pgserver lists the pids using a server and stops it when the last one leaves; a killed
    `serve` never leaves, so its dead pid kept the orphan running past every later stop."""
    env = cli_env(LEDGERLINE_HOME=str(home), LEDGERLINE_ENVIRONMENT="development")
    data_dir = home.resolve() / "pgdata"
    killed = Served(env)
    killed.url()
    kill_hard(killed)
    orphan = postmaster_pid(data_dir)
    assert postgres_processes(data_dir), "SIGKILL reaches serve, not its PostgreSQL"

    rejoined = Served(env)
    try:
        url = rejoined.url()
        assert postmaster_pid(data_dir) == orphan, "serve joins the running server"
        # A short-lived process joins and leaves while serve runs: the database stays up.
        key = make_admin_key(env)
        listed = httpx.get(f"{url}/v1/partners", headers={"Authorization": f"Bearer {key}"})
        assert listed.status_code == 200
    finally:
        code = rejoined.stop(signal.SIGTERM)
    assert code == 0
    assert "Stopped." in rejoined.seen[-1]
    assert_database_stopped(data_dir)


def test_a_short_lived_command_after_a_killed_serve_stops_the_orphan_as_the_last_user(
    home: Path,
) -> None:
    env = cli_env(LEDGERLINE_HOME=str(home), LEDGERLINE_ENVIRONMENT="development")
    data_dir = home.resolve() / "pgdata"
    killed = Served(env)
    killed.url()
    kill_hard(killed)
    assert postgres_processes(data_dir), "SIGKILL reaches serve, not its PostgreSQL"

    made = keys_create(env)

    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("ll_")
    assert_database_stopped(data_dir)


def test_serve_stopped_while_its_database_is_down_exits_cleanly_with_a_warning(
    home: Path,
) -> None:
    """An immediate shutdown (SIGQUIT, what `pg_ctl -m immediate` sends) under a running
    serve: the background threads wait the outage out, and Ctrl-C still stops with 0."""
    env = cli_env(
        LEDGERLINE_HOME=str(home),
        LEDGERLINE_ENVIRONMENT="development",
        LEDGERLINE_LOG_FORMAT="json",
    )
    data_dir = home.resolve() / "pgdata"
    served = Served(env)
    try:
        served.url()
        postmaster = postmaster_pid(data_dir)
        os.kill(postmaster, signal.SIGQUIT)
        deadline = time.monotonic() + POSTMASTER_EXIT_S
        while postgres_processes(data_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert postgres_processes(data_dir) == []
        # The projection runner loses its connection at once, then its retries fail (after
        # 0.1 s, then 0.2 s more): each must be waited out, not kill its thread.
        time.sleep(RETRIES_FAIL_S)
    finally:
        code = served.stop(signal.SIGINT)
    logged = "".join(served.seen)
    assert code == 0, logged
    assert THREAD_DIED not in logged, "a background thread died of the outage"
    assert '"event": "projection_reconnecting"' in logged
    assert "database_unreachable_on_stop" in logged
    assert "Stopped." in served.seen[-1]
    assert_database_stopped(data_dir)
