"""A generator's context length and how its tokens are counted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from app.core.token_count import (
    MESSAGE_OVERHEAD_TOKENS,
    PROMPT_OVERHEAD_TOKENS,
    estimate_text_tokens,
)
from app.core.types import ChatMessage

TokenCounter = Callable[[str], int]
PromptTokenCounter = Callable[[Sequence[ChatMessage]], int]


@dataclass(frozen=True, slots=True)
class ContextWindow:
    """`tokens` the model holds, prompt and answer together; `count` counts a text's tokens
    (the model's own tokenizer when in-process, an estimate for remote models); `count_prompt`,
    when given, counts a whole chat prompt as the model's chat template renders it.
    `additive`: `count(a + b) == count(a) + count(b)` unless `joins(a, b)` (the estimate's rule),
    so a prompt may be counted as the sum of its pieces' counts."""

    tokens: int
    count: TokenCounter
    count_prompt: PromptTokenCounter | None = None
    exact: bool = False
    additive: bool = False

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of a chat prompt, the template's role markers included."""
        if self.count_prompt is not None:
            return self.count_prompt(messages)
        body = sum(MESSAGE_OVERHEAD_TOKENS + self.count(m.content) for m in messages)
        return PROMPT_OVERHEAD_TOKENS + body

    def memoized(self) -> ContextWindow:
        """This window counting each distinct text, or prompt, once: the prompts one request
        weighs share their system message, and often all of their text."""
        text_tokens: dict[str, int] = {}
        prompt_tokens: dict[tuple[ChatMessage, ...], int] = {}
        count_text, count_prompt = self.count, self.count_prompt

        def count(text: str) -> int:
            tokens = text_tokens.get(text)
            if tokens is None:
                tokens = text_tokens[text] = count_text(text)
            return tokens

        def count_whole(messages: Sequence[ChatMessage]) -> int:
            assert count_prompt is not None
            key = tuple(messages)
            tokens = prompt_tokens.get(key)
            if tokens is None:
                tokens = prompt_tokens[key] = count_prompt(messages)
            return tokens

        return replace(self, count=count, count_prompt=count_whole if count_prompt else None)


def estimated_window(tokens: int) -> ContextWindow:
    return ContextWindow(tokens=tokens, count=estimate_text_tokens, additive=True)
