"""Tokens of one template's prompt for one question as the passages in it vary: each prompt
rendered and counted whole by the window's tokenizer, once per request."""

from __future__ import annotations

from collections.abc import Sequence

from app.context.prompts import PromptTemplate
from app.core.tokens import ContextWindow
from app.core.types import ChatMessage, Passage


class PromptTokens:
    """`tokens(passages)` is `window.tokenizer.count_prompt(template.render(question, passages))`,
    each distinct list of passages counted once (fitting weighs the same prompt more than once).
    Made per request: its memo goes with it."""

    def __init__(self, template: PromptTemplate, question: str, window: ContextWindow) -> None:
        self.template = template
        self.question = question
        self.window = window
        self._counted: dict[tuple[Passage, ...], int] = {}

    def render(self, passages: Sequence[Passage]) -> list[ChatMessage]:
        return self.template.render(self.question, passages)

    def tokens(self, passages: Sequence[Passage]) -> int:
        key = tuple(passages)
        tokens = self._counted.get(key)
        if tokens is None:
            tokens = self.window.tokenizer.count_prompt(self.render(passages))
            self._counted[key] = tokens
        return tokens

    def count(self, text: str) -> int:
        return self.window.tokenizer.count(text)
