"""Circuit breakers and in-flight limits around the built backends, with their metrics."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import Literal

from app.backends import Backends
from app.errors import BackendError, BackendUnavailable, RateLimited
from app.generators.base import (
    ChatMessage,
    Generation,
    GenerationEvent,
    GenerationParams,
    Generator,
)
from app.limits import InFlightLimit
from app.observability import Metrics, current_record
from app.retrievers.base import Passage, Retriever
from app.settings import Settings
from app.strategies import Strategy, StrategyName

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


class BackendGuard:
    """What one backend shares across strategies: its breaker and its in-flight limit."""

    def __init__(self, label: str, settings: Settings, metrics: Metrics) -> None:
        self.label = label
        self.metrics = metrics
        self.breaker = CircuitBreaker(
            label, settings.circuit.failure_threshold, settings.circuit.reset_s
        )
        self.in_flight = InFlightLimit(label, settings.limits.max_in_flight_per_backend)
        breaker = self.breaker
        metrics.circuit_state.labels(label).set_function(lambda: STATE_VALUES[breaker.state])

    def begin(self, strategy: str, stage: str, backend_name: str) -> GuardedCall:
        try:
            trial = self.breaker.admit()
        except BackendUnavailable:
            self.count_error("circuit_open")
            raise
        try:
            self.in_flight.acquire()
        except RateLimited:
            self.breaker.abandoned(trial)
            self.count_error("in_flight_limit")
            raise
        record = current_record.get()
        if record is not None:
            record.backends[self.label] = backend_name
        return GuardedCall(self, trial, strategy, stage)

    def count_error(self, kind: str) -> None:
        self.metrics.backend_errors.labels(self.label, kind).inc()
        record = current_record.get()
        if record is not None:
            record.backend_errors.append(f"{self.label}:{kind}")


class GuardedCall:
    """One call through a guard: a verdict (success or failure) at most, then `end` once."""

    def __init__(self, guard: BackendGuard, trial: bool, strategy: str, stage: str) -> None:
        self.guard = guard
        self.trial = trial
        self.strategy = strategy
        self.stage = stage
        self.started = time.perf_counter()
        self.judged = False

    def succeed(self) -> None:
        self.judged = True
        self.guard.breaker.succeeded(self.trial)

    def fail(self, error: BackendError) -> None:
        self.judged = True
        self.guard.breaker.failed(self.trial)
        self.guard.count_error(error.code)

    def end(self) -> None:
        if not self.judged:
            self.guard.breaker.abandoned(self.trial)
        self.guard.in_flight.release()
        elapsed_s = time.perf_counter() - self.started
        self.guard.metrics.stage_seconds.labels(self.strategy, self.stage).observe(elapsed_s)
        record = current_record.get()
        if record is not None:
            record.stages_ms[f"{self.strategy}.{self.stage}"] = round(elapsed_s * 1000.0, 3)


class GuardedRetriever:
    """A retriever behind a guard, as used by one strategy."""

    def __init__(self, inner: Retriever, guard: BackendGuard, strategy: str) -> None:
        self.inner = inner
        self.guard = guard
        self.strategy = strategy
        self.name = inner.name

    async def retrieve(self, query: str, top_k: int) -> list[Passage]:
        call = self.guard.begin(self.strategy, "retrieve", self.name)
        try:
            passages = await self.inner.retrieve(query, top_k)
        except BackendError as error:
            call.fail(error)
            raise
        else:
            call.succeed()
        finally:
            call.end()
        return passages

    async def aclose(self) -> None:
        await self.inner.aclose()


class GuardedGenerator:
    """A generator behind a guard, as used by one strategy; counts its tokens."""

    def __init__(
        self, inner: Generator, guard: BackendGuard, strategy: str, log_prompts: bool
    ) -> None:
        self.inner = inner
        self.guard = guard
        self.strategy = strategy
        self.log_prompts = log_prompts
        self.name = inner.name
        self.model_id = inner.model_id

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation:
        call = self._begin(messages)
        try:
            generation = await self.inner.generate(messages, params)
        except BackendError as error:
            call.fail(error)
            raise
        else:
            call.succeed()
            self._count_tokens(generation)
        finally:
            call.end()
        return generation

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncIterator[GenerationEvent]:
        call = self._begin(messages)
        events = self.inner.stream(messages, params)
        try:
            async for event in events:
                if isinstance(event, Generation):
                    # The final event is the verdict: the caller may stop reading after it.
                    call.succeed()
                    self._count_tokens(event)
                yield event
        except BackendError as error:
            call.fail(error)
            raise
        finally:
            call.end()
            closer = getattr(events, "aclose", None)
            if closer is not None:
                await closer()

    def _begin(self, messages: Sequence[ChatMessage]) -> GuardedCall:
        call = self.guard.begin(self.strategy, "generate", self.name)
        record = current_record.get()
        if self.log_prompts and record is not None:
            record.prompts.extend(f"{message.role}: {message.content}" for message in messages)
        return call

    def _count_tokens(self, generation: Generation) -> None:
        usage = generation.usage
        self.guard.metrics.tokens.labels(self.strategy, "input").inc(usage.input_tokens)
        self.guard.metrics.tokens.labels(self.strategy, "output").inc(usage.output_tokens)
        record = current_record.get()
        if record is not None:
            record.tokens["input"] = record.tokens.get("input", 0) + usage.input_tokens
            record.tokens["output"] = record.tokens.get("output", 0) + usage.output_tokens

    async def aclose(self) -> None:
        await self.inner.aclose()


def guard_backends(backends: Backends, settings: Settings, metrics: Metrics) -> Backends:
    """The same backends, each strategy calling them through a shared breaker and limit."""
    shared = backends.base_generator is backends.tuned_generator
    guards = {
        "retriever": BackendGuard("retriever", settings, metrics),
        "base": BackendGuard("generator" if shared else "base", settings, metrics),
    }
    guards["tuned"] = guards["base"] if shared else BackendGuard("tuned", settings, metrics)
    strategies: dict[StrategyName, Strategy] = {}
    for name, strategy in backends.strategies.items():
        role = "base" if strategy.generator is backends.base_generator else "tuned"
        retriever = strategy.retriever
        strategies[name] = replace(
            strategy,
            retriever=GuardedRetriever(retriever, guards["retriever"], name) if retriever else None,
            generator=GuardedGenerator(
                strategy.generator, guards[role], name, settings.log_prompts
            ),
        )
    return Backends(
        backends.retriever,
        backends.base_generator,
        backends.tuned_generator,
        strategies,
    )


def circuit_states(backends: Backends) -> dict[str, CircuitState]:
    """The state of each backend's circuit, by backend label."""
    states: dict[str, CircuitState] = {}
    for strategy in backends.strategies.values():
        for part in (strategy.retriever, strategy.generator):
            if isinstance(part, GuardedRetriever | GuardedGenerator):
                states[part.guard.label] = part.guard.breaker.state
    return states
