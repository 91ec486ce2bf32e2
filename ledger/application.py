"""The ledger: Ledgerline's write side, one method per command.

Every method takes an idempotency key (R-X5): the same key returns the first answer and
writes nothing more. Commands that reach the payment processor (card charges, debits,
refunds, tokenising a card) talk to it before the command is written, with keys derived from
the command's, so a retry never charges twice; raw card data stops at the gateway (R-X4).

`Ledger` composes the parts, each in a module of its own: the event store
(ledger/event_store.py), running commands (ledger/command_bus.py), the ledger's own reads
(ledger/queries.py), charging through the processor (ledger/charging.py), the billing clock's
work (ledger/scheduled_work.py), and the commands by what they act on
(ledger/partner_operations.py, ledger/line_operations.py, ledger/invoice_operations.py).
"""

from __future__ import annotations

from datetime import date
from typing import TypeVar
from uuid import UUID

from eventsourcing.persistence import Mapper

from domain.billing_policy import POLICY_ID, PolicyHistory
from domain.bonus_wallet import BonusWallet
from domain.invoice import Invoice
from domain.partner_account import PartnerAccount
from domain.pricing import BillingPolicy, Catalogue
from domain.subscription_line import SubscriptionLine
from domain.values import VENDOR, Actor
from ledger import schema, store
from ledger.availability import CheckedPool, DatabaseHealth, pool
from ledger.charging import Charging
from ledger.clock import Clock
from ledger.command_bus import CommandBus
from ledger.command_records import CommandResult
from ledger.commands.base import Context
from ledger.commands.policy import SchedulePolicyChange
from ledger.database import Database
from ledger.event_store import EventStore
from ledger.invoice_operations import InvoiceOperations
from ledger.line_operations import LineOperations
from ledger.partner_operations import PartnerOperations
from ledger.payments.gateway import PaymentGateway
from ledger.payments.simulator import SimulatedGateway
from ledger.schedule import LineIndex, OpenInvoices, ScheduleProjection, Work
from ledger.scheduled_work import ScheduledWork
from ledger.sealing import Sealer
from ledger.test_clock_index import TestClockIndex
from ledger.test_clocks import TestClocks
from ledger.unit_of_work import Command
from ledger.writer import Writer

EVENTS_TABLE = store.EVENTS_TABLE
READ_TIMEOUT_S = 30.0
"""psycopg_pool's default wait for a free read connection (the API's own pools take theirs
from the settings)."""

A = TypeVar("A")


class Ledger(PartnerOperations, LineOperations, InvoiceOperations):
    """Ledgerline's write side: every command validates in the domain, then is written."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        gateway: PaymentGateway | None = None,
        *,
        policy: BillingPolicy | None = None,
        catalogue: Catalogue | None = None,
        public_url: str = "http://127.0.0.1:8000",
        pool_size: int = 4,
        sealer: Sealer | None = None,
    ) -> None:
        self.database = database
        self.sealer = sealer
        self.clock = clock
        self.gateway: PaymentGateway = gateway or SimulatedGateway()
        self.policy = policy or BillingPolicy()
        """Version 0 of the billing policy: in force until a scheduled change begins
        (domain/billing_policy.py); rules read the version in force through `policy_on`."""
        self.catalogue = catalogue or Catalogue.of()
        self.store = EventStore(database, sealer=sealer)
        self.mapper: Mapper[UUID] = self.store.mapper
        try:
            with database.connect() as conn:
                schema.create_tables(conn, sealer)
        except BaseException:
            self.store.close()  # a refused key stops the start: leave no pool behind
            raise
        self.health = DatabaseHealth()
        """Whether the database answers, as every part of the process last found it."""
        self.reads: CheckedPool = CheckedPool(
            pool(database.conninfo(), pool_size, READ_TIMEOUT_S), self.health
        )
        self.writer = Writer(
            lambda: database.connect(autocommit=True),
            self.mapper,
            clock,
            snapshot_types=(PartnerAccount, BonusWallet, SubscriptionLine),
            inline=(
                ScheduleProjection(self.policy),
                LineIndex(),
                OpenInvoices(),
                TestClockIndex(),
            ),
            context=Context(self.policy, self.catalogue, public_url.rstrip("/")),
            health=self.health,
            sealer=sealer,
        )
        self.bus = CommandBus(self.writer, self.reads, self.mapper)
        self.charging = Charging(self.bus, self.gateway, clock, self.policy)
        self.scheduled_work = ScheduledWork(self.bus, self.charging)
        self.test_clocks = TestClocks(self)
        self.writer.start()

    def close(self) -> None:
        self.test_clocks.stop()
        self.writer.stop()
        self.reads.close()
        self.store.close()

    def execute(self, command: Command, key: str | None = None) -> CommandResult:
        """Run a command under an idempotency key (a fresh one when none is given)."""
        return self.bus.execute(command, key)

    async def submit(self, command: Command, key: str | None = None) -> CommandResult:
        """Run a command under an idempotency key without holding a thread while it waits (the
        HTTP edge's way in: its handlers are coroutines)."""
        return await self.bus.submit(command, key)

    def replayed(self, key: str) -> CommandResult | None:
        """The first answer to a key, if a command was already recorded under it (R-X5)."""
        return self.bus.replayed(key)

    def load(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """An aggregate as its events make it now (read only, straight from the store)."""
        return self.bus.load(cls, aggregate_id)

    def partner_account(self, partner_id: UUID) -> PartnerAccount:
        return self.bus.partner_account(partner_id)

    def line(self, line_id: UUID) -> SubscriptionLine:
        return self.bus.line(line_id)

    def invoice(self, invoice_id: UUID) -> Invoice:
        return self.bus.invoice(invoice_id)

    def schedule_policy_change(
        self,
        changes: dict[str, str],
        effective_from: date,
        *,
        key: str | None = None,
        actor: Actor = VENDOR,
    ) -> CommandResult:
        """The vendor's change of the billing policy from a future business date on."""
        command = SchedulePolicyChange(
            effective_from=effective_from, changes=tuple(sorted(changes.items())), actor=actor
        )
        return self.bus.execute(command, key)

    def policy_history(self) -> PolicyHistory | None:
        """The billing policy's scheduled changes, straight from the store (None: none yet)."""
        return self.bus.load(PolicyHistory, POLICY_ID)

    def policy_on(self, day: date) -> BillingPolicy:
        """The version of the billing policy in force on a business date."""
        return self.charging.policy_on(day)

    def policy_today(self, partner_id: UUID) -> BillingPolicy:
        """The version of the billing policy in force on a partner's business date now."""
        return self.charging.policy_today(self.partner_account(partner_id))

    def do_scheduled_work(self, work: Work, subject_id: UUID, on: date) -> CommandResult | None:
        """Do one piece of the billing clock's work (ledger/billing_clock.py), once."""
        return self.scheduled_work.do(work, subject_id, on)
