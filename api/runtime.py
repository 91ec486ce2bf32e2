"""The composition root: builds every part of a Ledgerline process from its settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import structlog
from psycopg_pool import ConnectionPool

from api import keys
from domain.pricing import BillingPolicy
from ledger.application import EVENTS_TABLE, Ledger
from ledger.billing_clock import tick
from ledger.catalogue import load_catalogue
from ledger.clock import Clock, SimulatedClock, SystemClock
from ledger.database import Database, EmbeddedPostgres, check_durability, schema_lock
from ledger.mail import OutboxSender
from ledger.payments.gateway import NoGateway, PaymentGateway
from ledger.payments.simulator import SimulatedGateway
from ledger.settings import ClockKind, Environment, GatewayKind, Settings
from projections import generations
from projections.base import install_functions
from projections.registry import all_projections
from projections.runner import Runner

STOP_TIMEOUT_S = 10.0
"""How long closing waits for a background thread to finish what it is doing."""
KEY_POOL_SIZE = 2
"""Connections for API key lookups, apart from the read pool (issue 11). A lookup is one
primary-key read, a database round trip, so two serve thousands a second; apart, a first use
of a key never waits behind reads that hold their connections (a `min_position` wait holds one
up to 10 s), and checking a key never needs a connection the request will want afterwards."""

log = structlog.get_logger(__name__)


def clock_for(settings: Settings) -> Clock:
    """The system clock, or in a demo or test run a simulated one (refused in production)."""
    if settings.clock is ClockKind.SIMULATED:
        return SimulatedClock(settings.clock_start or datetime.now(UTC))
    return SystemClock()


class GatewayNotChosen(Exception):
    """Production with no payment gateway chosen: the simulator is never used by accident."""


def gateway_for(settings: Settings) -> PaymentGateway:
    """The payment gateway the settings choose.

    Outside production the simulator is the default. In production it must be chosen by name
    (LEDGERLINE_PAYMENT_GATEWAY=simulator), like the simulated clock: a production process
    never charges through the simulator because a setting was forgotten.
    """
    if settings.payment_gateway is GatewayKind.SIMULATOR:
        return SimulatedGateway()
    if settings.environment is Environment.PRODUCTION:
        raise GatewayNotChosen(
            "No payment gateway is chosen and LEDGERLINE_ENVIRONMENT is production: set "
            "LEDGERLINE_PAYMENT_GATEWAY=simulator to take simulated payments on purpose, or "
            "LEDGERLINE_ENVIRONMENT=development for a local run."
        )
    return SimulatedGateway()


def describe_clock(clock: Clock) -> str:
    """What the clock really is, for the start-up log line (an injected one included)."""
    if isinstance(clock, SimulatedClock):
        return f"simulated at {clock.now().isoformat()}"
    if isinstance(clock, SystemClock):
        return "system"
    return type(clock).__name__


def describe_gateway(gateway: PaymentGateway) -> str:
    """What the payment gateway really is, for the start-up log line."""
    if isinstance(gateway, SimulatedGateway):
        return "simulator"
    if isinstance(gateway, NoGateway):
        return "none (this process takes no payments)"
    return type(gateway).__name__


LIVE_LOCK = "projections/live"
"""One process at a time applies the log to the live read models (an advisory lock)."""


def live_runner(database: Database) -> Runner:
    """The runner of every live read model whose generation matches its code's version.

    It follows promotions: once `ledgerline projections rebuild` swaps in a new generation
    (from any process), the next batch goes to it, and a read model that needed a rebuild is
    maintained again from then on.
    """
    projections = all_projections()
    with database.connect() as conn:
        install_functions(conn)
        for projection in projections:
            current = generations.ensure_live(conn, projection)
            if current.version != projection.version:
                log.error(
                    "projection_needs_rebuild",
                    projection=projection.name,
                    live_version=current.version,
                    code_version=projection.version,
                    hint=f"ledgerline projections rebuild {projection.name}",
                )
    return Runner.following_live(
        database.connect, projections, events_table=EVENTS_TABLE, lock_key=LIVE_LOCK
    )


def _pool(
    database: Database, size: int, timeout_s: float
) -> ConnectionPool[psycopg.Connection[Any]]:
    """A pool of autocommit connections for reads, open and holding one connection."""
    return ConnectionPool(
        database.conninfo(),
        min_size=1,
        max_size=size,
        timeout=timeout_s,
        kwargs={"autocommit": True},
        open=True,
    )


class Runtime:
    """A running Ledgerline: its database, the ledger, the read and key pools and the background
    work."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        ledger: Ledger,
        read_pool: ConnectionPool[psycopg.Connection[Any]],
        key_pool: ConnectionPool[psycopg.Connection[Any]],
        projectors: list[Runner],
        embedded: EmbeddedPostgres | None,
    ) -> None:
        self.settings = settings
        self.sealer = ledger.sealer
        """Opens the personal fields read models copy sealed (ledger/sealing.py), or None."""
        self.database = database
        self.ledger = ledger
        self.read_pool = read_pool
        self.key_pool = key_pool
        self.projectors = projectors
        self.embedded = embedded
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @classmethod
    def start(
        cls,
        settings: Settings,
        clock: Clock | None = None,
        gateway: PaymentGateway | None = None,
        *,
        takes_payments: bool = True,
    ) -> Runtime:
        """Connect (starting the embedded PostgreSQL if no DATABASE_URL), check, create tables.

        The clock and gateway come from the settings unless given (tests inject theirs). A
        process with `takes_payments=False` (administration commands) gets no gateway at all.
        """
        if gateway is None:
            gateway = gateway_for(settings) if takes_payments else NoGateway()
        clock = clock or clock_for(settings)
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
                ledger = Ledger(
                    database,
                    clock,
                    gateway,
                    policy=BillingPolicy(),
                    catalogue=load_catalogue(settings.catalogue),
                    public_url=settings.public_url,
                    pool_size=settings.db_pool_size,
                    sealer=settings.sealer(),
                )
                projectors = [live_runner(database)]
                with database.connect() as conn:
                    keys.install(conn)
            read_pool = _pool(database, settings.db_pool_size, settings.db_pool_timeout_s)
            key_pool = _pool(database, KEY_POOL_SIZE, settings.db_pool_timeout_s)
        except BaseException:
            if embedded is not None:
                embedded.stop()
            raise
        log.info(
            "runtime_started",
            database=database.safe_description,
            embedded=bool(embedded),
            environment=settings.environment.value,
            clock=describe_clock(clock),
            payment_gateway=describe_gateway(gateway),
        )
        return cls(settings, database, ledger, read_pool, key_pool, projectors, embedded)

    def start_projectors(self) -> None:
        """Run the read models' runner in a background thread, following the log live."""
        for runner in self.projectors:
            self._background("projections", runner.run)

    def start_billing_clock(self) -> None:
        """Run the billing clock every `tick_interval_s` (R-C6, R-O2, R-H2, R-L2, R-L3, R-L4)."""

        def run(stop: threading.Event) -> None:
            while not stop.is_set():
                try:
                    report = tick(self.ledger, self.ledger.clock.now())
                    if report.total or report.refused:
                        log.info(
                            "billing_clock_ticked",
                            done=dict(report.done),
                            refused=dict(report.refused),
                        )
                except Exception:
                    log.exception("billing_clock_failed")
                stop.wait(self.settings.tick_interval_s)

        self._background("billing-clock", run)

    def start_mail(self) -> None:
        """Deliver the outbox over SMTP, when a mail server is configured."""
        target = self.settings.smtp_target()
        if target is None:
            log.info("mail_not_configured", hint="set LEDGERLINE_SMTP_URL to send e-mail")
            return
        sender = OutboxSender(
            self.database.connect, target, clock=self.ledger.clock, sealer=self.sealer
        )
        self._background("mail", lambda stop: sender.run(stop, interval_s=5.0))

    def start_background(self) -> None:
        """Everything `ledgerline serve` runs besides the HTTP API."""
        self.start_projectors()
        self.start_billing_clock()
        self.start_mail()

    def _background(self, name: str, target: Callable[[threading.Event], None]) -> None:
        thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        """Stop the background work, close the pools, and stop our embedded PostgreSQL."""
        self._stop.set()
        if self.projectors and self._threads:
            self.projectors[0].wake()  # runners listen on the events table's channel
        for thread in self._threads:
            thread.join(STOP_TIMEOUT_S)
        self._threads.clear()
        for runner in self.projectors:
            runner.close()
        self.read_pool.close()
        self.key_pool.close()
        self.ledger.close()
        if self.embedded is not None:
            self.embedded.stop()
        log.info("runtime_stopped")
