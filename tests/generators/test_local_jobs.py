"""The local generator's worker: queue limits, deadlines, cancellation, shutdown, done on time.

A fake llama.cpp that produces one token every few milliseconds stands in for the model, so
what is asserted is when generation stops, not what it says (the slow tests use the real one).
Tests wait on the model's events and count tokens, never measure time against a bound: on two
loaded cores 50 ms become 500.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from app.core.errors import BackendTimeout, ModelBusy
from app.core.types import ChatMessage
from app.generators.base import Generation, GenerationParams, TextDelta
from app.generators.local import LocalLlamaGenerator
from app.generators.local_jobs import QueueLimits

QUESTION = [ChatMessage("user", "Count to a hundred.")]
TOKEN_S = 0.01
# Longest a test waits for something that happens at once; it only guards against a hang.
HANG_S = 30.0
# A stopped generation ends within the token in flight when it was told to stop.
TOKENS_IN_FLIGHT = 2


class TickingLlama:
    """Stands in for llama_cpp.Llama: streams `max_tokens` tokens, one every `token_s`; `busy`
    is set while a generation runs, `stopped` once one has ended (whole or stopped)."""

    chat_format = None
    metadata: ClassVar[dict[str, str]] = {}

    def __init__(self, token_s: float = TOKEN_S) -> None:
        self.token_s = token_s
        self.started = 0
        self.tokens = 0
        self.busy = threading.Event()
        self.stopped = threading.Event()

    def n_ctx(self) -> int:
        return 2048

    def tokenize(self, text: bytes, add_bos: bool, special: bool) -> list[int]:
        return list(range(len(text.split())))

    def create_chat_completion(self, **kwargs: object) -> Iterator[dict[str, object]]:
        assert kwargs.get("stream")
        max_tokens = kwargs["max_tokens"]
        assert isinstance(max_tokens, int)
        self.started += 1

        def chunks() -> Iterator[dict[str, object]]:
            self.stopped.clear()
            self.busy.set()
            try:
                for number in range(max_tokens):
                    time.sleep(self.token_s)
                    self.tokens += 1
                    yield {"choices": [{"delta": {"content": f" {number}"}, "finish_reason": None}]}
                yield {"choices": [{"delta": {}, "finish_reason": "length"}]}
            finally:
                self.busy.clear()
                self.stopped.set()

        return chunks()


async def _event(event: threading.Event) -> None:
    """Until `event` is set (by the model's thread)."""
    assert await asyncio.to_thread(event.wait, HANG_S), "the event never came"


def _generator(
    llama: TickingLlama, timeout_s: float = 30.0, waiting: int = 8, wait_s: float = 30.0
) -> LocalLlamaGenerator:
    return LocalLlamaGenerator(llama, "fake", timeout_s, QueueLimits(waiting, wait_s))


def _params(max_tokens: int) -> GenerationParams:
    return GenerationParams(max_tokens=max_tokens, temperature=0.0)


async def test_a_whole_answer_counts_its_tokens_in_the_same_job() -> None:
    generator = _generator(TickingLlama())
    generation = await generator.generate(QUESTION, _params(5))
    assert generation.text == "0 1 2 3 4"
    assert generation.usage.output_tokens == 5
    assert generation.usage.input_tokens > 0
    await generator.aclose()


async def test_a_cancelled_request_stops_the_generation_within_a_token() -> None:
    llama = TickingLlama()
    generator = _generator(llama)
    task = asyncio.create_task(generator.generate(QUESTION, _params(100_000)))
    await _event(llama.busy)
    task.cancel()  # what a client disconnect does to the request's task
    with pytest.raises(asyncio.CancelledError):
        await task
    told = llama.tokens
    await _event(llama.stopped)
    assert llama.tokens - told <= TOKENS_IN_FLIGHT
    assert generator.worker.idle
    await generator.aclose()


async def test_an_abandoned_stream_stops_the_generation_within_a_token() -> None:
    llama = TickingLlama()
    generator = _generator(llama)
    stream = generator.stream(QUESTION, _params(100_000))
    async for event in stream:
        assert isinstance(event, TextDelta)
        break
    await stream.aclose()  # what Starlette does when the client goes away
    told = llama.tokens
    await _event(llama.stopped)
    assert llama.tokens - told <= TOKENS_IN_FLIGHT
    await generator.aclose()


@pytest.mark.parametrize("streamed", [False, True])
async def test_the_deadline_stops_a_running_generation(streamed: bool) -> None:
    llama = TickingLlama()
    generator = _generator(llama, timeout_s=0.2)
    with pytest.raises(BackendTimeout, match="FMT_GENERATION__TIMEOUT_S"):
        if streamed:
            async for _ in generator.stream(QUESTION, _params(100_000)):
                pass
        else:
            await generator.generate(QUESTION, _params(100_000))
    told = llama.tokens
    await _event(llama.stopped)
    # 100,000 tokens take over 16 minutes: only the deadline ended this one.
    assert llama.tokens - told <= TOKENS_IN_FLIGHT
    assert llama.tokens < 100_000
    await generator.aclose()


async def test_waiting_for_the_model_is_not_a_timeout_and_is_refused_after_the_queue_wait() -> None:
    llama = TickingLlama()
    generator = _generator(llama, timeout_s=60.0, wait_s=0.1)
    first = asyncio.create_task(generator.generate(QUESTION, _params(30)))  # 0.3 s at least
    await _event(llama.busy)
    with pytest.raises(ModelBusy) as refused:
        await generator.generate(QUESTION, _params(5))
    assert refused.value.status_code == 503
    assert refused.value.retry_after_s is not None and refused.value.retry_after_s >= 1
    assert (await first).usage.output_tokens == 30  # the running one is not cut short
    assert llama.started == 1  # the refused one never ran
    await generator.aclose()


async def test_a_full_queue_is_refused_at_once() -> None:
    llama = TickingLlama()
    generator = _generator(llama, waiting=2)
    running = asyncio.create_task(generator.generate(QUESTION, _params(100_000)))
    await _event(llama.busy)
    queued = [asyncio.create_task(generator.generate(QUESTION, _params(1))) for _ in range(2)]
    await asyncio.sleep(0)  # each queued task runs up to its wait for the model
    assert generator.worker.waiting == 2
    with pytest.raises(ModelBusy, match="2 requests already waiting"):
        await generator.generate(QUESTION, _params(1))
    # Refused without waiting for a place: the first generation is still the only one run.
    assert llama.busy.is_set() and llama.started == 1
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await asyncio.gather(*queued)
    await generator.aclose()


async def test_a_streams_done_is_not_delayed_by_the_next_generation() -> None:
    llama = TickingLlama()
    generator = _generator(llama)
    short = generator.stream(QUESTION, _params(3))
    first = await anext(short)
    assert isinstance(first, TextDelta)
    # Another request takes the model as soon as the short answer's job ends, and never ends.
    long = asyncio.create_task(generator.generate(QUESTION, _params(100_000)))
    final = [event async for event in short][-1]
    assert isinstance(final, Generation)
    assert final.usage.output_tokens == 3 and final.usage.input_tokens > 0
    assert not long.done()
    long.cancel()
    with pytest.raises(asyncio.CancelledError):
        await long
    await generator.aclose()


async def test_shutdown_stops_the_running_generation_without_blocking_the_loop() -> None:
    llama = TickingLlama()
    generator = _generator(llama)
    task = asyncio.create_task(generator.generate(QUESTION, _params(100_000)))
    await _event(llama.busy)
    ticked = asyncio.Event()

    async def tick() -> None:
        ticked.set()

    ticker = asyncio.create_task(tick())
    told = llama.tokens
    await generator.aclose()  # in this task: the ticker runs only if the loop is free meanwhile
    assert ticked.is_set()
    await ticker
    assert llama.stopped.is_set()
    assert llama.tokens - told <= TOKENS_IN_FLIGHT
    with pytest.raises(BaseException):  # noqa: B017 - stopped by the shutdown, however it ends
        await task


async def test_the_configured_repeat_penalty_reaches_llama_cpp() -> None:
    llama = TickingLlama(token_s=0.0)
    seen: list[object] = []
    create = llama.create_chat_completion

    def recording(**kwargs: object) -> Iterator[dict[str, object]]:
        seen.append(kwargs.get("repeat_penalty"))
        return create(**kwargs)

    llama.create_chat_completion = recording  # type: ignore[method-assign]
    generator = LocalLlamaGenerator(llama, "fake", repeat_penalty=1.05)
    await generator.generate(QUESTION, _params(2))
    assert seen == [1.05]
    await generator.aclose()
