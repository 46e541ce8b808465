"""How many tokens a text or a chat prompt takes: the `Tokenizer` protocol, the one formula for
the markers a chat template adds, and a generator's `ContextWindow`.

Two tokenizers implement the protocol: `EstimatedTokenizer` (app.core.token_count) for remote
models, whose vocabulary the service does not hold, and the local model's own vocabulary and
chat template (app.generators.local_tokenizer). Each owns its caches: they go with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.core.types import ChatMessage

# A role header and an end-of-turn marker around each message, as chat templates add them.
MESSAGE_OVERHEAD_TOKENS = 4
# Begin-of-text and the assistant header that opens the answer.
PROMPT_OVERHEAD_TOKENS = 5


def templated_prompt_tokens(content_tokens: Iterable[int]) -> int:
    """Tokens of a chat prompt from its messages' content tokens, when the template itself is
    not rendered: each message's markers, and the prompt's."""
    return PROMPT_OVERHEAD_TOKENS + sum(
        MESSAGE_OVERHEAD_TOKENS + tokens for tokens in content_tokens
    )


class Tokenizer(Protocol):
    """Counts tokens as one model sees them; `exact` when the counts are the model's own."""

    @property
    def exact(self) -> bool: ...

    def count(self, text: str) -> int:
        """Tokens of `text` alone, no special tokens."""
        ...

    def count_prompt(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the whole chat prompt, as the model's chat template renders it."""
        ...


@dataclass(frozen=True, slots=True)
class ContextWindow:
    """A generator's context: `tokens` it holds (prompt and answer together), and the tokenizer
    that says how much of it a prompt takes."""

    tokens: int
    tokenizer: Tokenizer
