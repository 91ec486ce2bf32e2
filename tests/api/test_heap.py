"""The serving process settles its heap as it starts (api/heap.py, issue 16): what is alive
then is frozen out of the collector's way, and the youngest generation is collected less
often, so that full collections no longer pause every request for tens of milliseconds."""

from __future__ import annotations

import asyncio
import gc
import weakref

from api.app import create_app
from api.heap import YOUNG_COLLECTION_ALLOCATIONS
from api.runtime import Runtime


class _Node:
    """An object that can sit in a reference cycle."""

    other: object = None


def test_the_apps_start_freezes_what_is_alive_and_collects_the_young_less_often(
    runtime: Runtime,
) -> None:
    app = create_app(runtime)
    threshold = gc.get_threshold()

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    try:
        gc.unfreeze()
        asyncio.run(start())
        # The modules, routes, validators and the runtime: all frozen at the start.
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == (YOUNG_COLLECTION_ALLOCATIONS, *threshold[1:])
        # What is made afterwards is the collector's as before: a dropped cycle is collected.
        node = _Node()
        node.other = node
        gone = weakref.ref(node)
        del node
        gc.collect()
        assert gone() is None
    finally:  # the test worker's own heap, as it was
        gc.unfreeze()
        gc.set_threshold(*threshold)
