"""Fit a rendered prompt into the generator's context: drop the lowest-ranked passages, then trim
the last one; refuse (422) only a question that cannot fit on its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.context.selection import RankedPassage
from app.context.window import ContextWindow
from app.errors import QuestionTooLong
from app.generators.base import ChatMessage
from app.retrievers.base import Passage
from app.strategies.prompts import PromptTemplate

# A trimmed passage shorter than this is not worth its header: it is dropped instead.
MIN_TRIMMED_WORDS = 8
TRIM_MARK = " …"


@dataclass(frozen=True, slots=True)
class ContextReport:
    """What the prompt holds of what was retrieved.

    `truncated`: the generator's context length forced passages out or cut one short.
    `input_tokens_saved`: prompt tokens the whole retrieved passages would have taken beyond
    the prompt sent (selection and truncation together).
    """

    passages_retrieved: int = 0
    passages_kept: int = 0
    truncated: bool = False
    input_tokens_saved: int = 0


@dataclass(frozen=True, slots=True)
class PreparedPrompt:
    """The messages for the generator, the whole passages they quote (the sources) and a report."""

    messages: list[ChatMessage]
    sources: list[Passage]
    report: ContextReport


@dataclass(frozen=True, slots=True)
class FittedPrompt:
    messages: list[ChatMessage]
    kept: list[RankedPassage]
    truncated: bool


def _render(
    template: PromptTemplate, question: str, passages: Sequence[RankedPassage]
) -> list[ChatMessage]:
    return template.render(question, [passage for _, passage in passages])


def prompt_limit(window: ContextWindow, max_tokens: int, margin_tokens: int) -> int:
    """Tokens the prompt may take: the context length less the answer and a margin."""
    return window.tokens - max_tokens - margin_tokens


def _refuse(question: str, over_by: int, window: ContextWindow, max_tokens: int) -> None:
    question_tokens = window.count(question)
    allowed = max(0, question_tokens - over_by)
    raise QuestionTooLong(
        f"the question is {question_tokens} tokens; with max_tokens={max_tokens} this model's "
        f"context of {window.tokens} tokens leaves room for {allowed} tokens of question "
        f"(about {allowed * 3} characters): shorten the question or ask for fewer max_tokens"
    )


def _trimmed(
    template: PromptTemplate,
    question: str,
    kept: list[RankedPassage],
    candidate: RankedPassage,
    window: ContextWindow,
    limit: int,
) -> RankedPassage | None:
    """`candidate` cut to the most words that still fit after `kept`, or None."""
    rank, passage = candidate
    words = passage.text.split()
    low, high = MIN_TRIMMED_WORDS, len(words) - 1
    best: RankedPassage | None = None
    while low <= high:
        middle = (low + high) // 2
        attempt = (rank, replace(passage, text=" ".join(words[:middle]) + TRIM_MARK))
        if window.prompt_tokens(_render(template, question, [*kept, attempt])) <= limit:
            best, low = attempt, middle + 1
        else:
            high = middle - 1
    return best


def fit_prompt(
    template: PromptTemplate,
    question: str,
    passages: Sequence[RankedPassage],
    window: ContextWindow,
    max_tokens: int,
    margin_tokens: int,
) -> FittedPrompt:
    """The prompt with as many passages, best first, as the context holds."""
    limit = prompt_limit(window, max_tokens, margin_tokens)
    bare = _render(template, question, [])
    bare_tokens = window.prompt_tokens(bare)
    if bare_tokens > limit:
        _refuse(question, bare_tokens - limit, window, max_tokens)
    if not passages or not template.uses_context:
        return FittedPrompt(_render(template, question, passages), list(passages), False)
    kept = list(passages)
    messages = _render(template, question, kept)
    if window.prompt_tokens(messages) <= limit:
        return FittedPrompt(messages, kept, False)
    while kept:
        dropped = kept.pop()
        messages = _render(template, question, kept)
        if window.prompt_tokens(messages) <= limit:
            break
    trimmed = _trimmed(template, question, kept, dropped, window, limit)
    if trimmed is not None:
        kept.append(trimmed)
        messages = _render(template, question, kept)
    return FittedPrompt(messages, kept, True)
