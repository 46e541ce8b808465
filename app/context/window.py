"""A generator's context length and how its tokens are counted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.backends.token_count import (
    MESSAGE_OVERHEAD_TOKENS,
    PROMPT_OVERHEAD_TOKENS,
    estimate_text_tokens,
)
from app.generators.base import ChatMessage

TokenCounter = Callable[[str], int]
PromptTokenCounter = Callable[[Sequence[ChatMessage]], int]


@dataclass(frozen=True, slots=True)
class ContextWindow:
    """`tokens` the model holds, prompt and answer together; `count` counts a text's tokens
    (the model's own tokenizer when in-process, an estimate for remote models); `count_prompt`,
    when given, counts a whole chat prompt as the model's chat template renders it."""

    tokens: int
    count: TokenCounter
    count_prompt: PromptTokenCounter | None = None
    exact: bool = False

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of a chat prompt, the template's role markers included."""
        if self.count_prompt is not None:
            return self.count_prompt(messages)
        body = sum(MESSAGE_OVERHEAD_TOKENS + self.count(m.content) for m in messages)
        return PROMPT_OVERHEAD_TOKENS + body


def estimated_window(tokens: int) -> ContextWindow:
    return ContextWindow(tokens=tokens, count=estimate_text_tokens)
