"""Per-client request rate: one token bucket per client identity."""

from __future__ import annotations

import time
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
        self._buckets: dict[str, _Bucket] = {}

    @property
    def client_count(self) -> int:
        return len(self._buckets)

    def wait_s(self, identity: str) -> float:
        """Takes a token and returns 0, or returns the seconds until a token is free."""
        now = self.clock()
        bucket = self._buckets.get(identity)
        if bucket is None:
            self._forget_idle_clients(now)
            bucket = self._buckets[identity] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate_per_s

    def _forget_idle_clients(self, now: float) -> None:
        # Bounded memory under many client addresses: a full bucket holds nothing worth keeping.
        if len(self._buckets) < self.max_clients:
            return
        refill_s = self.burst / self.rate_per_s
        self._buckets = {
            identity: bucket
            for identity, bucket in self._buckets.items()
            if now - bucket.updated < refill_s
        }
        if len(self._buckets) >= self.max_clients:
            self._buckets.clear()
