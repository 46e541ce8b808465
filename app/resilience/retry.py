"""Retries with backoff and full jitter within a deadline, and streams read within one."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from app.core.errors import BackendTimeout
from app.core.failures import as_service_error, classify
from app.settings import RetrySettings

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to try one call."""

    max_attempts: int = 4
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0
    deadline_s: float = 60.0

    @classmethod
    def from_settings(cls, retry: RetrySettings, deadline_s: float) -> RetryPolicy:
        return cls(retry.max_attempts, retry.base_delay_s, retry.max_delay_s, deadline_s)

    def backoff_s(self, attempt: int, draw: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform between 0 and the capped exponential delay of this attempt."""
        return draw() * min(self.max_delay_s, self.base_delay_s * 2.0**attempt)


async def call_with_retries(
    operation: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    backend: str,
    *,
    deadline: float | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    draw: Callable[[], float] = random.random,
) -> T:
    """`operation()` until it succeeds, fails for good, or the deadline passes.

    `deadline` is a time of the running loop; by default the policy's deadline from now.
    """
    loop = asyncio.get_running_loop()
    if deadline is None:
        deadline = loop.time() + policy.deadline_s
    attempt = 0
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                return await operation()
        except TimeoutError as error:
            if loop.time() < deadline:
                raise
            message = f"{backend}: no answer within the {policy.deadline_s:g} s deadline"
            raise BackendTimeout(message) from error
        except Exception as error:
            failure = classify(error, backend)
            if failure is None or failure.error is error:
                raise
            attempt += 1
            delay = policy.backoff_s(attempt - 1, draw)
            if not failure.retryable or attempt >= policy.max_attempts:
                raise failure.error from error
            if loop.time() + delay >= deadline:
                raise failure.error from error
            logger.warning(
                "retrying %s after %s",
                backend,
                failure.error.code,
                extra={"attempt": attempt, "delay_s": round(delay, 3), "error": str(error)},
            )
            await sleep(delay)


async def within_deadline(
    events: AsyncIterator[T], deadline: float, backend: str, deadline_s: float
) -> AsyncGenerator[T, None]:
    """The events of a stream, each awaited before the loop-time `deadline`; errors translated."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    event = await anext(events)
            except StopAsyncIteration:
                return
            except TimeoutError as error:
                if loop.time() < deadline:
                    raise
                message = f"{backend}: stream not finished within the {deadline_s:g} s deadline"
                raise BackendTimeout(message) from error
            except Exception as error:
                translated = as_service_error(error, backend)
                if translated is error:
                    raise
                raise translated from error
            yield event
    finally:
        closer = getattr(events, "aclose", None)
        if closer is not None:
            await closer()
