"""The ledger: one event-sourced application over PostgreSQL with a method per command."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import (
    InfrastructureFactory,
    Recording,
    TrackingRecorder,
    Transcoder,
)
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType

from domain.errors import PartnerNotFound
from domain.partner_account import PartnerAccount
from ledger.clock import Clock
from ledger.database import CONNECT_TIMEOUT_S, Database
from ledger.transcodings import LedgerTranscoder

EVENTS_TABLE = "ledger_events"
"""The events table: the library names it after the application (`ledger`)."""

LOCK_TIMEOUT_S = 10
"""How long a save waits for the events-table lock before it gives up and reports an error."""


@dataclass(frozen=True)
class CommandResult:
    """What a command recorded: the aggregate it concerned and the log position it reached."""

    aggregate_id: UUID
    position: int


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
        "CREATE_TABLE": "y",
    }


class Ledger(Application[UUID]):
    """Ledgerline's write side: every command validates in the domain, then saves its events."""

    name = "ledger"

    def __init__(self, database: Database, clock: Clock, *, pool_size: int = 5) -> None:
        self.clock = clock
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
        return factory

    def construct_transcoder(self) -> Transcoder:
        return LedgerTranscoder()

    def open_partner_account(
        self, *, name: str, currency: str, time_zone: str, partner_id: UUID | None = None
    ) -> CommandResult:
        """Open an account for a partner who will pay for its clients."""
        account = PartnerAccount.open(
            partner_id=partner_id or uuid4(),
            name=name,
            currency=currency,
            time_zone=time_zone,
            now=self.clock.now(),
        )
        return self._saved(account.id, self.save(account))

    def partner_account(self, partner_id: UUID) -> PartnerAccount:
        """The partner account as its events make it now."""
        try:
            account: object = self.repository.get(partner_id)
        except AggregateNotFoundError:
            account = None
        if not isinstance(account, PartnerAccount):
            raise PartnerNotFound(f"No partner account {partner_id}.", partner_id=partner_id)
        return account

    @staticmethod
    def _saved(aggregate_id: UUID, recordings: list[Recording[UUID]]) -> CommandResult:
        position = max(recording.notification.id for recording in recordings)
        return CommandResult(aggregate_id=aggregate_id, position=position)
