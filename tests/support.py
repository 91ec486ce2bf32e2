"""Helpers shared by the tests."""

from __future__ import annotations

import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import uvicorn
from psycopg import sql

from api.app import create_app
from api.runtime import Runtime
from ledger.database import Database

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

START = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
SERVER_START_TIMEOUT_S = 10.0


def embedded_server(
    data_dir: Path, cleanup_mode: Literal["stop", "delete"] = "delete"
) -> PostgresServer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server
    return get_server(data_dir, cleanup_mode=cleanup_mode)


@contextmanager
def created_database(server: Database) -> Iterator[Database]:
    """A new, empty database on `server`, dropped afterwards."""
    name = f"ledgerline_test_{uuid.uuid4().hex[:16]}"
    with server.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.with_dbname(name)
    finally:
        with server.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def served(runtime: Runtime) -> Iterator[str]:
    """The API over `runtime`, served over real HTTP on a free loopback port: its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(runtime), log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test API server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SERVER_START_TIMEOUT_S)
        sock.close()
