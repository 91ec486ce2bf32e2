"""The serving process settles its interpreter as it starts (api/interpreter.py, issue 16): what
is alive then is frozen out of the collector's way, the youngest generation is collected less
often, so that full collections no longer pause every request for tens of milliseconds, and
threads waiting for the interpreter get it sooner."""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref

import pytest

from api.app import create_app
from api.interpreter import SWITCH_INTERVAL_S, YOUNG_COLLECTION_ALLOCATIONS
from api.runtime import Runtime


class _Node:
    """An object that can sit in a reference cycle."""

    other: object = None


@pytest.mark.parametrize("settle", [True, False])
def test_a_serving_apps_start_freezes_the_heap_collects_the_young_less_often_and_switches_sooner(
    runtime: Runtime, settle: bool
) -> None:
    """As `ledgerline serve` and its workers make it (`settle_interpreter`); an app made as the
    tests make theirs leaves the process's interpreter as it was."""
    app = create_app(runtime, settle_interpreter=settle)
    threshold = gc.get_threshold()
    interval = sys.getswitchinterval()

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    try:
        gc.unfreeze()
        gc.set_threshold(700, *threshold[1:])
        sys.setswitchinterval(0.005)
        asyncio.run(start())
        if not settle:
            assert (gc.get_freeze_count(), gc.get_threshold()[0]) == (0, 700)
            assert sys.getswitchinterval() == 0.005
            return
        # The modules, routes, validators and the runtime: all frozen at the start.
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == (YOUNG_COLLECTION_ALLOCATIONS, *threshold[1:])
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S
        # What is made afterwards is the collector's as before: a dropped cycle is collected.
        node = _Node()
        node.other = node
        gone = weakref.ref(node)
        del node
        gc.collect()
        assert gone() is None
    finally:  # the test worker's own interpreter, as it was
        gc.unfreeze()
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)
