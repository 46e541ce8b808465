"""The token estimate for models whose vocabulary the service does not hold (Bedrock, SageMaker,
OpenAI-compatible servers): counts marked `estimated=True`.

The rules follow BPE vocabularies of the Llama 3 kind: common short words are one token, longer
words about one more per four letters, digits go in groups of up to three, each symbol is one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from app.core.tokens import ContextWindow, templated_prompt_tokens
from app.core.types import ChatMessage, TokenUsage

_PIECES = re.compile(r"[^\W\d_]+|\d{1,3}|[^\s\w]|_")
# The same pieces in ASCII text, found about twice as fast without the Unicode classes.
_ASCII_PIECES = re.compile(r"[A-Za-z]+|[0-9]{1,3}|[^\s\w]|_")
SHORT_WORD_LETTERS = 6
LETTERS_PER_EXTRA_TOKEN = 4
# Words of the catalog and of the prompt templates repeat: each is weighed once per tokenizer.
PIECE_CACHE = 65536
# Catalog sentences, passage headers and system prompts come back request after request.
TEXT_CACHE = 16384


def _piece_tokens(piece: str) -> int:
    if not piece[0].isalpha():
        return 1
    if not piece.isascii():
        return (len(piece) + 1) // 2
    extra_letters = max(0, len(piece) - SHORT_WORD_LETTERS)
    return 1 + (extra_letters + LETTERS_PER_EXTRA_TOKEN - 1) // LETTERS_PER_EXTRA_TOKEN


def _pieces(text: str) -> list[str]:
    return (_ASCII_PIECES if text.isascii() else _PIECES).findall(text)


def estimate_text_tokens(text: str) -> int:
    """Tokens in `text`, counted piece by piece."""
    return sum(map(_piece_tokens, _pieces(text)))


def estimate_prompt_tokens(messages: Sequence[ChatMessage]) -> int:
    """Tokens of a chat prompt, template markers included."""
    return templated_prompt_tokens(estimate_text_tokens(m.content) for m in messages)


def estimated_usage(messages: Sequence[ChatMessage], answer: str) -> TokenUsage:
    return TokenUsage(
        input_tokens=estimate_prompt_tokens(messages),
        output_tokens=estimate_text_tokens(answer),
        estimated=True,
    )


class EstimatedTokenizer:
    """The estimate as a `Tokenizer`, with its own caches of words and texts (bounded; they go
    with the tokenizer)."""

    exact = False

    def __init__(self, text_cache: int = TEXT_CACHE, piece_cache: int = PIECE_CACHE) -> None:
        piece_tokens = lru_cache(maxsize=piece_cache)(_piece_tokens)

        def count(text: str) -> int:
            # A cached lookup per piece, summed without a Python loop, halves the time.
            return sum(map(piece_tokens, _pieces(text)))

        self._count = lru_cache(maxsize=text_cache)(count)

    def count(self, text: str) -> int:
        return self._count(text)

    def count_prompt(self, messages: Sequence[ChatMessage]) -> int:
        return templated_prompt_tokens(self._count(m.content) for m in messages)


def estimated_window(tokens: int) -> ContextWindow:
    """A context of `tokens` counted with the estimate: a remote model's."""
    return ContextWindow(tokens, EstimatedTokenizer())
