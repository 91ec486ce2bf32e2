"""How many failed key checks each client address may make: a token bucket per address.

Every 401 spends one failure from the caller's address; the allowance refills at
`LEDGERLINE_AUTH_FAILURES_PER_MINUTE` and holds at most one minute's worth. An address with no
failure left is answered 429 `too_many_failed_keys` with `Retry-After`, before its key is
looked up: looking keys up for it would keep the database busy for whoever floods us, and
answer every guess. Successful checks never spend anything, and a key verified within
`LEDGERLINE_KEY_CACHE_TTL_S` (remembered by the keyring, no I/O) is never refused, from any
address.

Checks in flight together all pass the gate before any of them has failed; the failures
beyond the allowance are owed (up to one allowance), so a burst buys no more than a trickle.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Request

ADDRESSES_MAX = 10_000
"""Addresses remembered at once (about 100 bytes each). Only addresses that failed are kept;
past this, the one that failed least recently is forgotten, and its bucket was the fullest."""
UNKNOWN_ADDRESS = "unknown"
"""Where a request came from when the server cannot say (a Unix socket): one shared bucket."""


class TooManyFailedKeys(Exception):
    """This address failed too many key checks lately; it may try again in `retry_after_s`."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed key checks; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class FailedKeyLimiter:
    """Failed key checks allowed per client address: `per_minute`, a minute's worth at once."""

    def __init__(self, per_minute: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._capacity = float(per_minute)
        self._per_s = per_minute / 60.0
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        """address -> (failures left, possibly negative when owed; when that was counted)"""

    def refused_for_s(self, address: str) -> int | None:
        """None if `address` may have a key checked now; otherwise the seconds until it may."""
        with self._lock:
            left = self._left(address)
        if left >= 1.0:
            return None
        return max(1, math.ceil((1.0 - left) / self._per_s))

    def failed(self, address: str) -> None:
        """Spend one failure of `address`'s allowance."""
        with self._lock:
            left = max(self._left(address) - 1.0, -self._capacity)
            self._buckets[address] = (left, self._monotonic())
            self._buckets.move_to_end(address)
            while len(self._buckets) > ADDRESSES_MAX:
                self._buckets.popitem(last=False)

    def _left(self, address: str) -> float:
        known = self._buckets.get(address)
        if known is None:
            return self._capacity
        left, counted_at = known
        return min(self._capacity, left + (self._monotonic() - counted_at) * self._per_s)


def client_address(request: Request) -> str:
    """The address the request came from, as the server saw it (behind a proxy, the proxy's,
    unless uvicorn is told to trust its `X-Forwarded-For`: FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else UNKNOWN_ADDRESS
