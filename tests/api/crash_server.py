"""An API process that dies (SIGKILL) after a command committed, before its answer reaches
the client: the process `tests/api/test_crash.py` crashes and then retries against a new one.

`CrashServer.start(database_url, kill)` serves the HTTP API over a runtime on the database, as
`ledgerline serve` does (the same app and uvicorn configuration; no projector or billing clock,
which the story does not need), in a process of its own. The processes are forked from a fork
server that has already imported Ledgerline, so each costs its runtime's start and its
requests (about 0.2 s of CPU), not a fresh interpreter's imports too (about 1 s, paid once by
the fork server).

A `KillPoint` names the process's n-th POST and when, while answering it, the process kills
itself with no warning, no rollback and no goodbye:

- `COMMITTED`: as soon as the writer's transaction has committed, before the writer answers
  any caller. The seam is the writer's inline projections, which `settle(committed=True)`
  right after the commit (ledger/writer.py); this process adds one that dies there.
- `ANSWERING`: when the response is complete and about to be sent. The status and body it
  would have sent go to the test first, over a pipe (a write to a pipe outlives its writer),
  so the test can compare the retry's answer with the very answer the client never got.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing.connection import Connection
from typing import Any

import psycopg
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.app import create_app
from api.logs import configure_logging
from api.runtime import Runtime
from api.server import server_config
from ledger.command_records import Lookup
from ledger.settings import ClockKind, Environment, LogFormat, Settings
from tests.support import START, fork_server

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
POOL_SIZE = 2
"""Connections per pool: the test sends one request at a time."""


class Stage(StrEnum):
    """When, while answering a command, the process dies."""

    COMMITTED = "committed"
    ANSWERING = "answering"


@dataclass(frozen=True)
class KillPoint:
    """Die while answering this process's `post`-th POST (counted from 1), at `stage`."""

    post: int
    stage: Stage


@dataclass(frozen=True)
class Unsent:
    """The answer a process was about to send when it died."""

    status: int
    body: bytes


class DieAfterCommit:
    """An inline projection that writes nothing and kills the process once a batch it was
    armed for has committed."""

    def __init__(self, armed: threading.Event) -> None:
        self.armed = armed

    def apply(self, conn: psycopg.Connection[Any], events: list[Any], lookup: Lookup) -> None:
        pass

    def settle(self, committed: bool) -> None:
        if committed and self.armed.is_set():
            os.kill(os.getpid(), signal.SIGKILL)

    def forget(self, aggregate_ids: Any) -> None:
        pass


class KillSwitch:
    """The app, counting POSTs: at the kill point's POST it arms `DieAfterCommit`, or holds the
    answer back, reports it, and dies."""

    def __init__(
        self, app: ASGIApp, kill: KillPoint | None, armed: threading.Event, report: Connection
    ) -> None:
        self.app = app
        self.kill = kill
        self.armed = armed
        self.report = report
        self.posts = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.kill is None or scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        self.posts += 1
        if self.posts != self.kill.post:
            await self.app(scope, receive, send)
            return
        if self.kill.stage is Stage.COMMITTED:
            self.armed.set()
            await self.app(scope, receive, send)
            return
        status = 0
        body = bytearray()

        async def hold_back(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    self.report.send(Unsent(status, bytes(body)))
                    os.kill(os.getpid(), signal.SIGKILL)

        await self.app(scope, receive, hold_back)


def serve(database_url: str, kill: KillPoint | None, report: Connection) -> None:
    """The server process: a runtime on the database, its API on a free loopback port."""
    configure_logging("error", LogFormat.JSON)
    settings = Settings(
        database_url=database_url,
        environment=Environment.TEST,
        clock=ClockKind.SIMULATED,
        clock_start=START,
        db_pool_size=POOL_SIZE,
    )
    runtime = Runtime.start(settings)
    armed = threading.Event()
    runtime.ledger.writer.inline += (DieAfterCommit(armed),)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # from now on a client waits in the queue until uvicorn takes it
    app = KillSwitch(create_app(runtime), kill, armed, report)
    server = uvicorn.Server(server_config(app, log_level="warning"))
    report.send(f"http://127.0.0.1:{sock.getsockname()[1]}")
    try:
        server.run(sockets=[sock])
    finally:
        runtime.close()


class CrashServer:
    """One API process, started by `start` and stopped by `stop` (if it did not die)."""

    def __init__(self, database_url: str, kill: KillPoint | None) -> None:
        context = fork_server()
        self._answers, report = context.Pipe(duplex=False)
        self.process = context.Process(target=serve, args=(database_url, kill, report))
        self.process.start()
        report.close()
        if not self._answers.poll(START_TIMEOUT_S):
            self.process.kill()
            raise AssertionError("the crash server did not start")
        self.url: str = self._answers.recv()

    @classmethod
    def start(cls, database_url: str, kill: KillPoint | None = None) -> CrashServer:
        return cls(database_url, kill)

    def died(self) -> Unsent | None:
        """Waits for the process to have died by SIGKILL; the answer it held back, if any."""
        self.process.join(STOP_TIMEOUT_S)
        assert self.process.exitcode == -signal.SIGKILL, self.process.exitcode
        try:  # what it wrote before it died, or the end of the pipe
            unsent: Unsent | None = self._answers.recv()
        except EOFError:
            unsent = None
        self._answers.close()
        return unsent

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()  # uvicorn shuts down; the runtime closes
            self.process.join(STOP_TIMEOUT_S)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(STOP_TIMEOUT_S)
        self._answers.close()
