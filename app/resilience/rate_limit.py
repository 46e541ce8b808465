"""Per-client request rate: one token bucket per client identity, least recently used evicted."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """One token bucket per client: `burst` requests at once, refilled at `per_minute`.

    Memory is bounded by `max_clients`: past it, the least recently seen client is forgotten
    (a client that is being paced right now is seen often, so it keeps its bucket).
    """

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.rate_per_s = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def client_count(self) -> int:
        return len(self._buckets)

    def _refilled(self, identity: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(identity)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                # Bounded memory under many addresses: the least recently seen client goes, so a
                # flood of new addresses cannot reset the limits of the clients being limited.
                self._buckets.popitem(last=False)
            bucket = self._buckets[identity] = _Bucket(self.burst, now)
        else:
            self._buckets.move_to_end(identity)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s)
        bucket.updated = now
        return bucket

    def _wait_for(self, bucket: _Bucket, cost: float) -> float:
        return (cost - bucket.tokens) / self.rate_per_s

    def wait_s(self, identity: str, cost: float = 1.0) -> float:
        """Takes `cost` tokens and returns 0, or returns the seconds until they are free. A
        cost over the burst is charged as the whole burst (it could never be paid otherwise)."""
        cost = min(cost, self.burst)
        bucket = self._refilled(identity)
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return self._wait_for(bucket, cost)
