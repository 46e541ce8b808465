"""Builds the backends chosen in settings (one factory table per kind) and composes them,
each behind its guard, into the strategies of the table."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.context import build_context_policy, build_span_ranker
from app.core.observability import Metrics
from app.generators.base import Generator, GeneratorRole
from app.resilience.breaker import CircuitState
from app.retrievers.base import Retriever
from app.settings import Settings
from app.strategies.runner import Strategy
from app.strategies.table import STRATEGIES, StrategySpec
from app.strategies.telemetry import StrategyTelemetry
from app.strategies.templates import templates_from_settings
from app.wiring.guards import BackendGuard, GuardedGenerator, GuardedRetriever

logger = logging.getLogger(__name__)

RetrieverFactory = Callable[[Settings], Retriever]
GeneratorFactory = Callable[[Settings, GeneratorRole], Generator]


def _local_retriever(settings: Settings) -> Retriever:
    from app.retrievers.local import build_local_retriever

    return build_local_retriever(settings)


def _bedrock_kb_retriever(settings: Settings) -> Retriever:
    from app.retrievers.bedrock_kb import build_bedrock_kb_retriever

    return build_bedrock_kb_retriever(settings)


def _local_generator(settings: Settings, role: GeneratorRole) -> Generator:
    from app.generators.local import build_local_generator

    return build_local_generator(settings, role)


def _bedrock_generator(settings: Settings, role: GeneratorRole) -> Generator:
    from app.generators.bedrock import build_bedrock_generator

    return build_bedrock_generator(settings, role)


def _sagemaker_generator(settings: Settings, role: GeneratorRole) -> Generator:
    from app.generators.sagemaker import build_sagemaker_generator

    return build_sagemaker_generator(settings, role)


def _openai_generator(settings: Settings, role: GeneratorRole) -> Generator:
    from app.generators.openai import build_openai_generator

    return build_openai_generator(settings, role)


RETRIEVER_FACTORIES: dict[str, RetrieverFactory] = {
    "local": _local_retriever,
    "bedrock-kb": _bedrock_kb_retriever,
}
GENERATOR_FACTORIES: dict[str, GeneratorFactory] = {
    "local": _local_generator,
    "bedrock": _bedrock_generator,
    "sagemaker": _sagemaker_generator,
    "openai": _openai_generator,
}


@dataclass(frozen=True, slots=True)
class Backends:
    """The built backends: one retriever and two generators (the same object when shared)."""

    retriever: Retriever
    base_generator: Generator
    tuned_generator: Generator

    def generator(self, role: GeneratorRole) -> Generator:
        return self.base_generator if role == "base" else self.tuned_generator

    async def aclose(self) -> None:
        closers = [self.retriever.aclose(), self.base_generator.aclose()]
        if self.tuned_generator is not self.base_generator:
            closers.append(self.tuned_generator.aclose())
        await asyncio.gather(*closers)


@dataclass(frozen=True, slots=True)
class Composition:
    """The backends behind their guards (kept by label) and the strategies run on them."""

    backends: Backends
    guards: dict[str, BackendGuard]
    strategies: dict[str, Strategy]

    def circuit_states(self) -> dict[str, CircuitState]:
        """The state of each backend's circuit, by backend label."""
        return {label: guard.state for label, guard in self.guards.items()}

    async def aclose(self) -> None:
        await self.backends.aclose()


def compose(
    backends: Backends,
    settings: Settings,
    metrics: Metrics,
    table: Sequence[StrategySpec] = STRATEGIES,
) -> Composition:
    """Each backend wrapped in its guard once, and each strategy of the table composed from them."""
    shared = backends.base_generator is backends.tuned_generator
    retriever_guard = BackendGuard("retriever", settings, metrics)
    base_guard = BackendGuard("generator" if shared else "base", settings, metrics)
    tuned_guard = base_guard if shared else BackendGuard("tuned", settings, metrics)
    retriever = GuardedRetriever(backends.retriever, retriever_guard)
    base = GuardedGenerator(backends.base_generator, base_guard)
    generators: dict[GeneratorRole, Generator] = {
        "base": base,
        "tuned": base if shared else GuardedGenerator(backends.tuned_generator, tuned_guard),
    }
    templates = templates_from_settings(settings.prompts, table)
    observer = StrategyTelemetry(metrics, settings.log_prompts)
    # One sentence ranker for every strategy, on the retriever's own embedder when it has one;
    # each policy reads the unguarded generator's own context window and tokenizer.
    ranker = build_span_ranker(settings.context, backends.retriever.encoder)
    policies = {
        role: build_context_policy(settings.context, backends.generator(role), ranker)
        for role in generators
    }
    strategies = {
        spec.name: Strategy(
            spec,
            retriever if spec.retrieves else None,
            templates[spec.name],
            generators[spec.generator],
            observer,
            policies[spec.generator],
        )
        for spec in table
    }
    guards = {guard.label: guard for guard in (retriever_guard, base_guard, tuned_guard)}
    return Composition(backends, guards, strategies)


def build_backends(settings: Settings) -> Backends:
    """Build what settings name (blocking: loads models and indexes); run it off the event loop."""
    logger.info(
        "building backends",
        extra={
            "retriever": settings.retriever,
            "generator": settings.generator,
            "tuned_generator": settings.tuned_generator,
        },
    )
    retriever = RETRIEVER_FACTORIES[settings.retriever](settings)
    base_generator = GENERATOR_FACTORIES[settings.generator](settings, "base")
    tuned_generator = GENERATOR_FACTORIES[settings.tuned_generator](settings, "tuned")
    return Backends(retriever, base_generator, tuned_generator)
