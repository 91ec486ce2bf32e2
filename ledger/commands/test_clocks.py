"""Commands on test clocks (issue 15): make one, advance it step by step, delete it with its
partners. The advance itself, which does the work due on the way, is ledger/test_clocks.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.errors import TestClockNotFound
from domain.partner_account import PartnerAccount
from domain.test_clock import TestClock
from ledger.commands.base import LedgerCommand
from ledger.unit_of_work import UnitOfWork

Answer = tuple[UUID | None, dict[str, Any]]
TEST_CLOCK_DELETED = "test clock deleted"
"""The reason the accounts of a deleted clock's partners are closed with."""


def _utc(instant: datetime) -> datetime:
    """The instant in UTC, so that one instant has one fingerprint whatever its offset (a naive
    one stays as sent, for the domain to refuse)."""
    return instant.astimezone(UTC) if instant.utcoffset() is not None else instant


def clock_of(uow: UnitOfWork, clock_id: UUID) -> TestClock:
    clock = uow.get(TestClock, clock_id)
    if clock is None:
        raise TestClockNotFound.of(clock_id)
    return clock


def describe(clock: TestClock) -> dict[str, Any]:
    """A clock as a command answers it."""
    return {
        "status": clock.status.value,
        "frozen_time": clock.frozen_at.isoformat(),
        "target": clock.target.isoformat() if clock.target else None,
    }


@dataclass(frozen=True, kw_only=True)
class CreateTestClock(LedgerCommand):
    """The vendor makes a test clock standing at `frozen_at`."""

    clock_id: UUID
    name: str
    frozen_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "frozen_at", _utc(self.frozen_at))

    def handle(self, uow: UnitOfWork) -> Answer:
        clock = TestClock.create(
            clock_id=self.clock_id, name=self.name, frozen_at=self.frozen_at, now=uow.now
        )
        uow.add(clock)
        return clock.id, describe(clock)


@dataclass(frozen=True, kw_only=True)
class StartTestClockAdvance(LedgerCommand):
    """The vendor moves a test clock forward to `target`: the advance begins."""

    clock_id: UUID
    target: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", _utc(self.target))

    def handle(self, uow: UnitOfWork) -> Answer:
        clock = clock_of(uow, self.clock_id)
        clock.start_advance(self.target, uow.now)
        return clock.id, describe(clock)


@dataclass(frozen=True, kw_only=True)
class MoveTestClock(LedgerCommand):
    """One step of an advance: the clock stands at `instant`, where work falls due."""

    clock_id: UUID
    instant: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "instant", _utc(self.instant))

    def handle(self, uow: UnitOfWork) -> Answer:
        clock = clock_of(uow, self.clock_id)
        clock.move_to(self.instant, uow.now)
        return clock.id, describe(clock)


@dataclass(frozen=True, kw_only=True)
class FinishTestClockAdvance(LedgerCommand):
    """The clock reached its target: ready again. It records what the advance did, so that
    the advance's request, sent again, answers the same (R-X5)."""

    clock_id: UUID
    done: tuple[tuple[str, int], ...] = ()
    """Work done on the way, by kind (as `tick` reports it)."""
    refused: tuple[tuple[str, int], ...] = ()
    steps: int = 0
    """Instants the clock stood at on the way, where work fell due."""

    def handle(self, uow: UnitOfWork) -> Answer:
        clock = clock_of(uow, self.clock_id)
        clock.finish_advance(uow.now)
        return clock.id, {
            **describe(clock),
            "done": dict(self.done),
            "refused": dict(self.refused),
            "steps": self.steps,
        }


@dataclass(frozen=True, kw_only=True)
class DeleteTestClock(LedgerCommand):
    """The vendor deletes a test clock: no partner may join it, no advance moves it again."""

    clock_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        clock = clock_of(uow, self.clock_id)
        clock.delete(uow.now)
        return clock.id, describe(clock)


@dataclass(frozen=True, kw_only=True)
class CloseTestClockPartner(LedgerCommand):
    """A deleted clock's partner leaves with it: its account is closed (its history stays)."""

    clock_id: UUID
    partner_id: UUID

    def handle(self, uow: UnitOfWork) -> Answer:
        account = uow.get(PartnerAccount, self.partner_id)
        if account is None or account.test_clock_id != self.clock_id:
            raise ValueError(f"partner {self.partner_id} does not live on {self.clock_id}")
        if not account.closed:
            account.close(TEST_CLOCK_DELETED, uow.now)
        return account.id, {"status": account.status.value}
