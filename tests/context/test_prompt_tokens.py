"""Fitting renders the prompt and counts it with the generator's tokenizer, whose caches go
with it: a closed local model is not kept alive by counts of its prompts."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Sequence

from app.context.policy import build_context_policy
from app.context.prompt_tokens import PromptTokens
from app.context.prompts import PromptTemplate
from app.core.token_count import EstimatedTokenizer, estimate_prompt_tokens, estimated_window
from app.core.tokens import ContextWindow, templated_prompt_tokens
from app.core.types import ChatMessage, Passage
from app.generators.local import LocalLlamaGenerator
from app.settings import ContextSettings
from tests.generators.test_local_jobs import TickingLlama

TEMPLATE = PromptTemplate(
    "Answer from the excerpts.", "Excerpts:\n{context}\n\nQuestion: {question}"
)
PASSAGES = [
    Passage(f"p{rank}", "Kestrel KX-420", f"The press holds {rank}00 bar.", 1.0, f"c#{rank}")
    for rank in range(3)
]


class RecordingTokenizer:
    """Counts a prompt as its characters, and keeps every prompt it was asked to count."""

    exact = True

    def __init__(self) -> None:
        self.prompts: list[list[ChatMessage]] = []

    def count(self, text: str) -> int:
        return len(text)

    def count_prompt(self, messages: Sequence[ChatMessage]) -> int:
        self.prompts.append(list(messages))
        return sum(len(m.content) for m in messages)


def test_a_prompt_is_rendered_and_counted_whole_once_per_request() -> None:
    tokenizer = RecordingTokenizer()
    prompt = PromptTokens(TEMPLATE, "What pressure?", ContextWindow(4096, tokenizer))

    assert prompt.tokens(PASSAGES) == prompt.tokens(list(PASSAGES))
    assert prompt.tokens([]) < prompt.tokens(PASSAGES)
    assert tokenizer.prompts == [
        TEMPLATE.render("What pressure?", PASSAGES),
        TEMPLATE.render("What pressure?", []),
    ]


def test_the_estimate_counts_a_prompt_by_the_one_overhead_formula() -> None:
    messages = TEMPLATE.render("What pressure does the KX-420 hold?", PASSAGES)
    tokenizer = EstimatedTokenizer()
    content = [tokenizer.count(m.content) for m in messages]

    assert tokenizer.count_prompt(messages) == templated_prompt_tokens(content)
    assert tokenizer.count_prompt(messages) == estimate_prompt_tokens(messages)
    assert estimated_window(2048).tokenizer.exact is False


async def test_a_closed_local_model_is_released_with_its_tokenizer_and_policy() -> None:
    llama = TickingLlama(token_s=0.0)
    released = weakref.ref(llama)
    generator = LocalLlamaGenerator(llama, "fake")
    policy = build_context_policy(ContextSettings(), generator, ranker=None)
    prepared = await policy.prepare(TEMPLATE, "What pressure?", PASSAGES, max_tokens=64)
    assert prepared.report.passages_kept == 3

    await generator.aclose()
    del llama, generator, policy
    gc.collect()

    assert released() is None
