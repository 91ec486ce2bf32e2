"""Given / When / Then steps shared by the aggregate tests in tests/domain.

Given: an aggregate with its setup events already collected. When: one command. Then: exactly
the events it triggered (`then`), or a refusal's code and fields after checking that the
command triggered nothing and left the state as it was (`refused`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from domain.errors import BillingError


def state(aggregate: Any) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(aggregate).items() if k != "_pending_events"})


def then(aggregate: Any, *kinds: type) -> list[Any]:
    """Then exactly these events, in order (returned for their fields)."""
    events = list(aggregate.collect_events())
    assert [type(event) for event in events] == list(kinds)
    return events


def refused(aggregate: Any, command: Callable[[], object]) -> tuple[str, dict[str, object]]:
    """Then a refusal (its code and fields) that triggered nothing and changed nothing."""
    before = state(aggregate)
    with pytest.raises(BillingError) as caught:
        command()
    assert aggregate.collect_events() == []
    assert state(aggregate) == before
    return caught.value.code, caught.value.fields


def rejected(command: Callable[[], object]) -> tuple[str, dict[str, object]]:
    """Then a refusal of a command that creates an aggregate (nothing exists to check)."""
    with pytest.raises(BillingError) as caught:
        command()
    return caught.value.code, caught.value.fields


def replayed(events: list[Any]) -> Any:
    """The aggregate rebuilt from its events alone, as the event store would."""
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate
