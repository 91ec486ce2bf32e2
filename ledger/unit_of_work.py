"""The unit of work a command decides through: the aggregates it loads or creates, the numbers
it draws, the e-mails it sends. Nothing it gathers is written unless the command succeeds."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.partner_account import PartnerAccount
from domain.test_clock import TestClock
from ledger.audit_chain import VENDOR_CHAIN, chain_of
from ledger.command_records import Message

T = TypeVar("T")


class BatchReads(Protocol):
    """What a unit of work reads through the batch it is decided in (ledger/batch.py)."""

    def load(self, aggregate_id: UUID) -> Any | None:
        """An aggregate as it is now, with the batch's earlier commands applied."""
        ...

    def last_number(self, series: str) -> int:
        """The last number a series issued, counting the batch's earlier commands."""
        ...


class UnitOfWork:
    """One command's view of the store: aggregates, numbers, outgoing messages."""

    def __init__(self, batch: BatchReads, server_now: datetime, context: Any) -> None:
        self._batch = batch
        self._server_now = server_now
        """The ledger clock's instant when the command began."""
        self._now: datetime | None = None
        self.context = context
        """What commands need besides the store: the billing policy, the catalogue, links."""
        self.touched: dict[UUID, Any] = {}
        self.numbers: dict[str, int] = {}
        self.messages: list[Message] = []

    @property
    def now(self) -> datetime:
        """The command's instant, fixed the first time it is read: its partner's test clock's
        (issue 15) if the aggregates it loaded so far belong to a partner on one, otherwise the
        ledger clock's. Commands read it after loading what they act on; the partner's account
        and clock come through this unit of work (under the writer's lock, cached), so a
        partner on no clock costs a dictionary lookup of an account already loaded."""
        if self._now is None:
            self._now = self._instant()
        return self._now

    def fix_now(self, instant: datetime) -> None:
        """Take `instant` as the command's (a partner opened on a test clock takes the clock's,
        before anything of the partner's is loaded). Before the instant is read, never after."""
        if self._now is not None and self._now != instant:
            raise RuntimeError("the command's instant was read before it was fixed")
        self._now = instant

    def _instant(self) -> datetime:
        partner_id = next(
            (
                chain
                for chain in map(chain_of, list(self.touched.values()))
                if chain != VENDOR_CHAIN
            ),
            None,
        )
        if partner_id is None:
            return self._server_now
        account = self.get(PartnerAccount, partner_id)
        if account is None or account.test_clock_id is None:
            return self._server_now
        clock = self.get(TestClock, account.test_clock_id)
        return self._server_now if clock is None else clock.frozen_at

    def get(self, cls: type[T], aggregate_id: UUID) -> T | None:
        """The aggregate as it is now, or None if it does not exist (or is another type)."""
        aggregate = self.touched.get(aggregate_id)
        if aggregate is None:
            aggregate = self._batch.load(aggregate_id)
        if not isinstance(aggregate, cls):
            return None
        self.touched[aggregate_id] = aggregate
        return aggregate

    def add(self, aggregate: Aggregate) -> None:
        """A new aggregate this command created."""
        self.touched[aggregate.id] = aggregate

    def next_number(self, series: str) -> int:
        """The next number in a series, without gaps: it is used only if this command succeeds."""
        last = self._batch.last_number(series) + self.numbers.get(series, 0)
        self.numbers[series] = self.numbers.get(series, 0) + 1
        return last + 1

    def send(self, message: Message) -> None:
        """E-mail this once the command commits (at least once, de-duplicated by its key)."""
        self.messages.append(message)

    def collect(self) -> list[Any]:
        """The events this command's aggregates triggered, taken from them."""
        events: list[Any] = []
        for aggregate in self.touched.values():
            events.extend(aggregate.collect_events())
        return events

    def dirty(self) -> bool:
        """Whether an aggregate this command touched holds events not yet collected."""
        return any(aggregate.pending_events for aggregate in self.touched.values())


class Command(Protocol):
    """A command: decides through the unit of work, returns its aggregate id and answer data."""

    command_name: ClassVar[str]

    def handle(self, uow: UnitOfWork) -> tuple[UUID | None, dict[str, Any]]: ...

    def fingerprint(self) -> str: ...
