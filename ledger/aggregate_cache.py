"""The aggregates the writer keeps in memory between batches.

The cache is only ever trusted under the events table's lock: at the start of each batch the
writer evicts every aggregate another process wrote since `seen` (ledger/batch_transaction.py),
so a stale entry can never cause a lost or wrong write.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from uuid import UUID

CACHE_MAX = 100_000
"""Aggregates kept in memory between commands (least recently used are dropped)."""


class AggregateCache:
    """The aggregates the writer holds in memory, least recently used first out."""

    def __init__(self, maxsize: int = CACHE_MAX) -> None:
        self._items: OrderedDict[UUID, Any] = OrderedDict()
        self.maxsize = maxsize
        self.seen = 0
        """The log position up to which every cached aggregate is known to be current."""

    def __len__(self) -> int:
        return len(self._items)

    def get(self, aggregate_id: UUID) -> Any | None:
        item = self._items.get(aggregate_id)
        if item is not None:
            self._items.move_to_end(aggregate_id)
        return item

    def put(self, aggregate: Any) -> None:
        self._items[aggregate.id] = aggregate
        self._items.move_to_end(aggregate.id)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def evict(self, aggregate_id: UUID) -> None:
        self._items.pop(aggregate_id, None)

    def clear(self) -> None:
        self._items.clear()
        self.seen = 0
