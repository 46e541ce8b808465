"""In-memory backends with set delays and failures, for tests, benchmarks and load tests."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from app.core.embeddings import SentenceEncoder
from app.core.tokens import Tokenizer
from app.core.types import ChatMessage, Passage, TokenUsage
from app.generators.base import (
    Generation,
    GenerationEvent,
    GenerationLimits,
    GenerationParams,
    Interval,
    TextDelta,
)

# The widest ranges the API accepts: a fake refuses nothing the request schema lets through.
FAKE_LIMITS = GenerationLimits(Interval(0.0, 2.0), Interval(0.0, 1.0), 1_000_000, 1_000_001)

FailurePlan = Callable[[int], Exception | None]
"""Given the call number (0-based), the error to raise on that call, or None to answer."""


def never_fail(_call: int) -> Exception | None:
    return None


@lru_cache(maxsize=1024)
def _words(text: str) -> frozenset[str]:
    # A fake's passages are fixed: an instant backend should not split them on every call.
    return frozenset(text.lower().split())


@dataclass
class FakeRetriever:
    """Ranks fixed passages by how many query words they contain."""

    passages: Sequence[Passage]
    delay_s: float = 0.0
    failures: FailurePlan = never_fail
    name: str = "fake"
    encoder: SentenceEncoder | None = None
    products: tuple[str, ...] = ()
    calls: int = 0
    # The last queries only, as for the generator's prompts.
    queries: deque[str] = field(default_factory=lambda: deque(maxlen=64))

    async def retrieve(self, query: str, top_k: int, products: Sequence[str] = ()) -> list[Passage]:
        call, self.calls = self.calls, self.calls + 1
        self.queries.append(query)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if (error := self.failures(call)) is not None:
            raise error
        words = _words(query)
        ranked = sorted(self.passages, key=lambda passage: -len(words & _words(passage.text)))
        return list(ranked[:top_k])

    async def aclose(self) -> None:
        return None


@dataclass
class FakeGenerator:
    """Answers with a fixed text (or one made from the prompt), word by word when streaming."""

    answer: str | Callable[[Sequence[ChatMessage]], str] = "The answer is 42."
    delay_s: float = 0.0
    failures: FailurePlan = never_fail
    name: str = "fake"
    model_id: str = "fake-model"
    finish_reason: str = "stop"
    limits: GenerationLimits = FAKE_LIMITS
    tokenizer: Tokenizer | None = None
    calls: int = 0
    # The last prompts only: a long benchmark or load test must not grow the heap with them.
    prompts: deque[list[ChatMessage]] = field(default_factory=lambda: deque(maxlen=64))

    def _text(self, messages: Sequence[ChatMessage]) -> str:
        return self.answer(messages) if callable(self.answer) else self.answer

    async def _begin(self, messages: Sequence[ChatMessage]) -> str:
        call, self.calls = self.calls, self.calls + 1
        self.prompts.append(list(messages))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if (error := self.failures(call)) is not None:
            raise error
        return self._text(messages)

    def _generation(self, messages: Sequence[ChatMessage], text: str) -> Generation:
        prompt_words = sum(len(message.content.split()) for message in messages)
        return Generation(
            text=text,
            model=self.model_id,
            usage=TokenUsage(prompt_words, len(text.split()), estimated=True),
            finish_reason=self.finish_reason,
        )

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation:
        return self._generation(messages, await self._begin(messages))

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        text = await self._begin(messages)
        for index, word in enumerate(text.split(" ")):
            yield TextDelta(word if index == 0 else " " + word)
        yield self._generation(messages, text)

    async def aclose(self) -> None:
        return None
