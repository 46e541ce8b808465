"""In-flight limit: at most N calls to one backend at once, the next refused rather than queued."""

from __future__ import annotations

from app.core.errors import ModelBusy

IN_FLIGHT_RETRY_AFTER_S = 1.0


class InFlightLimit:
    """At most `limit` calls to one backend at once; the next is refused, not queued."""

    def __init__(self, label: str, limit: int) -> None:
        self.label = label
        self.limit = limit
        self.in_flight = 0

    def acquire(self) -> None:
        """Takes a slot, or raises ModelBusy (503, overload) when all are taken; pair with
        `release`."""
        if self.in_flight >= self.limit:
            raise ModelBusy(
                f"the {self.label} backend is busy ({self.limit} calls in flight); try again "
                "shortly",
                retry_after_s=IN_FLIGHT_RETRY_AFTER_S,
            )
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
