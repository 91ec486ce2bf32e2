"""The one place the write side learns the time; rules receive it as an argument."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the current instant, always in UTC."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real time of this machine."""

    def now(self) -> datetime:
        return datetime.now(UTC)
