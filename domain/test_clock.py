"""A test clock: an instant of its own that partners opened on it live at, moved forward only
by an advance (issue 15). Vendor-wide: it has no partner, so its events go to the vendor's
audit chain; the partners on it take their instants from it (ledger/unit_of_work.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.calendar import DATE_MAX, DATE_MIN
from domain.errors import InvalidValue, TestClockBusy, TestClockNotForward
from domain.values import clean_text


class ClockStatus(StrEnum):
    """Where a test clock is: standing still, being advanced, or gone."""

    READY = "ready"
    ADVANCING = "advancing"
    DELETED = "deleted"


def plausible_instant(instant: datetime, field: str) -> datetime:
    """`instant` in UTC, if aware and on a date the calendar accepts (domain/calendar.py)."""
    if instant.utcoffset() is None:
        raise InvalidValue(f"{field} needs a time zone offset.", field=field)
    if not DATE_MIN <= instant.date() <= DATE_MAX:
        raise InvalidValue(f"{field} must be between {DATE_MIN} and {DATE_MAX}.", field=field)
    return instant.astimezone(UTC)


class TestClock(Aggregate):
    """A clock of its own for test partners: it stands still until advanced, never back."""

    __test__ = False  # not a pytest class, whatever its name

    class Event(Aggregate.Event):
        """A test clock event; its originator id is the clock's id."""

    class Created(Event, Aggregate.Created):
        """The vendor made a test clock standing at `frozen_at`."""

        name: str
        frozen_at: datetime

    def __init__(self, name: str, frozen_at: datetime) -> None:
        self.name = name
        self.frozen_at = frozen_at
        self.target: datetime | None = None
        """Where the advance under way goes; None when the clock stands still."""
        self.deleted = False

    @classmethod
    def create(cls, *, clock_id: UUID, name: str, frozen_at: datetime, now: datetime) -> TestClock:
        """A clock named `name`, standing at `frozen_at` (any plausible instant)."""
        return cls._create(
            cls.Created,
            id=clock_id,
            name=clean_text("name", name),
            frozen_at=plausible_instant(frozen_at, "frozen_time"),
            timestamp=now,
        )

    @property
    def status(self) -> ClockStatus:
        if self.deleted:
            return ClockStatus.DELETED
        return ClockStatus.ADVANCING if self.target is not None else ClockStatus.READY

    def require_open(self) -> None:
        """Refuse a new partner on a deleted clock."""
        self._require_not_deleted()

    class AdvanceStarted(Event):
        """An advance to `target` began: the clock moves there, doing what falls due."""

        target: datetime

        def apply(self, clock: TestClock) -> None:
            clock.target = self.target

    def start_advance(self, target: datetime, now: datetime) -> None:
        """Begin moving to `target`, later than the clock stands; one advance at a time."""
        self._require_not_deleted()
        if self.target is not None:
            raise TestClockBusy(
                "The test clock is advancing; wait until it is ready.", status=self.status.value
            )
        target = plausible_instant(target, "frozen_time")
        if target <= self.frozen_at:
            raise TestClockNotForward(
                "A test clock moves forward only.", frozen_time=self.frozen_at.isoformat()
            )
        self.trigger_event(self.AdvanceStarted, target=target, timestamp=now)

    class MovedTo(Event):
        """One step of an advance: the clock stands at `instant` (work due then is done)."""

        instant: datetime

        def apply(self, clock: TestClock) -> None:
            clock.frozen_at = self.instant

    def move_to(self, instant: datetime, now: datetime) -> bool:
        """Step forward to `instant` within the advance under way; standing there already is
        no step (an advance resumed after a restart repeats its last one)."""
        self._require_not_deleted()
        if self.target is None or not self.frozen_at <= instant <= self.target:
            raise ValueError(f"a step to {instant} is outside the advance under way")
        if instant == self.frozen_at:
            return False
        self.trigger_event(self.MovedTo, instant=instant, timestamp=now)
        return True

    class AdvanceFinished(Event):
        """The clock reached its target: ready again."""

        def apply(self, clock: TestClock) -> None:
            clock.target = None

    def finish_advance(self, now: datetime) -> bool:
        """Ready again, once at the target (False if no advance was under way)."""
        if self.target is None:
            return False
        if self.frozen_at != self.target:
            raise ValueError("an advance finishes at its target")
        self.trigger_event(self.AdvanceFinished, timestamp=now)
        return True

    class Deleted(Event):
        """The vendor deleted the clock; its partners' accounts are closed with it."""

        def apply(self, clock: TestClock) -> None:
            clock.deleted = True
            clock.target = None

    def delete(self, now: datetime) -> bool:
        """Delete it (False if it was already): an advance under way stops at its next step."""
        if self.deleted:
            return False
        self.trigger_event(self.Deleted, timestamp=now)
        return True

    def _require_not_deleted(self) -> None:
        if self.deleted:
            raise TestClockBusy("The test clock was deleted.", status=self.status.value)
