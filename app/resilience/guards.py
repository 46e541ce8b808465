"""Guards around the built backends: a breaker and an in-flight limit per backend, with metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from app.backends.compose import Backends
from app.errors import BackendError, BackendUnavailable, RateLimited
from app.generators.base import (
    ChatMessage,
    Generation,
    GenerationEvent,
    GenerationParams,
    Generator,
)
from app.observability import Metrics, current_record
from app.resilience.breaker import STATE_VALUES, CircuitBreaker, CircuitState
from app.resilience.in_flight import InFlightLimit
from app.retrievers.base import Passage, Retriever
from app.settings import Settings
from app.strategies.runner import Strategy, StrategyName


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
        self.limits = inner.limits

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
