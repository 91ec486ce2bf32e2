"""A test clock's rules (issue 15): it moves forward only, one advance at a time, step by step
within the advance, and a deleted clock neither advances nor takes partners."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import pytest

from domain import test_clock as clocks
from domain.errors import BillingError
from domain.partner_account import PartnerAccount
from tests.domain.gwt import NOW, given, replayed, then_events, then_refused

LATER = NOW + timedelta(days=90)


def made() -> clocks.TestClock:
    return given(clocks.TestClock.create(clock_id=UUID(int=7), name="Q1", frozen_at=NOW, now=NOW))


@pytest.mark.parametrize(
    ("name", "frozen_at", "field"),
    [
        ("", NOW, "name"),
        ("Q1", NOW.replace(tzinfo=None), "frozen_time"),
        ("Q1", datetime(1999, 12, 31, 12, tzinfo=NOW.tzinfo), "frozen_time"),
    ],
)
def test_a_clock_needs_a_name_and_an_aware_plausible_instant(
    name: str, frozen_at: datetime, field: str
) -> None:
    with pytest.raises(BillingError) as refused:
        clocks.TestClock.create(clock_id=UUID(int=7), name=name, frozen_at=frozen_at, now=NOW)
    assert (refused.value.code, refused.value.fields) == ("invalid_value", {"field": field})


def test_an_advance_moves_forward_step_by_step_and_finishes_at_its_target() -> None:
    clock = made()
    with then_refused(clock, "test_clock_not_forward", {"frozen_time": NOW.isoformat()}):
        clock.start_advance(NOW, NOW)
    clock.start_advance(LATER, NOW)
    then_events(clock, (clocks.TestClock.AdvanceStarted, {"target": LATER}))
    with then_refused(clock, "test_clock_busy", {"status": "advancing"}):
        clock.start_advance(LATER + timedelta(days=1), NOW)
    assert clock.move_to(NOW + timedelta(days=3), NOW)
    assert not clock.move_to(NOW + timedelta(days=3), NOW)  # a step repeated is no step
    with pytest.raises(ValueError, match="outside the advance"):
        clock.move_to(NOW + timedelta(days=2), NOW)  # never back
    with pytest.raises(ValueError, match="outside the advance"):
        clock.move_to(LATER + timedelta(seconds=1), NOW)  # never past the target
    clock.move_to(LATER, NOW)
    assert clock.finish_advance(NOW)
    assert (clock.frozen_at, clock.status) == (LATER, clocks.ClockStatus.READY)
    history = [*clock.collect_events()]
    assert [type(event).__name__ for event in history] == [
        "MovedTo",
        "MovedTo",
        "AdvanceFinished",
    ]


def test_a_deleted_clock_stops_its_advance_and_takes_no_partner() -> None:
    clock = made()
    clock.start_advance(LATER, NOW)
    assert clock.delete(NOW)
    assert not clock.delete(NOW)
    assert (clock.status, clock.target) == (clocks.ClockStatus.DELETED, None)
    given(clock)
    with then_refused(clock, "test_clock_busy", {"status": "deleted"}):
        clock.require_open()
    with then_refused(clock, "test_clock_busy", {"status": "deleted"}):
        clock.move_to(LATER, NOW)


def test_a_partner_joins_a_clock_when_it_is_opened_and_its_history_says_so() -> None:
    account = PartnerAccount.open(
        partner_id=UUID(int=1), name="Acme", currency="USD", time_zone="UTC", now=NOW
    )
    account.join_test_clock(UUID(int=7), NOW)
    events = account.collect_events()
    assert replayed(events).test_clock_id == UUID(int=7)  # type: ignore[attr-defined]
    assert replayed(events[:1]).test_clock_id is None  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="when it is opened"):
        account.join_test_clock(UUID(int=8), NOW)
