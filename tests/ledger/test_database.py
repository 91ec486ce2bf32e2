"""The database bootstrap: the embedded PostgreSQL, and the refusal of non-durable servers."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ledger.database import (
    Database,
    DatabaseError,
    EmbeddedPostgres,
    UnsafeDurabilityError,
    check_durability,
    create_database,
)
from tests.support import drop_database

STARTS_AT_ONCE = 6
"""Processes starting together on a fresh home (`serve` and some `keys create`), as threads."""


def test_a_server_without_durable_commits_is_refused(database: Database) -> None:
    with database.connect() as conn:
        conn.execute(f'ALTER DATABASE "{database.params()["dbname"]}" SET synchronous_commit = off')
    with pytest.raises(UnsafeDurabilityError) as refused:
        check_durability(database, allow_unsafe=False)
    assert "synchronous_commit" in refused.value.settings_off
    assert "LEDGERLINE_ENVIRONMENT=test" in str(refused.value)


def test_a_test_run_may_use_a_server_without_durable_commits(database: Database) -> None:
    with database.connect() as conn:
        conn.execute(f'ALTER DATABASE "{database.params()["dbname"]}" SET synchronous_commit = off')
    assert "synchronous_commit" in check_durability(database, allow_unsafe=True)


def test_embedded_postgres_is_durable_and_keeps_its_data_across_restarts(
    embedded_home: Path,
) -> None:
    embedded = EmbeddedPostgres(embedded_home)
    database = embedded.start()
    try:
        assert check_durability(database, allow_unsafe=False) == []
        with database.connect() as conn:
            conn.execute("CREATE TABLE kept (value text)")
            conn.execute("INSERT INTO kept VALUES ('still here')")
    finally:
        embedded.stop()
    assert (embedded_home / "pgdata" / "PG_VERSION").exists()
    with pytest.raises(DatabaseError, match="Cannot connect"):
        database.connect().close()

    again = EmbeddedPostgres(embedded_home)
    database = again.start()
    try:
        with database.connect() as conn:
            assert conn.execute("SELECT value FROM kept").fetchall() == [("still here",)]
    finally:
        again.stop()


def test_starts_at_once_each_find_the_database_one_of_them_created(
    postgres_server: Database,
) -> None:
    name = f"ledgerline_test_{uuid.uuid4().hex[:16]}"
    together = threading.Barrier(STARTS_AT_ONCE)

    def start() -> None:
        together.wait()
        create_database(postgres_server, name)

    try:
        with ThreadPoolExecutor(STARTS_AT_ONCE) as starts:
            for started in [starts.submit(start) for _ in range(STARTS_AT_ONCE)]:
                started.result()
        with postgres_server.connect() as conn:
            found = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
            assert found.fetchone() == (1,)
    finally:
        drop_database(postgres_server, postgres_server.with_dbname(name))


def test_database_urls_keep_every_parameter_when_the_database_changes() -> None:
    database = Database("postgresql://app:p%40ss%20word@db.example:5433/ledger?sslmode=require")
    other = database.with_dbname("reports")
    assert other.params() == {
        "user": "app",
        "password": "p@ss word",
        "host": "db.example",
        "port": "5433",
        "sslmode": "require",
        "dbname": "reports",
    }
    assert "p@ss" not in other.safe_description
    assert other.safe_description == "app@db.example:5433/reports"
