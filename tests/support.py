"""Helpers shared by the tests."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

START = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)


class FrozenClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def embedded_server(
    data_dir: Path, cleanup_mode: Literal["stop", "delete"] = "delete"
) -> PostgresServer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server
    return get_server(data_dir, cleanup_mode=cleanup_mode)
