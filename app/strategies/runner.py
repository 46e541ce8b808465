"""The three strategies as data (retriever or none, template, generator) and one runner for all."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from app.context import ContextPolicy, ContextReport, PreparedPrompt, prepare_prompt
from app.errors import BackendError
from app.generators.base import Generation, GenerationParams, Generator, TextDelta
from app.generators.limits import check_request
from app.retrievers.base import Passage, Retriever
from app.strategies.prompts import PromptTemplate

StrategyName = Literal["rag", "finetuned", "hybrid"]
STRATEGY_NAMES: tuple[StrategyName, ...] = ("rag", "finetuned", "hybrid")


@dataclass(frozen=True, slots=True)
class Strategy:
    name: StrategyName
    retriever: Retriever | None
    template: PromptTemplate
    generator: Generator
    context: ContextPolicy | None = None


@dataclass(frozen=True, slots=True)
class StrategyQuery:
    question: str
    top_k: int
    params: GenerationParams


@dataclass(frozen=True, slots=True)
class StageTimings:
    """Milliseconds spent retrieving, generating and in all."""

    retrieve_ms: float
    generate_ms: float
    total_ms: float


@dataclass(frozen=True, slots=True)
class StrategyResult:
    strategy: StrategyName
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
    finished = time.perf_counter()
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


async def _retrieve(strategy: Strategy, query: StrategyQuery) -> list[Passage]:
    check_request(strategy.generator, query.params)  # a 422 before any backend call
    if strategy.retriever is None:
        return []
    return await strategy.retriever.retrieve(query.question, query.top_k)


async def _prepare(strategy: Strategy, query: StrategyQuery) -> PreparedPrompt:
    """Retrieve, then the prompt within the generator's context (app.context)."""
    passages = await _retrieve(strategy, query)
    return await prepare_prompt(
        strategy.context, strategy.template, query.question, passages, query.params.max_tokens
    )


async def run_strategy(strategy: Strategy, query: StrategyQuery) -> StrategyResult:
    """Retrieve (if the strategy does), fill the template, generate the whole answer."""
    started = time.perf_counter()
    prompt = await _prepare(strategy, query)
    retrieved = time.perf_counter()
    generation = await strategy.generator.generate(prompt.messages, query.params)
    return _finish(strategy, prompt, generation, started, retrieved)


async def stream_strategy(strategy: Strategy, query: StrategyQuery) -> AsyncIterator[StrategyEvent]:
    """Like `run_strategy`, as events: passages first, then text deltas, then the result."""
    started = time.perf_counter()
    prompt = await _prepare(strategy, query)
    retrieved = time.perf_counter()
    if strategy.retriever is not None:
        yield PassagesFound(prompt.sources, prompt.report)
    async for event in strategy.generator.stream(prompt.messages, query.params):
        if isinstance(event, TextDelta):
            yield event
            continue
        yield _finish(strategy, prompt, event, started, retrieved)
        return
    raise BackendError(f"{strategy.generator.name} stream ended without a final answer")
