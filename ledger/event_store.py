"""The event store: the eventsourcing library's application over Ledgerline's database.

It owns the events and snapshots tables and the mapper (our transcoder, sealing personal
fields); everything it is told comes from Ledgerline's settings, never from the environment.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import (
    InfrastructureFactory,
    Mapper,
    TrackingRecorder,
    Transcoder,
)
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType

from ledger.availability import POOL_RECONNECT_TIMEOUT_S
from ledger.database import CONNECT_TIMEOUT_S, Database
from ledger.sealing import Sealer
from ledger.transcodings import LedgerMapper, LedgerTranscoder

LOCK_TIMEOUT_S = 10
"""How long a write waits for the events-table lock before it gives up and reports an error."""
EVENT_STORE_PARAMS = ("dbname", "host", "port", "user", "password")
"""The connection parameters the library takes; any others (sslmode, …) are passed on apart."""


def event_store_env(database: Database, *, pool_size: int) -> dict[str, str]:
    """The library's settings for our database; every key that matters is set explicitly."""
    params = database.params()
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": params.get("dbname", ""),
        "POSTGRES_HOST": params.get("host", "localhost"),
        "POSTGRES_PORT": params.get("port", "5432"),
        "POSTGRES_USER": params.get("user", ""),
        "POSTGRES_PASSWORD": params.get("password", ""),
        "POSTGRES_SCHEMA": "public",
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "0",
        "POSTGRES_LOCK_TIMEOUT": str(LOCK_TIMEOUT_S),
        "POSTGRES_PRE_PING": "y",
        # Never: it skips the table lock, so readers could miss events (commit order must
        # equal notification order), and it mixes up tables of two applications in one schema.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "IS_SNAPSHOTTING_ENABLED": "y",
        "CREATE_TABLE": "y",
    }


class EventStore(Application[UUID]):
    """The eventsourcing library's application: it owns the tables and the mapper."""

    name = "ledger"

    def __init__(
        self, database: Database, *, pool_size: int = 2, sealer: Sealer | None = None
    ) -> None:
        self.sealer = sealer
        # The library takes five connection parameters; the rest of the URL (sslmode,
        # connect_timeout, …) is handed to its pool before it first connects.
        self._extra_params: dict[str, str] = {
            key: value for key, value in database.params().items() if key not in EVENT_STORE_PARAMS
        }
        self._extra_params.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
        super().__init__(env=event_store_env(database, pool_size=pool_size))

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Configuration comes from Ledgerline's settings only, never from stray
        # POSTGRES_* variables in the process environment.
        return Environment(name, dict(env or {}))

    def construct_factory(self, env: Environment) -> InfrastructureFactory[TrackingRecorder]:
        factory = super().construct_factory(env)
        if isinstance(factory, PostgresFactory) and isinstance(
            pool_kwargs := factory.datastore.pool.kwargs, dict
        ):
            pool_kwargs.update(self._extra_params)
            # Back within seconds of the database, not minutes (see POOL_RECONNECT_TIMEOUT_S);
            # its connections are checked before use already (POSTGRES_PRE_PING).
            factory.datastore.pool.reconnect_timeout = POOL_RECONNECT_TIMEOUT_S
        return factory

    def construct_transcoder(self) -> Transcoder:
        return LedgerTranscoder(self.sealer)

    def construct_mapper(self) -> Mapper[UUID]:
        # Personal fields sealed one by one (ledger/sealing.py), never the whole payload: the
        # library's CIPHER_TOPIC would blind the read models, which are SQL over the JSON.
        return LedgerMapper(LedgerTranscoder(self.sealer))
