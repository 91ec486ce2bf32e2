"""A projector that kills itself (SIGKILL) after a given number of SQL statements.

    python -m tests.projections.crash_worker DATABASE_URL KILL_AT BATCH_SIZE

or `run` in a process forked from the tests' fork server (tests/support.py `fork_server`), as
tests/projections/test_exactly_once.py starts it: the same process, killed the same way, without
a fresh interpreter's imports (0.4 s of CPU, about nine times a test).

It applies the log to the live generation of every read model, as `ledgerline serve` does,
and dies with no warning, no rollback and no goodbye when its `KILL_AT`-th statement is
about to run: in the middle of a batch's transaction, or between two. With `KILL_AT` 0 it
runs to the head of the log and exits 0.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from multiprocessing.connection import Connection
from typing import Any

import psycopg

from ledger.database import Database
from projections.registry import all_projections
from tests.projections.support import live_runner


def run(url: str, kill_at: int, batch_size: int) -> None:
    executed = 0
    execute = psycopg.Connection.execute

    def counting(self: psycopg.Connection[Any], *args: Any, **kwargs: Any) -> Any:
        nonlocal executed
        executed += 1
        if executed == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return execute(self, *args, **kwargs)

    runner = live_runner(Database(url), *all_projections(), batch_size=batch_size)
    psycopg.Connection.execute = counting  # type: ignore[method-assign]
    runner.catch_up()
    runner.close()


def run_reporting(report: Connection, url: str, kill_at: int, batch_size: int) -> None:
    """`run` in a forked process: a failure's traceback goes to the test over `report`."""
    try:
        run(url, kill_at, batch_size)
    except BaseException:
        report.send(traceback.format_exc())
        raise
    finally:
        report.close()


def main() -> None:
    run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))


if __name__ == "__main__":
    main()
