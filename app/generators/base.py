"""What a generator takes and returns, and the protocol every generator backend follows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]
GeneratorRole = Literal["base", "tuned"]
"""Which of the two built generators: the base model, or the fine-tuned one."""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerationParams:
    max_tokens: int
    temperature: float


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens in and out; `estimated` is true when the backend did not report them."""

    input_tokens: int
    output_tokens: int
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class Generation:
    """A finished answer."""

    text: str
    model: str
    usage: TokenUsage
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of an answer being streamed."""

    text: str


GenerationEvent = TextDelta | Generation


class Generator(Protocol):
    """Turns chat messages into an answer, whole or streamed.

    `stream` yields `TextDelta`s and ends with exactly one `Generation` holding the full text.
    Backends raise the errors of `app.errors` and nothing else for backend failures.
    """

    name: str
    model_id: str

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation: ...

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncIterator[GenerationEvent]: ...

    async def aclose(self) -> None: ...
