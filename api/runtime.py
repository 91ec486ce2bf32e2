"""The composition root: builds every part of a Ledgerline process from its settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import structlog

from api import keys
from domain.pricing import BillingPolicy
from ledger.application import EVENTS_TABLE, Ledger
from ledger.availability import BackgroundHealth, Backoff, CheckedPool, connection_lost, pool
from ledger.billing_clock import tick
from ledger.catalogue import import_on_first_start, load_catalogue
from ledger.clock import Clock, SimulatedClock, SystemClock
from ledger.database import Database, DatabaseError, EmbeddedPostgres, open_database, schema_lock
from ledger.mail.outbox import OutboxSender
from ledger.payments.gateway import NoGateway, PaymentGateway
from ledger.payments.simulator import SimulatedGateway
from ledger.settings import ClockKind, Environment, GatewayKind, Settings
from projections import generations
from projections.registry import all_projections, install_read_models
from projections.runner import Runner
from replay.proofs_watch import ChainWatch

STOP_TIMEOUT_S = 10.0
"""How long closing waits for a background thread to finish what it is doing."""
KEY_POOL_SIZE = 2
"""Connections for API key lookups, apart from the read pool (issue 11). A lookup is one
primary-key read, a database round trip, so two serve thousands a second; apart, a first use
of a key never waits behind reads that hold their connections (a `min_position` wait holds one
up to 10 s), and checking a key never needs a connection the request will want afterwards."""

MAIL_INTERVAL_S = 5.0
"""How often the mail sender looks for due e-mails when the outbox was empty."""

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
PROJECTIONS_TASK = "projections"
"""The background task (and its thread's name) that applies the log to the read models."""


def live_runner(database: Database) -> Runner:
    """The runner of every live read model whose generation matches its code's version.

    A read model that meets an event it cannot apply stops alone (`projection_stops`, shown by
    `/readyz`, `/metrics` and `ledgerline projections status`); a process that starts the
    runners tries it again (`Runtime.start_projectors`).

    It follows promotions: once `ledgerline projections rebuild` swaps in a new generation
    (from any process), the next batch goes to it, and a read model that needed a rebuild is
    maintained again from then on.
    """
    with database.connect() as conn:
        live = install_read_models(conn)
    for projection, current in live:
        if current.version != projection.version:
            log.error(
                "projection_needs_rebuild",
                projection=projection.name,
                live_version=current.version,
                code_version=projection.version,
                hint=f"ledgerline projections rebuild {projection.name}",
            )
    return Runner.following_live(
        database.connect,
        [projection for projection, _ in live],
        events_table=EVENTS_TABLE,
        lock_key=LIVE_LOCK,
    )


def _pool(database: Database, ledger: Ledger, size: int, timeout_s: float) -> CheckedPool:
    """A pool of autocommit connections for reads, checked, reporting to the ledger's health."""
    return CheckedPool(pool(database.conninfo(), size, timeout_s), ledger.health)


class Runtime:
    """A running Ledgerline: its database, the ledger, the read and key pools and the background
    work."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        ledger: Ledger,
        read_pool: CheckedPool,
        key_pool: CheckedPool,
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
        self.background: dict[str, BackgroundHealth] = {}
        """Each background task this process started, by name, and how it is doing."""
        self.audit_watch: ChainWatch | None = (
            ChainWatch(database.connect, ledger.clock.now)
            if settings.audit_verify_interval_s > 0
            else None
        )
        """The periodic verify of the audit chains (None when turned off); `start_audit_watch`
        runs it. Not among `background`: a broken chain is no reason to stop serving."""

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
        database, embedded = open_database(
            settings.database_url, settings.home, allow_unsafe=settings.is_test
        )
        try:
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
                    import_on_first_start(conn, ledger.execute, settings.catalogue)
            read_pool = _pool(database, ledger, settings.db_pool_size, settings.db_pool_timeout_s)
            key_pool = _pool(database, ledger, KEY_POOL_SIZE, settings.db_pool_timeout_s)
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
        """Run the read models' runner in a background thread, following the log live.

        A read model stopped at an event it could not apply is tried again: the code deployed
        since may apply it (if not, it stops there again, as loudly).
        """
        with self.database.connect() as conn:
            for projection in all_projections():
                stopped = generations.clear_stop(conn, projection.name)
                if stopped is not None:
                    log.warning(
                        "projection_retrying_after_stop",
                        projection=projection.name,
                        stopped=stopped.describe(),
                    )
        for runner in self.projectors:
            self._background(PROJECTIONS_TASK, runner.run)

    def start_billing_clock(self) -> None:
        """Run the billing clock every `tick_interval_s` (R-C6, R-O2, R-H2, R-L2, R-L3, R-L4).

        While the database is down it tries again with a backoff instead of waiting a whole
        interval; a tick that failed otherwise is logged and the clock carries on.
        """
        health = BackgroundHealth("billing-clock")

        def run(stop: threading.Event) -> None:
            backoff = Backoff()
            while not stop.is_set():
                try:
                    report = tick(self.ledger, self.ledger.clock.now())
                except Exception as error:
                    if connection_lost(error):
                        health.failed(error)
                        stop.wait(backoff.next_s())
                        continue
                    log.exception("billing_clock_failed")
                else:
                    if report.total or report.refused:
                        log.info(
                            "billing_clock_ticked",
                            done=dict(report.done),
                            refused=dict(report.refused),
                        )
                health.ran()
                backoff.reset()
                stop.wait(self.settings.tick_interval_s)
            health.stopped()

        self._background("billing-clock", run, health)

    def start_mail(self) -> None:
        """Deliver the outbox over SMTP, when a mail server is configured."""
        target = self.settings.smtp_target()
        if target is None:
            log.info("mail_not_configured", hint="set LEDGERLINE_SMTP_URL to send e-mail")
            return
        sender = OutboxSender(
            self.database.connect, target, clock=self.ledger.clock, sealer=self.sealer
        )
        health = BackgroundHealth("mail")
        self._background("mail", lambda stop: sender.run(stop, MAIL_INTERVAL_S, health), health)

    def start_audit_watch(self) -> None:
        """Verify the audit chains now and every `audit_verify_interval_s` (issue 14): a break
        is logged (`audit_chain_broken`) and shown in /metrics, never in /readyz."""
        watch = self.audit_watch
        if watch is None:
            log.info("audit_verify_off", hint="set LEDGERLINE_AUDIT_VERIFY_INTERVAL_S")
            return
        interval_s = self.settings.audit_verify_interval_s
        thread = threading.Thread(
            target=watch.loop, args=(self._stop, interval_s), name="audit-verify", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def background_health(self) -> list[BackgroundHealth]:
        """How each background task this process started is doing, now."""
        found = []
        for name, health in self.background.items():
            if name == PROJECTIONS_TASK:
                # The runner keeps its own state (projections import nothing of the ledger).
                runner = self.projectors[0]
                health.last_error = str(runner.failure) if runner.failure else runner.last_error
                ok = runner.connected and self._alive(name)
            else:
                ok = health.ok and self._alive(name)
            if ok != health.ok:
                health.ok, health.since = ok, datetime.now(UTC)
            found.append(health)
        return found

    def _alive(self, name: str) -> bool:
        return any(thread.name == name and thread.is_alive() for thread in self._threads)

    def start_background(self) -> None:
        """Everything `ledgerline serve` runs besides the HTTP API."""
        self.start_projectors()
        self.start_billing_clock()
        self.start_mail()
        self.start_audit_watch()
        self.resume_test_clocks()

    def resume_test_clocks(self) -> list[UUID]:
        """Continue the test clocks' advances a stop interrupted, each in a thread of its own
        (issue 15; ledger/test_clocks.py), where test clocks are allowed."""
        if not self.settings.test_clocks_allowed:
            return []
        return self.ledger.test_clocks.resume()

    def _background(
        self,
        name: str,
        target: Callable[[threading.Event], None],
        health: BackgroundHealth | None = None,
    ) -> None:
        health = self.background[name] = health or BackgroundHealth(name)

        def guarded(stop: threading.Event) -> None:
            try:
                target(stop)
            except Exception as error:  # it needs a person: /readyz says so from now on
                health.stopped(error)
                log.error("background_task_stopped", task=name, error=str(error))

        thread = threading.Thread(target=guarded, args=(self._stop,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        """Stop the background work, close the pools, and stop our embedded PostgreSQL."""
        self._stop.set()
        if self.projectors and self._threads:
            try:
                self.projectors[0].wake()  # runners listen on the events table's channel
            except DatabaseError as error:
                # Nothing is lost: the runners see the stop within IDLE_WAKEUP_S anyway.
                log.warning("database_unreachable_on_stop", error=str(error))
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
