"""The one table of strategies: every consumer (composition, prompts, routes, the playground, the
eval) reads it, so adding a strategy is one entry here plus its prompt settings."""

from __future__ import annotations

from dataclasses import dataclass

from app.generators.base import GeneratorRole


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """What a strategy is: whether it retrieves, which generator answers, with which prompt."""

    name: str
    retrieves: bool
    generator: GeneratorRole
    prompt: str
    """Prompt group: the `PromptGroup` field of that name in `PromptSettings` (FMT_PROMPTS__...)."""
    label: str
    description: str


STRATEGIES: tuple[StrategySpec, ...] = (
    StrategySpec(
        name="rag",
        retrieves=True,
        generator="base",
        prompt="rag",
        label="RAG",
        description="Retrieval-augmented generation: retrieve catalog passages, "
        "answer with the base model.",
    ),
    StrategySpec(
        name="finetuned",
        retrieves=False,
        generator="tuned",
        prompt="finetuned",
        label="Fine-tuned",
        description="The fine-tuned model answers from what it learned; no retrieval, no sources.",
    ),
    StrategySpec(
        name="hybrid",
        retrieves=True,
        generator="tuned",
        prompt="hybrid",
        label="Hybrid",
        description="Retrieve catalog passages and answer with the fine-tuned model.",
    ),
)
STRATEGY_NAMES: tuple[str, ...] = tuple(spec.name for spec in STRATEGIES)
