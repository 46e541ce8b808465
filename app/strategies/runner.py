"""The one runner of every strategy: retrieve (if it does), fill its template, generate."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Protocol

from app.context import ContextPolicy, ContextReport, PreparedPrompt, prepare_prompt
from app.context.prompts import PromptTemplate
from app.core.errors import BackendError, EmptyAnswer
from app.core.types import ChatMessage, Passage
from app.generators.base import Generation, GenerationParams, Generator, TextDelta
from app.generators.limits import check_request
from app.retrievers.base import Retriever
from app.strategies.follow_up import NO_FOLLOW_UPS, FollowUps
from app.strategies.table import StrategySpec


class StrategyObserver(Protocol):
    """What a strategy reports while it runs: stage times, the prompt, the finished generation."""

    def stage(self, strategy: str, stage: str, seconds: float) -> None: ...

    def prompt(self, strategy: str, messages: Sequence[ChatMessage]) -> None: ...

    def generated(self, strategy: str, generation: Generation) -> None: ...


class _Unobserved:
    def stage(self, strategy: str, stage: str, seconds: float) -> None:
        return None

    def prompt(self, strategy: str, messages: Sequence[ChatMessage]) -> None:
        return None

    def generated(self, strategy: str, generation: Generation) -> None:
        return None


UNOBSERVED: StrategyObserver = _Unobserved()


@dataclass(frozen=True, slots=True)
class Strategy:
    """A strategy of the table with the backends it runs on: retriever or none, template,
    generator, and the context policy that fits retrieved text into the generator's window."""

    spec: StrategySpec
    retriever: Retriever | None
    template: PromptTemplate
    generator: Generator
    observer: StrategyObserver = UNOBSERVED
    context: ContextPolicy | None = None
    follow_ups: FollowUps = NO_FOLLOW_UPS
    history_turns: int = 0
    """Earlier turns of a conversation the generator sees at most (FMT_CONVERSATION__...)."""

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class StrategyQuery:
    """A conversation's last user turn (`question`), the turns before it, and the overrides.

    A single question is a conversation of one turn: `history` is empty.
    """

    question: str
    top_k: int
    params: GenerationParams
    history: tuple[ChatMessage, ...] = ()


@dataclass(frozen=True, slots=True)
class StageTimings:
    """Milliseconds spent retrieving, generating and in all."""

    retrieve_ms: float
    generate_ms: float
    total_ms: float


@dataclass(frozen=True, slots=True)
class StrategyResult:
    strategy: str
    passages: list[Passage]
    generation: Generation
    timings: StageTimings
    context: ContextReport = field(default_factory=ContextReport)


@dataclass(frozen=True, slots=True)
class PassagesFound:
    """Streamed first by strategies that retrieve: the passages the prompt quotes."""

    passages: list[Passage]
    context: ContextReport = field(default_factory=ContextReport)


StrategyEvent = PassagesFound | TextDelta | StrategyResult


def _finish(
    strategy: Strategy,
    prompt: PreparedPrompt,
    generation: Generation,
    started: float,
    retrieved: float,
) -> StrategyResult:
    # An answer cut by `max_tokens` before any text is what the caller asked for, not a fault.
    if not generation.text.strip() and generation.finish_reason != "length":
        raise EmptyAnswer(
            f"{strategy.generator.name} gave no text (finish_reason {generation.finish_reason}):"
            " ask again, or rephrase the question"
        )
    finished = time.perf_counter()
    strategy.observer.generated(strategy.name, generation)
    return StrategyResult(
        strategy=strategy.name,
        passages=prompt.sources,
        context=prompt.report,
        generation=generation,
        timings=StageTimings(
            retrieve_ms=(retrieved - started) * 1000.0,
            generate_ms=(finished - retrieved) * 1000.0,
            total_ms=(finished - started) * 1000.0,
        ),
    )


async def _retrieve(strategy: Strategy, query: StrategyQuery) -> tuple[str, list[Passage]]:
    """What was searched for (the follow-up resolved against the conversation), and found."""
    if strategy.retriever is None:
        return query.question, []
    started = time.perf_counter()
    try:
        search = await strategy.follow_ups.search_query(query.question, query.history)
        found = await strategy.retriever.retrieve(search.text, query.top_k, search.products)
        return search.text, found
    finally:
        strategy.observer.stage(strategy.name, "retrieve", time.perf_counter() - started)


async def _prepare(strategy: Strategy, query: StrategyQuery) -> PreparedPrompt:
    """Retrieve, then the prompt within the generator's context (app.context)."""
    check_request(strategy.generator, query.params)  # a 422 before any backend call
    searched, passages = await _retrieve(strategy, query)
    prompt = await prepare_prompt(
        strategy.context,
        strategy.template,
        query.question,
        passages,
        query.params.max_tokens,
        query.history,
        strategy.history_turns,
        focus=searched,
    )
    strategy.observer.prompt(strategy.name, prompt.messages)
    return prompt


async def run_strategy(strategy: Strategy, query: StrategyQuery) -> StrategyResult:
    """Retrieve (if the strategy does), fill the template, generate the whole answer."""
    started = time.perf_counter()
    prompt = await _prepare(strategy, query)
    retrieved = time.perf_counter()
    try:
        generation = await strategy.generator.generate(prompt.messages, query.params)
    finally:
        strategy.observer.stage(strategy.name, "generate", time.perf_counter() - retrieved)
    return _finish(strategy, prompt, generation, started, retrieved)


async def stream_strategy(
    strategy: Strategy, query: StrategyQuery
) -> AsyncGenerator[StrategyEvent, None]:
    """Like `run_strategy`, as events: passages first, then text deltas, then the result."""
    started = time.perf_counter()
    prompt = await _prepare(strategy, query)
    retrieved = time.perf_counter()
    # Asked before the passages go out: a generator that cannot answer now refuses here, and the
    # client gets that error instead of a stream that has begun.
    stream = strategy.generator.stream(prompt.messages, query.params)
    if strategy.retriever is not None:
        yield PassagesFound(prompt.sources, prompt.report)
    generation: Generation | None = None
    try:
        # Closed here, not when collected: its in-flight slot and model thread are freed now.
        async with aclosing(stream) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    yield event
                    continue
                generation = event
                break
    finally:
        strategy.observer.stage(strategy.name, "generate", time.perf_counter() - retrieved)
    if generation is None:
        raise BackendError(f"{strategy.generator.name} stream ended without a final answer")
    yield _finish(strategy, prompt, generation, started, retrieved)
