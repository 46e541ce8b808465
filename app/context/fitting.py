"""Fit a rendered prompt into the generator's context: drop the lowest-ranked passages, then trim
the last one; refuse (422) only a question that cannot fit on its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.context.prompt_tokens import PromptTokens
from app.context.prompts import PromptTemplate
from app.context.selection import RankedPassage
from app.core.errors import QuestionTooLong
from app.core.tokens import ContextWindow
from app.core.types import ChatMessage, Passage

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
    tokens: int


def _passages(ranked: Sequence[RankedPassage]) -> list[Passage]:
    return [passage for _, passage in ranked]


def prompt_limit(window: ContextWindow, max_tokens: int, margin_tokens: int) -> int:
    """Tokens the prompt may take: the context length less the answer and a margin."""
    return window.tokens - max_tokens - margin_tokens


def _refuse(prompt: PromptTokens, over_by: int, max_tokens: int) -> None:
    question_tokens = prompt.count(prompt.question)
    allowed = max(0, question_tokens - over_by)
    raise QuestionTooLong(
        f"the question is {question_tokens} tokens; with max_tokens={max_tokens} this model's "
        f"context of {prompt.window.tokens} tokens leaves room for {allowed} tokens of question "
        f"(about {allowed * 3} characters): shorten the question or ask for fewer max_tokens"
    )


def _trimmed(
    prompt: PromptTokens, kept: list[RankedPassage], candidate: RankedPassage, limit: int
) -> tuple[RankedPassage, int] | None:
    """`candidate` cut to the most words that still fit after `kept`, and the prompt's tokens
    with it, or None."""
    rank, passage = candidate
    words = passage.text.split()
    low, high = MIN_TRIMMED_WORDS, len(words) - 1
    best: tuple[RankedPassage, int] | None = None
    while low <= high:
        middle = (low + high) // 2
        attempt = (rank, replace(passage, text=" ".join(words[:middle]) + TRIM_MARK))
        tokens = prompt.tokens(_passages([*kept, attempt]))
        if tokens <= limit:
            best, low = (attempt, tokens), middle + 1
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
    prompt = PromptTokens(template, question, window)
    return fit_counted(prompt, passages, max_tokens, margin_tokens)


def fit_counted(
    prompt: PromptTokens,
    passages: Sequence[RankedPassage],
    max_tokens: int,
    margin_tokens: int,
) -> FittedPrompt:
    """`fit_prompt` with the prompt's question, template and window in `prompt`, whose counts
    the caller may go on using."""
    limit = prompt_limit(prompt.window, max_tokens, margin_tokens)
    kept = list(passages)
    tokens = prompt.tokens(_passages(kept))
    if tokens <= limit:  # the usual case: then the question alone fits too
        return FittedPrompt(prompt.render(_passages(kept)), kept, False, tokens)
    bare_tokens = prompt.tokens([])
    if bare_tokens > limit:
        _refuse(prompt, bare_tokens - limit, max_tokens)
    while kept:
        dropped = kept.pop()
        tokens = prompt.tokens(_passages(kept))
        if tokens <= limit:
            break
    trimmed = _trimmed(prompt, kept, dropped, limit)
    if trimmed is not None:
        kept.append(trimmed[0])
        tokens = trimmed[1]
    return FittedPrompt(prompt.render(_passages(kept)), kept, True, tokens)
