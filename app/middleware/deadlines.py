"""Deadlines for a client that keeps a request waiting: its body, and each piece of the answer.

uvicorn waits as long as the client likes for both: a body sent a byte a minute, and a `send`
that waits for the socket to drain while the client does not read. One timer per request
watches both, re-armed only when it fires: a per-send timeout (`asyncio.timeout` around each
streamed piece) cost about 30 us a piece here, a store of the clock costs nothing.
"""

from __future__ import annotations

import asyncio
from typing import Literal

Wait = Literal["body", "send"]


class ClientDeadlines:
    """Cancels the request's task once the client has kept it waiting past a deadline: on the
    body for `body_timeout_s`, or on one `send` for `send_timeout_s`. `expired` then says which,
    for the handler of the cancellation (`ServiceMiddleware`) to tell it from any other."""

    def __init__(self, body_timeout_s: float, send_timeout_s: float) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._limits: dict[Wait, float] = {"body": body_timeout_s, "send": send_timeout_s}
        self._period = min(body_timeout_s, send_timeout_s)
        self._waiting: Wait | None = None
        self._since = 0.0
        self.expired: Wait | None = None
        self._timer = self._loop.call_later(self._period, self._check)

    def waiting(self, what: Wait) -> None:
        """The request now waits on the client for `what`."""
        self._waiting, self._since = what, self._loop.time()

    def done(self) -> None:
        """The client gave what the request waited for."""
        self._waiting = None

    def close(self) -> None:
        self._timer.cancel()

    def _check(self) -> None:
        what = self._waiting
        if what is None:
            self._timer = self._loop.call_later(self._period, self._check)
            return
        left = self._since + self._limits[what] - self._loop.time()
        if left > 0:
            self._timer = self._loop.call_later(left, self._check)
            return
        self.expired = what
        self._task.cancel()
