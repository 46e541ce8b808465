"""The context policy of one generator: selection settings, its context window, and `prepare`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from app.context.fitting import ContextReport, PreparedPrompt, fit_counted
from app.context.prompt_tokens import PromptTokens
from app.context.prompts import PromptTemplate
from app.context.ranking import DenseScorer, SpanRanker
from app.context.selection import RankedPassage, select_sentences
from app.core.embeddings import SentenceEncoder
from app.core.token_count import estimated_window
from app.core.tokens import ContextWindow, Tokenizer
from app.core.types import Passage
from app.settings import ContextSettings


@dataclass(frozen=True, slots=True)
class ContextPolicy:
    """How one strategy's prompt is built from what was retrieved; `ranker` None: no selection."""

    window: ContextWindow
    ranker: SpanRanker | None
    budget_tokens: int
    margin_tokens: int
    min_relative_score: float = 0.0
    one_product: bool = False

    async def _select(
        self, question: str, passages: Sequence[Passage], passage_template: str
    ) -> list[RankedPassage]:
        if self.ranker is None:
            return list(enumerate(passages))
        arguments = (
            question,
            passages,
            self.ranker,
            self.budget_tokens,
            self.window.tokenizer.count,
            self.min_relative_score,
            self.one_product,
            passage_template,
        )
        if self.ranker.dense is None:  # word counting only: cheaper than a thread hop
            return select_sentences(*arguments)
        # Embedding sentences is blocking; the encoder's own lock serializes its callers.
        return await asyncio.to_thread(select_sentences, *arguments)

    async def prepare(
        self,
        template: PromptTemplate,
        question: str,
        passages: Sequence[Passage],
        max_tokens: int,
    ) -> PreparedPrompt:
        """Messages within the context window, the whole passages they quote, and a report."""
        selected = (
            await self._select(question, passages, template.passage)
            if template.uses_context
            else []
        )
        prompt = PromptTokens(template, question, self.window)
        fitted = fit_counted(prompt, selected, max_tokens, self.margin_tokens)
        sources = [passages[rank] for rank, _ in fitted.kept]
        everything = prompt.tokens(passages)
        report = ContextReport(
            passages_retrieved=len(passages),
            passages_kept=len(sources),
            truncated=fitted.truncated,
            input_tokens_saved=max(0, everything - fitted.tokens),
        )
        return PreparedPrompt(fitted.messages, sources, report)


async def prepare_prompt(
    policy: ContextPolicy | None,
    template: PromptTemplate,
    question: str,
    passages: Sequence[Passage],
    max_tokens: int,
) -> PreparedPrompt:
    """The strategy runner's one call: the policy's prompt, or the template filled as it is."""
    if policy is None:
        messages = template.render(question, passages)
        return PreparedPrompt(messages, list(passages), ContextReport(len(passages), len(passages)))
    return await policy.prepare(template, question, passages, max_tokens)


class ContextLimits(Protocol):
    @property
    def context_tokens(self) -> int: ...


class SizedGenerator(Protocol):
    """What the policy reads of a generator: the context length its limits declare, and its
    own tokenizer when it has one (an in-process model)."""

    @property
    def limits(self) -> ContextLimits: ...

    @property
    def tokenizer(self) -> Tokenizer | None: ...


def generator_window(generator: SizedGenerator) -> ContextWindow:
    """The generator's context length (FMT_BEDROCK__CONTEXT_TOKENS, ..., or the local model's
    n_ctx), counted by its own tokenizer, or with the estimate when it declares none."""
    if generator.tokenizer is None:
        return estimated_window(generator.limits.context_tokens)
    return ContextWindow(generator.limits.context_tokens, generator.tokenizer)


def build_span_ranker(
    settings: ContextSettings, encoder: SentenceEncoder | None
) -> SpanRanker | None:
    """The sentence ranker, or None when selection is off; `encoder` is the local retriever's
    (shared, never loaded twice); without one (Bedrock KB) sentences are ranked by words only."""
    if not settings.selection:
        return None
    dense = DenseScorer(encoder) if encoder is not None else None
    return SpanRanker(dense, settings.dense_weight, settings.lexical_weight)


def build_context_policy(
    settings: ContextSettings, generator: SizedGenerator, ranker: SpanRanker | None
) -> ContextPolicy:
    """The policy of the strategies that use `generator`."""
    return ContextPolicy(
        window=generator_window(generator),
        ranker=ranker,
        budget_tokens=settings.budget_tokens,
        margin_tokens=settings.margin_tokens,
        min_relative_score=settings.min_relative_score,
        one_product=settings.one_product,
    )
