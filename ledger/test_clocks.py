"""Test clocks at work (issue 15): making them, advancing them, deleting them.

An advance to T is a loop over the instants where work of the clock's partners falls due:
find the earliest one after where the clock stands and no later than T, move the clock there
(`MoveTestClock`, an event), and do the work due by then with the billing clock scoped to the
clock (`tick(..., test_clock=...)`, whose commands take the clock's instant), until nothing
is due by T; then move to T and finish. Everything on the way happens in the order `tick`
does it. Every step is idempotent (the move's key names the clock and the instant, the work's
keys name the work), so an advance interrupted by a restart is resumed by running it again
from where the clock stands: nothing is done twice.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar
from uuid import UUID

import structlog

from domain.errors import TestClockBusy
from domain.test_clock import TestClock
from domain.values import VENDOR, Actor
from ledger import billing_clock, queries, test_clock_index
from ledger.audit_chain import Cause, caused_by
from ledger.billing_clock import tick
from ledger.command_bus import derived_id
from ledger.command_records import CommandResult
from ledger.commands import test_clocks as commands
from ledger.unit_of_work import Command

A = TypeVar("A")


class Ledger(billing_clock.Ledger, Protocol):
    """What test clocks need of the ledger (ledger/application.py's `Ledger`, which owns
    them): commands, their recorded answers, aggregates, and the billing clock's work."""

    def execute(self, command: Command, key: str | None = None) -> CommandResult: ...

    def replayed(self, key: str) -> CommandResult | None: ...

    def load(self, cls: type[A], aggregate_id: UUID) -> A | None: ...


ADVANCE_STEPS_MAX = 10_000
"""Instants one advance stops at, at most: a year of daily work for a clock's partners is a few
hundred; more is a schedule that never empties, and the advance stops (resumable) rather than
spin."""
STOP_TIMEOUT_S = 10.0
"""How long closing waits for an advance to finish the step it is in."""

log = structlog.get_logger(__name__)


@dataclass
class AdvanceReport:
    """What one run of an advance did."""

    done: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    steps: int = 0
    finished: bool = False
    """Whether the clock reached its target (False: stopped, to be resumed, or deleted)."""
    result: CommandResult | None = None
    """The finishing command's answer, once finished."""


def move_key(clock_id: UUID, instant: datetime) -> str:
    """The key of a clock's step to an instant: a clock stands at each instant once."""
    return f"test-clock/{clock_id}/move/{instant.isoformat()}"


def finish_key(clock_id: UUID, target: datetime) -> str:
    """The key of the end of an advance: targets only grow, so one per target."""
    return f"test-clock/{clock_id}/finish/{target.isoformat()}"


