"""Fixtures of the write side's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.application import Ledger
from ledger.catalogue import load_catalogue
from ledger.clock import SimulatedClock
from ledger.database import Database
from tests.support import START


@pytest.fixture
def second_process(database: Database) -> Iterator[Ledger]:
    """Another Ledgerline process on the same database, with its own writer and cache."""
    other = Ledger(database, SimulatedClock(START), catalogue=load_catalogue(), pool_size=1)
    try:
        yield other
    finally:
        other.close()
