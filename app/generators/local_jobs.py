"""One in-process model's single worker thread: a bounded queue, and jobs that stop when told.

A llama.cpp context serves one call at a time. Jobs wait here for the thread; the wait is load,
not a backend failure, so a job that waits too long (or finds the queue full) is refused with
`ModelBusy` (503, Retry-After) and its generation deadline only starts when the thread takes it.
A running job checks its `JobControl` after every token: a client that goes away, a deadline that
passes or a shutdown stops it within a token.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from app.core.errors import BackendTimeout, ModelBusy

logger = logging.getLogger(__name__)

T = TypeVar("T")


class JobStopped(Exception):
    """Raised inside a job whose caller no longer wants the answer (never reaches a client)."""


@dataclass(slots=True)
class JobControl:
    """Shared by a job and its caller: cancel it, and when its generation time runs out."""

    timeout_s: float
    closing: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None
    timed_out: bool = False

    def start(self) -> None:
        self.deadline = time.monotonic() + self.timeout_s

    def should_stop(self) -> bool:
        """True once the caller gave up or the deadline passed (checked after every token)."""
        if self.cancelled.is_set() or self.closing.is_set():
            return True
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.timed_out = True
            return True
        return False


@dataclass(frozen=True, slots=True)
class QueueLimits:
    """How many calls may wait for the model, and for how long, before more are refused."""

    max_waiting: int
    max_wait_s: float


class Job(Generic[T]):
    """A submitted job: wait for it to start, then for its result; `cancel` stops it."""

    def __init__(
        self, future: asyncio.Future[T], control: JobControl, started: asyncio.Event
    ) -> None:
        self.future = future
        self.control = control
        self.started = started
        self.queued_at = time.monotonic()
        self.waited_s = 0.0

    def cancel(self) -> None:
        self.control.cancelled.set()
        self.future.cancel()  # a job still queued never runs; a running one stops at its next token


class ModelWorker:
    """The single thread of one model, with queue accounting."""

    def __init__(self, label: str, timeout_s: float, limits: QueueLimits) -> None:
        self.label = label
        self.timeout_s = timeout_s
        self.limits = limits
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llama-{label}")
        self.waiting = 0
        self.running = 0
        self._closing = threading.Event()
        # Recent job durations, to tell a refused client when to come back.
        self._recent_job_s = 1.0

    @property
    def idle(self) -> bool:
        return self.waiting == 0 and self.running == 0

    def _retry_after_s(self) -> float:
        return float(max(1, math.ceil(self._recent_job_s * (self.waiting + 1))))

    def _busy(self, reason: str) -> ModelBusy:
        return ModelBusy(
            f"the local model {self.label} is busy ({reason}); try again shortly",
            retry_after_s=self._retry_after_s(),
        )

    def submit(self, work: Callable[[JobControl], T]) -> Job[T]:
        """Queue `work` for the thread, or refuse at once when the queue is full."""
        if self._closing.is_set():
            raise self._busy("shutting down")
        if self.waiting >= self.limits.max_waiting:
            raise self._busy(f"{self.waiting} requests already waiting")
        loop = asyncio.get_running_loop()
        control = JobControl(self.timeout_s, closing=self._closing)
        started = asyncio.Event()

        def run() -> T:
            loop.call_soon_threadsafe(started.set)
            if control.should_stop():
                raise JobStopped
            control.start()
            self.running += 1
            began = time.monotonic()
            try:
                return work(control)
            finally:
                self.running -= 1
                self._recent_job_s = 0.8 * self._recent_job_s + 0.2 * (time.monotonic() - began)

        self.waiting += 1
        future = loop.run_in_executor(self._executor, run)
        job = Job(future, control, started)
        future.add_done_callback(lambda _: started.set())
        return job

    async def wait_started(self, job: Job[T]) -> None:
        """Until the thread takes `job`; refused (and cancelled) when that takes too long."""
        try:
            # Not `wait_for`: on Python 3.11 it swallows a cancellation that arrives as the
            # thread takes the job, and the abandoned generation would run to its deadline.
            async with asyncio.timeout(self.limits.max_wait_s):
                await job.started.wait()
        except TimeoutError:
            job.cancel()
            raise self._busy(f"waited {self.limits.max_wait_s:g} s for its turn") from None
        except BaseException:
            job.cancel()
            raise
        finally:
            self.waiting -= 1
            job.waited_s = time.monotonic() - job.queued_at

    async def result(self, job: Job[T]) -> T:
        """The job's result: queue wait first, then its run (cancelled with the caller)."""
        await self.wait_started(job)
        try:
            # The job stops itself at its deadline; the extra second covers a token in flight.
            return await asyncio.wait_for(asyncio.shield(job.future), self.timeout_s + 1.0)
        except TimeoutError as error:
            raise self.timed_out() from error
        finally:
            if not job.future.done():
                job.cancel()

    def timed_out(self) -> BackendTimeout:
        return BackendTimeout(
            f"local model {self.label} gave no answer within {self.timeout_s:g} s of starting "
            "(FMT_GENERATION__TIMEOUT_S)"
        )

    async def aclose(self) -> None:
        """Stop the running job at its next token, drop queued ones, without blocking the loop."""
        self._closing.set()
        await asyncio.to_thread(self._executor.shutdown, True, cancel_futures=True)