class TestClocks:
    """Makes, advances and deletes test clocks; runs advances in threads of their own."""

    __test__ = False  # not a pytest class, whatever its name

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[UUID, Future[AdvanceReport]] = {}

    # --- commands -----------------------------------------------------------------------

    def create(self, name: str, frozen_at: datetime, key: str | None = None) -> CommandResult:
        command = commands.CreateTestClock(clock_id=derived_id(key), name=name, frozen_at=frozen_at)
        return self.ledger.execute(command, key)

    def start_advance(
        self, clock_id: UUID, target: datetime, key: str | None = None
    ) -> CommandResult:
        """Begin moving the clock forward to `target` (then `advance` runs it)."""
        return self.ledger.execute(
            commands.StartTestClockAdvance(clock_id=clock_id, target=target), key
        )

    def advance_to(
        self, clock_id: UUID, target: datetime, key: str, wait_s: float, actor: Actor = VENDOR
    ) -> tuple[CommandResult, CommandResult | None]:
        """Begin an advance and run it in a thread of its own, waiting up to `wait_s` for it:
        the start's answer, and the finish's if it finished by then. Sent again under the same
        key, the same answers (the finish's recorded under a key of its own, `finish_key`)."""
        started = self.ledger.execute(
            commands.StartTestClockAdvance(clock_id=clock_id, target=target, actor=actor), key
        )
        target = datetime.fromisoformat(started.data["target"])
        running = self.advance_in_background(clock_id)
        # A long advance carries on; the clock reads `advancing` until it is done.
        with contextlib.suppress(TimeoutError):
            running.result(wait_s)
        return started, self.ledger.replayed(finish_key(clock_id, target))

    def delete(self, clock_id: UUID, key: str | None = None) -> CommandResult:
        """Delete the clock, then close its partners' accounts, each under a key of its own (a
        deletion sent again finishes one that stopped half way)."""
        result = self.ledger.execute(commands.DeleteTestClock(clock_id=clock_id), key)
        after: UUID | None = None
        while True:
            with self.ledger.reads.connection() as conn:
                page = test_clock_index.partners_on(conn, clock_id, after=after)
            for partner_id in page:
                self.ledger.execute(
                    commands.CloseTestClockPartner(clock_id=clock_id, partner_id=partner_id),
                    f"test-clock/{clock_id}/close/{partner_id}",
                )
            if len(page) < test_clock_index.PARTNERS_LISTED_MAX:
                return result
            after = page[-1]

    # --- advancing ----------------------------------------------------------------------

    def advance(self, clock_id: UUID, steps_max: int = ADVANCE_STEPS_MAX) -> AdvanceReport:
        """Run the advance under way to its target, from where the clock stands (at most
        `steps_max` steps: fewer leave it advancing, to be resumed)."""
        with caused_by(Cause.billing_clock(f"test-clock/{clock_id}")):
            return self._advance(clock_id, steps_max)

    def _advance(self, clock_id: UUID, steps_max: int) -> AdvanceReport:
        report = AdvanceReport()
        clock = self.ledger.load(TestClock, clock_id)
        if clock is None or clock.target is None:
            return report
        target, at = clock.target, clock.frozen_at
        try:
            # The work due where the clock stands (all of it, if it stopped in the middle).
            self._tick(report, clock_id, at)
            while True:
                if self._stop.is_set() or report.steps >= steps_max:
                    return report
                with self.ledger.reads.connection() as conn:
                    due_at = queries.next_due_on_test_clock(conn, clock_id, at)
                if due_at is None or due_at > target:
                    break
                at = due_at
                self._move(clock_id, at)
                report.steps += 1
                self._tick(report, clock_id, at)
            if at != target:
                self._move(clock_id, target)
        except TestClockBusy:
            log.info("test_clock_advance_stopped", clock_id=str(clock_id), reason="deleted")
            return report
        report.result = self.ledger.execute(
            commands.FinishTestClockAdvance(
                clock_id=clock_id,
                done=tuple(sorted(report.done.items())),
                refused=tuple(sorted(report.refused.items())),
                steps=report.steps,
            ),
            finish_key(clock_id, target),
        )
        report.finished = True
        return report

    def _move(self, clock_id: UUID, instant: datetime) -> None:
        self.ledger.execute(
            commands.MoveTestClock(clock_id=clock_id, instant=instant),
            move_key(clock_id, instant),
        )

    def _tick(self, report: AdvanceReport, clock_id: UUID, at: datetime) -> None:
        ticked = tick(self.ledger, at, test_clock=clock_id)
        report.done.update(ticked.done)
        report.refused.update(ticked.refused)

    def advance_in_background(self, clock_id: UUID) -> Future[AdvanceReport]:
        """Run the clock's advance in a thread of its own (one per clock at a time: asked
        again while it runs, the same run's future)."""
        with self._lock:
            running = self._running.get(clock_id)
            if running is not None and not running.done():
                return running
            future: Future[AdvanceReport] = Future()
            self._running[clock_id] = future

        def run() -> None:
            try:
                future.set_result(self.advance(clock_id))
            except BaseException as error:  # told to whoever waits; logged for the rest
                log.exception("test_clock_advance_failed", clock_id=str(clock_id))
                future.set_exception(error)

        threading.Thread(target=run, name=f"test-clock-{clock_id}", daemon=True).start()
        return future

    def resume(self) -> list[UUID]:
        """Continue every advance a stop interrupted (at start-up); the clocks resumed."""
        with self.ledger.reads.connection() as conn:
            clocks = test_clock_index.advancing(conn)
        for clock_id in clocks:
            log.info("test_clock_advance_resumed", clock_id=str(clock_id))
            self.advance_in_background(clock_id)
        return clocks

    def stop(self) -> None:
        """Stop the advances running here after their current step (they resume later)."""
        self._stop.set()
        with self._lock:
            running = list(self._running.values())
        for future in running:
            try:
                future.result(STOP_TIMEOUT_S)
            except BaseException as error:
                log.warning("test_clock_advance_unfinished", error=str(error))
