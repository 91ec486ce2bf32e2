"""Coroutine handlers hand what waits on the payment processor (a card tokenised, autopay's
charge after an invoice is issued) to asyncio's default executor with `asyncio.to_thread`; the
app gives that executor as many threads as the pool of plain handlers (`HANDLER_THREADS`), not
asyncio's default of min(32, cores + 4)."""

from __future__ import annotations

import asyncio
import threading

from api.app import HANDLER_THREADS, use_handler_threads

WAITING = 40
"""More waits at once than asyncio's default executor ever has threads (32 at most)."""
BARRIER_TIMEOUT_S = 5.0
"""Only reached when the threads are too few: the test then fails after this long."""


def test_work_handed_to_threads_runs_side_by_side_beyond_asyncios_default_pool() -> None:
    """40 waits handed to threads at once all run together (each waits for all the others);
    with asyncio's default pool the last 8 would wait for a free thread, and the barrier break."""
    assert WAITING <= HANDLER_THREADS
    barrier = threading.Barrier(WAITING, timeout=BARRIER_TIMEOUT_S)

    async def all_at_once() -> list[int]:
        use_handler_threads()
        return await asyncio.gather(*(asyncio.to_thread(barrier.wait) for _ in range(WAITING)))

    assert sorted(asyncio.run(all_at_once())) == list(range(WAITING))
