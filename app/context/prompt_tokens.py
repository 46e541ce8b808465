"""Tokens of one template's prompt for one question as the passages in it vary: each prompt
rendered and counted whole by the window's tokenizer, once per request."""

from __future__ import annotations

from collections.abc import Sequence

from app.context.prompts import PromptTemplate
from app.core.tokens import ContextWindow
from app.core.types import ChatMessage, Passage


class PromptTokens:
    """`tokens(passages)` is `window.tokenizer.count_prompt(render(passages))`, each distinct
    list of passages rendered and counted once (fitting weighs a prompt, then sends it). Made
    per request: its memo goes with it."""

    def __init__(self, template: PromptTemplate, question: str, window: ContextWindow) -> None:
        self.template = template
        self.question = question
        self.window = window
        self._prompts: dict[tuple[Passage, ...], tuple[list[ChatMessage], int]] = {}

    def _prompt(self, passages: Sequence[Passage]) -> tuple[list[ChatMessage], int]:
        key = tuple(passages)
        prompt = self._prompts.get(key)
        if prompt is None:
            messages = self.template.render(self.question, passages)
            prompt = self._prompts[key] = messages, self.window.tokenizer.count_prompt(messages)
        return prompt

    def render(self, passages: Sequence[Passage]) -> list[ChatMessage]:
        return list(self._prompt(passages)[0])

    def tokens(self, passages: Sequence[Passage]) -> int:
        return self._prompt(passages)[1]

    def count(self, text: str) -> int:
        return self.window.tokenizer.count(text)
