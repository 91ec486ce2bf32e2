"""The composition root: builds every part of a Ledgerline process from its settings."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import structlog
from psycopg_pool import ConnectionPool

from ledger.application import EVENTS_TABLE, Ledger
from ledger.clock import Clock, SystemClock
from ledger.database import (
    Database,
    EmbeddedPostgres,
    check_durability,
    schema_lock,
)
from ledger.settings import Settings
from projections.partners import PartnerDirectory
from projections.projector import Projector

STOP_TIMEOUT_S = 10.0
"""How long closing waits for a projector to finish its batch."""

log = structlog.get_logger(__name__)


class Runtime:
    """A running Ledgerline: its database, the ledger, the read pool and the projectors."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        ledger: Ledger,
        read_pool: ConnectionPool[psycopg.Connection[Any]],
        projectors: list[Projector],
        embedded: EmbeddedPostgres | None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.ledger = ledger
        self.read_pool = read_pool
        self.projectors = projectors
        self.embedded = embedded
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @classmethod
    def start(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        """Connect (starting the embedded PostgreSQL if no DATABASE_URL), check, create tables."""
        embedded: EmbeddedPostgres | None = None
        if settings.database_url:
            database = Database(settings.database_url)
        else:
            embedded = EmbeddedPostgres(settings.home)
            database = embedded.start()
        try:
            settings_off = check_durability(database, allow_unsafe=settings.is_test)
            if settings_off:
                log.warning("durability_relaxed_for_test", settings_off=settings_off)
            with schema_lock(database):
                ledger = Ledger(database, clock or SystemClock(), pool_size=settings.db_pool_size)
                projectors = [
                    Projector(
                        database.connect,
                        PartnerDirectory(),
                        ledger.mapper.to_domain_event,
                        events_table=EVENTS_TABLE,
                    )
                ]
                for projector in projectors:
                    projector.create_tables()
            read_pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
                database.conninfo(),
                min_size=1,
                max_size=settings.db_pool_size,
                kwargs={"autocommit": True},
                open=True,
            )
        except BaseException:
            if embedded is not None:
                embedded.stop()
            raise
        log.info("runtime_started", database=database.safe_description, embedded=bool(embedded))
        return cls(settings, database, ledger, read_pool, projectors, embedded)

    def start_projectors(self) -> None:
        """Run each projector in a background thread, following the log live."""
        for projector in self.projectors:
            thread = threading.Thread(
                target=projector.run,
                args=(self._stop,),
                name=f"projector-{projector.name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        """Stop the projectors, close the pools, and stop the embedded PostgreSQL if ours."""
        self._stop.set()
        if self._threads:
            self.projectors[0].wake()  # they all listen on the events table's channel
        for thread in self._threads:
            thread.join(STOP_TIMEOUT_S)
        self._threads.clear()
        self.read_pool.close()
        self.ledger.close()
        if self.embedded is not None:
            self.embedded.stop()
        log.info("runtime_stopped")
