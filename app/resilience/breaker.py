"""A circuit breaker: refuses calls to a backend that keeps failing, then tries it again."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

from app.core.errors import BackendUnavailable

CircuitState = Literal["closed", "half_open", "open"]
STATE_VALUES: dict[CircuitState, float] = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
HALF_OPEN_RETRY_AFTER_S = 1.0


class CircuitBreaker:
    """Opens after `failure_threshold` backend failures in a row and refuses calls at once;
    after `reset_s` lets one trial call through (half-open), which closes or reopens it."""

    def __init__(
        self,
        label: str,
        failure_threshold: int,
        reset_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.failure_threshold = failure_threshold
        self.reset_s = reset_s
        self.clock = clock
        self.consecutive_failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.reset_s:
            return "half_open"
        return "open"

    def admit(self) -> bool:
        """Lets a call through (True when it is the half-open trial) or raises 503."""
        state = self.state
        if state == "closed":
            return False
        if state == "half_open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        if state == "half_open":
            wait_s = HALF_OPEN_RETRY_AFTER_S
        else:
            assert self._opened_at is not None
            wait_s = self.reset_s - (self.clock() - self._opened_at)
        raise BackendUnavailable(
            f"the {self.label} backend failed {self.consecutive_failures} times in a row; "
            f"calls to it are paused (circuit open), next try in {math.ceil(wait_s)} s",
            retry_after_s=max(1.0, math.ceil(wait_s)),
        )

    def succeeded(self, trial: bool) -> None:
        self.consecutive_failures = 0
        self._opened_at = None
        if trial:
            self._trial_in_flight = False

    def failed(self, trial: bool) -> None:
        self.consecutive_failures += 1
        if trial or self.consecutive_failures >= self.failure_threshold:
            self._opened_at = self.clock()
        if trial:
            self._trial_in_flight = False

    def abandoned(self, trial: bool) -> None:
        """The call ended without a verdict (cancelled, refused here, or a bug of ours)."""
        if trial:
            self._trial_in_flight = False
