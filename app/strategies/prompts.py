"""Prompt templates of the three strategies, built from settings, rendered into chat messages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.generators.base import ChatMessage
from app.retrievers.base import Passage
from app.settings import PromptSettings


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A system prompt and a user prompt; `{question}` and `{context}` are the only fields.

    Filling is by plain replacement, so braces elsewhere in a user's template are kept as written.
    """

    system: str
    user: str
    passage: str = "[{index}] {title} ({section}):\n{text}"

    @property
    def uses_context(self) -> bool:
        return "{context}" in self.user or "{context}" in self.system

    def render(self, question: str, passages: Sequence[Passage] = ()) -> list[ChatMessage]:
        context = format_context(self.passage, passages)
        fields = {"{question}": question, "{context}": context}
        messages = []
        if self.system.strip():
            messages.append(ChatMessage("system", _fill(self.system, fields)))
        messages.append(ChatMessage("user", _fill(self.user, fields)))
        return messages


def _fill(template: str, fields: dict[str, str]) -> str:
    # One pass over the template, so a question containing "{context}" is not expanded again.
    pattern = re.compile("|".join(re.escape(key) for key in fields))
    return pattern.sub(lambda match: fields[match.group(0)], template)


def format_context(passage_template: str, passages: Sequence[Passage]) -> str:
    """The retrieved passages as numbered blocks, in rank order."""
    blocks = [
        _fill(
            passage_template,
            {
                "{index}": str(number),
                "{title}": passage.title,
                "{section}": passage.section or "catalog",
                "{text}": passage.text,
            },
        )
        for number, passage in enumerate(passages, start=1)
    ]
    return "\n\n".join(blocks)


def templates_from_settings(prompts: PromptSettings) -> dict[str, PromptTemplate]:
    """The template of each strategy, by strategy name."""
    return {
        "rag": PromptTemplate(prompts.rag_system, prompts.rag_user, prompts.context_passage),
        "finetuned": PromptTemplate(
            prompts.finetuned_system, prompts.finetuned_user, prompts.context_passage
        ),
        "hybrid": PromptTemplate(
            prompts.hybrid_system, prompts.hybrid_user, prompts.context_passage
        ),
    }
