"""Tokens of one template's prompt for one question as the passages in it vary, summed from
cached counts of its pieces where the window's counting allows it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from app.context.prompts import (
    CONTEXT_FIELD,
    CONTEXT_SEPARATOR,
    PromptTemplate,
    format_passage,
    template_pieces,
)
from app.core.token_count import MESSAGE_OVERHEAD_TOKENS, PROMPT_OVERHEAD_TOKENS, joins
from app.core.types import ChatMessage, Passage
from app.core.window import ContextWindow, TokenCounter

# Numbered passage blocks and template text of the catalog come back request after request.
PIECE_TOKENS_CACHE = 16384
# A few templates per process (one per strategy, more in tests).
TEMPLATE_RUNS_CACHE = 64

Piece = tuple[int, str]
"""A text's tokens, and the text itself (its ends decide whether it joins its neighbours)."""


@lru_cache(maxsize=PIECE_TOKENS_CACHE)
def _text_piece(count: TokenCounter, text: str) -> Piece:
    return count(text), text


@lru_cache(maxsize=PIECE_TOKENS_CACHE)
def _block_piece(
    count: TokenCounter,
    passage_template: str,
    number: int,
    title: str,
    section: str | None,
    text: str,
) -> Piece:
    block = format_passage(passage_template, number, title, section, text)
    return count(block), block


@lru_cache(maxsize=TEMPLATE_RUNS_CACHE)
def _template_runs(
    count: TokenCounter, template: PromptTemplate
) -> tuple[tuple[tuple[Piece | None, ...], ...], ...]:
    """Each message of the template as its runs of text between contexts, each run its pieces
    with None for the question: made once per template, not once per request."""
    message_templates = [template.system] if template.has_system else []
    messages: list[tuple[tuple[Piece | None, ...], ...]] = []
    for message_template in [*message_templates, template.user]:
        runs: list[tuple[Piece | None, ...]] = []
        run: list[Piece | None] = []
        for is_field, text in template_pieces(message_template):
            if is_field and text == CONTEXT_FIELD:
                runs.append(tuple(run))
                run = []
            else:
                run.append(None if is_field else _text_piece(count, text))
        runs.append(tuple(run))
        messages.append(tuple(runs))
    return tuple(messages)


def _summed(pieces: Iterable[Piece]) -> Piece | None:
    """Tokens of the pieces written one after another, with the text's first and last
    characters standing for it; None when a word or number runs from one piece into the next."""
    tokens, first, last = 0, "", ""
    for count, text in pieces:
        if not text:
            continue
        if last and joins(last, text):
            return None
        tokens += count
        first = first or text[0]
        last = text[-1]
    return tokens, first + last


MessageRuns = tuple[tuple[Piece | None, ...], ...]
"""Each message as the runs of text between its contexts, each run summed (None: a context)."""


@lru_cache(maxsize=PIECE_TOKENS_CACHE)
def _message_runs(
    count: TokenCounter, template: PromptTemplate, question: Piece
) -> MessageRuns | None:
    """The template's messages with the question in, as runs of text between contexts summed
    once; None when the text joins across pieces and prompts are counted whole. `question` is
    its count and its first and last characters: questions alike in those share the runs."""
    messages: list[tuple[Piece | None, ...]] = []
    for message in _template_runs(count, template):
        runs: list[Piece | None] = []
        for run in message:
            summed = _summed([question if piece is None else piece for piece in run])
            if summed is None:
                return None
            runs.extend([summed, None])
        runs.pop()
        messages.append(tuple(runs))
    return tuple(messages)


class PromptTokens:
    """`tokens(passages)` is `window.prompt_tokens(template.render(question, passages))`.

    In a window whose counting is additive (the estimate), a prompt is counted as the sum of its
    pieces: template text, the question (counted once), numbered passage blocks (cached), each
    counted on its own, exact whenever no word or number spans two pieces; otherwise, and in any
    other window (a model's own tokenizer), the prompt is rendered and counted whole, each
    distinct prompt once.
    """

    def __init__(self, template: PromptTemplate, question: str, window: ContextWindow) -> None:
        self.template = template
        self.question = question
        self.window = window
        self._whole_window: ContextWindow | None = None
        self._messages: MessageRuns | None = None
        self._last: tuple[tuple[Passage, ...], int] = ((), -1)
        if window.additive and window.count_prompt is None:
            # Only its count and its end characters decide how the question adds up.
            ends = question[0] + question[-1] if question else ""
            self._messages = _message_runs(window.count, template, (window.count(question), ends))

    def render(self, passages: Sequence[Passage]) -> list[ChatMessage]:
        return self.template.render(self.question, passages)

    def tokens(self, passages: Sequence[Passage]) -> int:
        # One request weighs the prompt of its kept passages, then of the whole ones: often the
        # same objects, which a tuple compares without hashing or comparing their fields.
        key = tuple(passages)
        last_key, tokens = self._last
        if tokens < 0 or key != last_key:
            tokens = self._tokens(passages)
            self._last = key, tokens
        return tokens

    def count(self, text: str) -> int:
        return self._whole().count(text)

    def _tokens(self, passages: Sequence[Passage]) -> int:
        if self._messages is not None:
            tokens = self._summed_tokens(self._messages, passages)
            if tokens is not None:
                return tokens
        return self._whole().prompt_tokens(self.render(passages))

    def _whole(self) -> ContextWindow:
        # Made only when a prompt is counted whole: most requests never need it.
        if self._whole_window is None:
            self._whole_window = self.window.memoized()
        return self._whole_window

    def _summed_tokens(self, messages: MessageRuns, passages: Sequence[Passage]) -> int | None:
        context = self._context(passages) if self.template.uses_context else (0, "")
        if context is None:
            return None
        total = PROMPT_OVERHEAD_TOKENS
        for runs in messages:
            if len(runs) == 1:
                message = runs[0]
            else:
                message = _summed([context if run is None else run for run in runs])
            if message is None:
                return None
            total += MESSAGE_OVERHEAD_TOKENS + message[0]
        return total

    def _context(self, passages: Sequence[Passage]) -> Piece | None:
        count, passage_template = self.window.count, self.template.passage
        blocks = [
            _block_piece(count, passage_template, number, p.title, p.section, p.text)
            for number, p in enumerate(passages, start=1)
        ]
        separator = _text_piece(count, CONTEXT_SEPARATOR)
        if all(text for _, text in blocks):
            # Blocks are apart by a blank line: nothing joins, and the ends are the blocks'.
            ends = blocks[0][1][0] + blocks[-1][1][-1] if blocks else ""
            separators = separator[0] * max(0, len(blocks) - 1)
            return sum(tokens for tokens, _ in blocks) + separators, ends
        pieces: list[Piece] = []
        for block in blocks:
            if pieces:
                pieces.append(separator)
            pieces.append(block)
        return _summed(pieces)
