"""The serving process's interpreter, settled once it has started: Python's cyclic garbage
collector kept from pausing every thread for tens of milliseconds, and its threads given the
interpreter in turn sooner.

**The heap.** The collector's full collections walk every object the process holds. A started
server holds some 270,000 (the modules, FastAPI's routes and pydantic's validators, babel's
locale data, the read pools), nearly all of them for its whole life, and under load it ran a
full collection every second or so: 70-100 ms each on this machine, with the interpreter held,
so every request in flight (command or read) waited for it. They were the p99 of the paced
benchmark (docs/performance.md, issue 16). `settle` collects once, then freezes what is alive
(`gc.freeze`: moved where no collection looks again, the collector's own remedy for long-lived
objects made at start), and has the youngest generation collected after
`YOUNG_COLLECTION_ALLOCATIONS` allocations rather than the default 700: a request allocates
hundreds of objects, and each young collection is followed, every so often, by an older one.
Objects made afterwards are collected as before.

**The switch interval.** One interpreter runs the event loop, the writer, the reads' worker
threads and the projection runner. A thread whose database answered waits for the interpreter
until its holder lets go or the switch interval ends and it is asked to: 5 ms by default, for
each statement of a read and each round trip of a batch. `SWITCH_INTERVAL_S` makes that wait
shorter.
"""

from __future__ import annotations

import gc
import sys

YOUNG_COLLECTION_ALLOCATIONS = 10_000
"""Allocations (less deallocations) between collections of the youngest generation: a few
dozen requests' worth, a few hundred kilobytes of garbage at most between collections, and a
tenth as many collections of the older generations."""

SWITCH_INTERVAL_S = 0.001
"""How long a thread may keep the interpreter while another waits for it (Python's default is
0.005). Paced at 1,000 commands/s with 200 queries/s, three runs each, alternated: queries' p99
14.2-15.7 ms against 17.4-33.5 ms, commands' p99 24.7-26.6 against 28.3-44.2 ms, throughput the
same (2,463-2,476 against 2,441-2,481 commands/s)."""


def settle() -> None:
    """Collect, freeze what survives, collect the young less often, and switch threads sooner
    (see above)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_ALLOCATIONS, older, oldest)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
