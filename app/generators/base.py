"""What a generator takes and returns, and the protocol every generator backend follows."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from app.core.tokens import Tokenizer
from app.core.types import ChatMessage, TokenUsage

GeneratorRole = Literal["base", "tuned"]
"""Which of the two built generators: the base model, or the fine-tuned one."""


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """`top_p` None: the backend's own default; `stop`: texts that end the answer (not kept)."""

    max_tokens: int
    temperature: float
    top_p: float | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Interval:
    """A range of numbers; either end may be open."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        low = f"above {self.low:g}" if self.low_open else f"{self.low:g}"
        high = f"below {self.high:g}" if self.high_open else f"{self.high:g}"
        return f"{low} to {high}"


@dataclass(frozen=True, slots=True)
class GenerationLimits:
    """What one generator accepts: sampling ranges, longest answer, and its context window.

    `context_tokens` is prompt plus answer, in the model's tokens.
    """

    temperature: Interval
    top_p: Interval
    max_tokens: int
    context_tokens: int

    def problems(self, params: GenerationParams) -> list[str]:
        """One phrase per parameter outside these limits; empty when all fit."""
        found = []
        if params.temperature not in self.temperature:
            found.append(f"temperature must be {self.temperature} (got {params.temperature:g})")
        if params.top_p is not None and params.top_p not in self.top_p:
            found.append(f"top_p must be {self.top_p} (got {params.top_p:g})")
        longest = min(self.max_tokens, self.context_tokens - 1)
        if params.max_tokens > longest:
            found.append(f"max_tokens must be at most {longest} (got {params.max_tokens})")
        return found


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

    `stream` yields `TextDelta`s and ends with exactly one `Generation` holding the full text;
    a generator that cannot answer at all right now may raise when `stream` is called, before
    the first event.
    Backends raise the errors of `app.core.errors` and nothing else for backend failures.
    `tokenizer` is the model's own (an in-process model), or None when the service does not hold
    its vocabulary: its prompts are then counted with the estimate.
    """

    name: str
    model_id: str
    limits: GenerationLimits

    @property
    def tokenizer(self) -> Tokenizer | None: ...

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation: ...

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]: ...

    async def aclose(self) -> None: ...
