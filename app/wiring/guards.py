"""Guards around the built backends: a breaker and an in-flight limit per backend, with metrics.

One guard per backend, shared by every strategy using it; composition (`app/wiring/compose.py`)
wraps each backend once and keeps the guards by label.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from concurrent.futures import Future
from contextlib import aclosing
from typing import Any, TypeVar

from app.core.errors import BackendError, BackendTimeout, BackendUnavailable, ModelBusy
from app.core.observability import Metrics, current_record
from app.core.types import ChatMessage, Passage
from app.generators.base import Generation, GenerationEvent, GenerationParams, Generator
from app.resilience.blocking import tracking_threads
from app.resilience.breaker import STATE_VALUES, CircuitBreaker, CircuitState
from app.resilience.in_flight import InFlightLimit
from app.retrievers.base import Retriever
from app.settings import Settings

T = TypeVar("T")


class BackendGuard:
    """What one backend shares across strategies: its breaker and its in-flight limit."""

    def __init__(self, label: str, settings: Settings, metrics: Metrics) -> None:
        self.label = label
        self.metrics = metrics
        self.breaker = CircuitBreaker(
            label, settings.circuit.failure_threshold, settings.circuit.reset_s
        )
        self.in_flight = InFlightLimit(label, settings.limits.max_in_flight_per_backend)
        self.deadline_s = settings.generation.timeout_s
        breaker = self.breaker
        metrics.circuit_state.labels(label).set_function(lambda: STATE_VALUES[breaker.state])

    @property
    def state(self) -> CircuitState:
        return self.breaker.state

    def begin(self, backend_name: str) -> GuardedCall:
        try:
            trial = self.breaker.admit()
        except BackendUnavailable:
            self.count_error("circuit_open")
            raise
        try:
            self.in_flight.acquire()
        except ModelBusy:
            self.breaker.abandoned(trial)
            self.count_error("in_flight_limit")
            raise
        record = current_record.get()
        if record is not None:
            record.backends[self.label] = backend_name
        return GuardedCall(self, trial)

    async def call(self, backend_name: str, work: Callable[[], Awaitable[T]]) -> T:
        """`work()` admitted by the breaker and the in-flight limit, its outcome recorded; the slot
        is held until the threads it started have returned."""
        call = self.begin(backend_name)
        with tracking_threads() as threads:
            try:
                result = await work()
            except BackendError as error:
                call.fail(error)
                raise
            else:
                call.succeed()
            finally:
                call.end(threads)
        return result

    def count_error(self, kind: str) -> None:
        self.metrics.backend_errors.labels(self.label, kind).inc()
        record = current_record.get()
        if record is not None:
            record.backend_errors.append(f"{self.label}:{kind}")


class GuardedCall:
    """One call through a guard: a verdict (success or failure) at most, then `end` once.

    `end` is synchronous on purpose: it runs in `finally` blocks reached by cancellation (a client
    that left), where an await could be cancelled again before the slot is given back.
    """

    def __init__(self, guard: BackendGuard, trial: bool) -> None:
        self.guard = guard
        self.trial = trial
        self.judged = False

    def succeed(self) -> None:
        self.judged = True
        self.guard.breaker.succeeded(self.trial)

    def fail(self, error: BackendError) -> None:
        """A backend fault counts towards the circuit; a refusal that is ours (permissions,
        model id) leaves it as it was: the backend answered, so it is up."""
        self.guard.count_error(error.code)
        if not error.counts_against_backend:
            return  # no verdict: `end` gives a half-open trial back
        self.judged = True
        self.guard.breaker.failed(self.trial)

    def excuse(self, error: BackendError) -> None:
        """Counts the error in the metrics without a verdict on the backend."""
        self.guard.count_error(error.code)

    def end(self, threads: Sequence[Future[Any]] = ()) -> None:
        """Gives the trial back (without a verdict) and the in-flight slot: now, or when the
        last of `threads` (blocking SDK calls this call started) returns."""
        if not self.judged:
            self.guard.breaker.abandoned(self.trial)
        running = [thread for thread in threads if not thread.done()]
        if not running:
            self.guard.in_flight.release()
            return
        loop = asyncio.get_running_loop()
        remaining = [len(running)]

        def thread_returned(_: Future[Any]) -> None:  # on the pool thread
            with contextlib.suppress(RuntimeError):  # the loop closed first: nothing to free
                loop.call_soon_threadsafe(returned_on_loop)

        def returned_on_loop() -> None:
            remaining[0] -= 1
            if remaining[0] == 0:
                self.guard.in_flight.release()

        for thread in running:
            thread.add_done_callback(thread_returned)


class GuardedRetriever:
    """A retriever behind its guard."""

    def __init__(self, inner: Retriever, guard: BackendGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.name = inner.name
        self.encoder = inner.encoder
        self.products = inner.products

    async def retrieve(self, query: str, top_k: int, products: Sequence[str] = ()) -> list[Passage]:
        return await self.guard.call(self.name, lambda: self.inner.retrieve(query, top_k, products))

    async def aclose(self) -> None:
        await self.inner.aclose()


class GuardedGenerator:
    """A generator behind its guard."""

    def __init__(self, inner: Generator, guard: BackendGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.name = inner.name
        self.model_id = inner.model_id
        self.limits = inner.limits
        self.tokenizer = inner.tokenizer

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation:
        return await self.guard.call(self.name, lambda: self.inner.generate(messages, params))

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        # The inner stream is created now: a backend that cannot answer at all (an adapter still
        # training) refuses here, before the caller has sent anything of its own.
        return self._guarded(self.inner.stream(messages, params))

    async def _guarded(
        self, inner: AsyncGenerator[GenerationEvent, None]
    ) -> AsyncGenerator[GenerationEvent, None]:
        call = self.guard.begin(self.name)
        loop = asyncio.get_running_loop()
        started, held_by_reader = loop.time(), 0.0
        try:
            async with aclosing(inner) as events:
                async for event in events:
                    if isinstance(event, Generation):
                        # The final event is the verdict: the caller may stop reading after it.
                        call.succeed()
                    handed = loop.time()
                    yield event
                    held_by_reader += loop.time() - handed
        except BackendTimeout as error:
            # A deadline that passed while the reader (a slow client) held the stream is not
            # the backend's: only its own time counts against its circuit.
            if loop.time() - started - held_by_reader < self.guard.deadline_s:
                call.excuse(error)
            else:
                call.fail(error)
            raise
        except BackendError as error:
            call.fail(error)
            raise
        finally:
            call.end()

    async def aclose(self) -> None:
        await self.inner.aclose()
