"""Prompt templates of the strategies, built from settings, rendered into chat messages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.core.types import ChatMessage, Passage
from app.settings import PromptSettings

QUESTION_FIELD = "{question}"
CONTEXT_FIELD = "{context}"
PROMPT_FIELDS = (QUESTION_FIELD, CONTEXT_FIELD)


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A system prompt and a user prompt; `{question}` and `{context}` are the only fields.

    Filling is by plain replacement, so braces elsewhere in a user's template are kept as written.
    """

    system: str
    user: str
    passage: str = PromptSettings.model_fields["context_passage"].default

    @property
    def uses_context(self) -> bool:
        return CONTEXT_FIELD in self.user or CONTEXT_FIELD in self.system

    @property
    def has_system(self) -> bool:
        """Whether the prompt opens with a system message (a blank one is left out)."""
        return bool(self.system.strip())

    def render(self, question: str, passages: Sequence[Passage] = ()) -> list[ChatMessage]:
        context = format_context(self.passage, passages)
        fields = {QUESTION_FIELD: question, CONTEXT_FIELD: context}
        messages = []
        if self.has_system:
            messages.append(ChatMessage("system", _fill(self.system, fields)))
        messages.append(ChatMessage("user", _fill(self.user, fields)))
        return messages


def _fill(template: str, fields: dict[str, str]) -> str:
    # One pass over the template, so a question containing "{context}" is not expanded again.
    pieces = _pieces(template, tuple(fields))
    return "".join(fields[piece] if odd else piece for odd, piece in pieces)


def template_pieces(template: str) -> tuple[tuple[bool, str], ...]:
    """A prompt template as text and `{question}`/`{context}` fields (marked True), in order."""
    return _pieces(template, PROMPT_FIELDS)


@lru_cache(maxsize=64)
def _pieces(template: str, keys: tuple[str, ...]) -> tuple[tuple[bool, str], ...]:
    """The template split once into text and field names (marked True), in order."""
    pattern = re.compile("(" + "|".join(re.escape(key) for key in keys) + ")")
    return tuple((index % 2 == 1, piece) for index, piece in enumerate(pattern.split(template)))


CONTEXT_SEPARATOR = "\n\n"
PASSAGE_BLOCK_CACHE = 8192


def format_context(passage_template: str, passages: Sequence[Passage]) -> str:
    """The retrieved passages as numbered blocks, in rank order."""
    blocks = [
        format_passage(passage_template, number, passage.title, passage.section, passage.text)
        for number, passage in enumerate(passages, start=1)
    ]
    return CONTEXT_SEPARATOR.join(blocks)


# Retrieved passages are catalog chunks (or their kept sentences), the same request after request.
@lru_cache(maxsize=PASSAGE_BLOCK_CACHE)
def format_passage(
    passage_template: str, number: int, title: str, section: str | None, text: str
) -> str:
    """One numbered block of the context."""
    fields = {
        "{index}": str(number),
        "{title}": title,
        "{section}": section or "catalog",
        "{text}": text,
    }
    return _fill(passage_template, fields)
