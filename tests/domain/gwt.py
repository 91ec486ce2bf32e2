"""Given / When / Then for aggregates: the events a command triggered, or its clean refusal."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from eventsourcing.domain import Aggregate

from domain.errors import BillingError
from tests.support import START

NOW, TODAY = START, START.date()
A = TypeVar("A", bound=Aggregate)
Expected = tuple[type[Any], dict[str, Any]]


def given(aggregate: A) -> A:
    """Everything done to the aggregate so far is the Given: its events are taken away."""
    aggregate.collect_events()
    return aggregate


def then_events(aggregate: Aggregate, *expected: Expected) -> None:
    """The command triggered exactly these events, with these fields, at NOW."""
    events = aggregate.collect_events()
    assert [type(event) for event in events] == [kind for kind, _ in expected]
    for event, (_, fields) in zip(events, expected, strict=True):
        assert {name: getattr(event, name) for name in fields} == fields
        assert event.timestamp == NOW


@contextmanager
def then_refused(aggregate: Aggregate, code: str, fields: dict[str, Any]) -> Iterator[None]:
    """The command inside is refused with `code` and `fields`; it triggered and changed nothing."""
    before = copy.deepcopy(aggregate)
    with pytest.raises(BillingError) as refused:
        yield
    assert (refused.value.code, refused.value.fields) == (code, fields)
    assert aggregate.collect_events() == []
    assert aggregate == before


def attempt(aggregate: Aggregate, accepted: bool, command: Callable[[], object]) -> list[Any]:
    """Run a command the model expects to be `accepted` or refused; return its events."""
    before = copy.deepcopy(aggregate)
    try:
        command()
    except BillingError:
        assert not accepted
        assert aggregate.collect_events() == []
        assert aggregate == before
        return []
    assert accepted
    return list(aggregate.collect_events())


def replayed(history: Sequence[Any]) -> Aggregate:
    """The aggregate rebuilt from its events alone, as the event store would."""
    first, *rest = history
    aggregate: Aggregate = first.mutate(None)
    for event in rest:
        aggregate = event.mutate(aggregate)
    return aggregate
