"""The local generator's streaming loop stops a repeating answer and hands llama.cpp its stops."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from app.core.types import ChatMessage
from app.generators.base import GenerationParams, TextDelta
from app.generators.local import LocalLlamaGenerator
from app.generators.local_jobs import QueueLimits

SENTENCE = ["The", " oil", " is", " changed", " every", " 4,000", " hours", "."]


class LoopingLlama:
    """Stands in for llama_cpp.Llama: says one sentence over and over, token by token."""

    chat_format = None
    metadata: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        self.tokens = 0
        self.stop: object = None

    def n_ctx(self) -> int:
        return 2048

    def tokenize(self, text: bytes, add_bos: bool, special: bool) -> list[int]:
        return list(range(len(text.split())))

    def create_chat_completion(self, **kwargs: object) -> Iterator[dict[str, object]]:
        self.stop = kwargs.get("stop")
        max_tokens = kwargs["max_tokens"]
        assert isinstance(max_tokens, int)

        def chunks() -> Iterator[dict[str, object]]:
            for number in range(max_tokens):
                self.tokens += 1
                token = SENTENCE[number % len(SENTENCE)]
                text = token if number % len(SENTENCE) or not number else " " + token
                yield {"choices": [{"delta": {"content": text}, "finish_reason": None}]}
            yield {"choices": [{"delta": {}, "finish_reason": "length"}]}

        return chunks()


def _generator(llama: LoopingLlama) -> LocalLlamaGenerator:
    stops = ["<|im_end|>", "Question:"]
    return LocalLlamaGenerator(llama, "fake", 30.0, QueueLimits(8, 30.0), 1.0, stops)


async def test_a_repeating_answer_stops_at_the_repeat_with_finish_reason_repetition() -> None:
    llama = LoopingLlama()
    generator = _generator(llama)
    generation = await generator.generate([ChatMessage("user", "Oil?")], GenerationParams(256, 0))

    assert generation.text == "The oil is changed every 4,000 hours."
    assert generation.finish_reason == "repetition"
    assert llama.tokens < 3 * len(SENTENCE)  # stopped, not run to max_tokens
    assert llama.stop == ["<|im_end|>", "Question:"]
    await generator.aclose()


async def test_a_streamed_repeating_answer_ends_with_the_cut_text() -> None:
    generator = _generator(LoopingLlama())
    events = [
        event
        async for event in generator.stream([ChatMessage("user", "Oil?")], GenerationParams(256, 0))
    ]

    final = events[-1]
    assert not isinstance(final, TextDelta)
    assert final.text == "The oil is changed every 4,000 hours."
    assert final.finish_reason == "repetition"
    await generator.aclose()
