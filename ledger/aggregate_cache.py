"""The aggregates the writer keeps in memory between batches.

The cache is only ever trusted under the events table's lock: at the start of each batch the
writer evicts every aggregate another process wrote since `seen` (ledger/batch_transaction.py),
so a stale entry can never cause a lost or wrong write.

It also remembers ids the store had no aggregate for (`ABSENT`), under the same rule: an
aggregate created since by another process is evicted by that catch-up, one created by this
writer replaces the mark when it is put. So an aggregate most commands look for and most
stores never have (the billing policy's history before its first change, a partner's price
overrides) costs one query, not one per batch.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from uuid import UUID

from ledger.audit_chain import Head

CACHE_MAX = 100_000
"""Aggregates (and ids known absent) kept in memory between commands (least recently used are
dropped)."""
ABSENT = object()
"""The mark of an id the store had no aggregate for when last looked for."""


class AggregateCache:
    """The aggregates the writer holds in memory, least recently used first out."""

    def __init__(self, maxsize: int = CACHE_MAX) -> None:
        self._items: OrderedDict[UUID, Any] = OrderedDict()
        self.maxsize = maxsize
        self.seen = 0
        """The log position up to which every cached aggregate is known to be current."""
        self.heads: dict[UUID, Head] = {}
        """The last link of each audit chain, under the same catch-up rule as the aggregates."""

    def __len__(self) -> int:
        return len(self._items)

    def get(self, aggregate_id: UUID) -> Any | None:
        item = self._items.get(aggregate_id)
        if item is None:
            return None
        self._items.move_to_end(aggregate_id)
        return None if item is ABSENT else item

    def is_absent(self, aggregate_id: UUID) -> bool:
        """Whether the store had no aggregate for this id when last looked for (and nothing
        has written one since)."""
        return self._items.get(aggregate_id) is ABSENT

    def put(self, aggregate: Any) -> None:
        self._keep(aggregate.id, aggregate)

    def put_absent(self, aggregate_id: UUID) -> None:
        self._keep(aggregate_id, ABSENT)

    def _keep(self, aggregate_id: UUID, item: Any) -> None:
        self._items[aggregate_id] = item
        self._items.move_to_end(aggregate_id)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def evict(self, aggregate_id: UUID) -> None:
        self._items.pop(aggregate_id, None)

    def evict_chain(self, chain: UUID) -> None:
        self.heads.pop(chain, None)

    def keep_heads(self, heads: dict[UUID, Head]) -> None:
        """The chains' last links once a batch committed (all forgotten past `maxsize`)."""
        self.heads.update(heads)
        if len(self.heads) > self.maxsize:
            self.heads.clear()

    def clear(self) -> None:
        self._items.clear()
        self.heads.clear()
        self.seen = 0
