"""The serving process settles its interpreter as it starts (api/interpreter.py, issue 16): what
is alive then is frozen out of the collector's way, the youngest generation is collected less
often, so that full collections no longer pause every request for tens of milliseconds, and
threads waiting for the interpreter get it sooner."""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref

from api.app import create_app
from api.interpreter import SWITCH_INTERVAL_S, YOUNG_COLLECTION_ALLOCATIONS
from api.runtime import Runtime


class _Node:
    """An object that can sit in a reference cycle."""

    other: object = None


def test_the_apps_start_freezes_what_is_alive_collects_the_young_less_often_and_switches_sooner(
    runtime: Runtime,
) -> None:
    app = create_app(runtime)
    threshold = gc.get_threshold()
    interval = sys.getswitchinterval()

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    try:
        gc.unfreeze()
        asyncio.run(start())
        # The modules, routes, validators and the runtime: all frozen at the start.
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == (YOUNG_COLLECTION_ALLOCATIONS, *threshold[1:])
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S != interval
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
