"""The serving process's heap, settled once it has started: Python's cyclic garbage collector
kept from pausing every thread for tens of milliseconds.

The collector's full collections walk every object the process holds. A started server holds
some 270,000 (the modules, FastAPI's routes and pydantic's validators, babel's locale data,
the read pools), nearly all of them for its whole life, and under load it ran a full
collection every second or so: 70-100 ms each on this machine, with the interpreter held,
so every request in flight (command or read) waited for it. They were the p99 of the paced
benchmark (docs/performance.md, issue 16).

`settle_heap` collects once, then freezes what is alive (`gc.freeze`: moved where no
collection looks again, the collector's own remedy for long-lived objects made at start), and
has the youngest generation collected after `YOUNG_COLLECTION_ALLOCATIONS` allocations rather
than the default 700: a request allocates hundreds of objects, and each young collection is
followed, every so often, by an older one. Objects made afterwards are collected as before.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION_ALLOCATIONS = 10_000
"""Allocations (less deallocations) between collections of the youngest generation: a few
dozen requests' worth, a few hundred kilobytes of garbage at most between collections, and a
tenth as many collections of the older generations."""


def settle_heap() -> None:
    """Collect, freeze what survives, and collect the young less often (see above)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_ALLOCATIONS, older, oldest)
