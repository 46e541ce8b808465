"""Per-client request rate: one token bucket per client identity."""

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
    """One token bucket per client: `burst` requests at once, refilled at `per_minute`."""

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

    def wait_s(self, identity: str) -> float:
        """Takes a token and returns 0, or returns the seconds until a token is free."""
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
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate_per_s
