"""Builds the retriever and the two generators chosen in settings; one factory table per kind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from app.context import build_context_policy, build_span_ranker
from app.generators.base import Generator
from app.retrievers.base import Retriever
from app.settings import Settings
from app.strategies.prompts import templates_from_settings
from app.strategies.runner import Strategy, StrategyName

logger = logging.getLogger(__name__)

GeneratorRole = Literal["base", "tuned"]
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


@dataclass(slots=True)
class Backends:
    """The built backends and the strategies composed from them."""

    retriever: Retriever
    base_generator: Generator
    tuned_generator: Generator
    strategies: dict[StrategyName, Strategy] = field(default_factory=dict)

    @classmethod
    def compose(
        cls,
        settings: Settings,
        retriever: Retriever,
        base_generator: Generator,
        tuned_generator: Generator,
    ) -> Backends:
        templates = templates_from_settings(settings.prompts)
        # One sentence ranker for every strategy, on the retriever's own embedder when it has one.
        ranker = build_span_ranker(settings.context, getattr(retriever, "encoder", None))
        base = build_context_policy(settings.context, base_generator, ranker)
        tuned = build_context_policy(settings.context, tuned_generator, ranker)
        strategies: dict[StrategyName, Strategy] = {
            "rag": Strategy("rag", retriever, templates["rag"], base_generator, base),
            "finetuned": Strategy(
                "finetuned", None, templates["finetuned"], tuned_generator, tuned
            ),
            "hybrid": Strategy("hybrid", retriever, templates["hybrid"], tuned_generator, tuned),
        }
        return cls(retriever, base_generator, tuned_generator, strategies)

    async def aclose(self) -> None:
        closers = [self.retriever.aclose(), self.base_generator.aclose()]
        if self.tuned_generator is not self.base_generator:
            closers.append(self.tuned_generator.aclose())
        await asyncio.gather(*closers)


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
    return Backends.compose(settings, retriever, base_generator, tuned_generator)
