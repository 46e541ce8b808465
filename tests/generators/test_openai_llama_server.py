"""The `openai` generator against a real OpenAI-compatible server: llama-cpp-python's own,
serving the shipped SmolLM2 (not only respx): answers, streaming, usage, errors, timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.core.errors import BackendTimeout, BackendUnavailable, InputRejected
from app.core.types import ChatMessage
from app.generators.base import Generation, GenerationParams, TextDelta
from app.generators.openai import OpenAIGenerator
from app.resilience.retry import RetryPolicy
from tests.llama_server import llama_server
from tests.uvicorn_process import free_port

pytestmark = pytest.mark.slow

MESSAGES = [
    ChatMessage("system", "Answer from the catalog in one short sentence."),
    ChatMessage("user", "What does fault code E-21 mean on the KX-420 press?"),
]
SHORT = GenerationParams(max_tokens=6, temperature=0.0)
POLICY = RetryPolicy(max_attempts=2, base_delay_s=0.0, max_delay_s=0.0, deadline_s=120.0)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llama_server(tmp_path_factory.mktemp("llama") / "server.log") as url:
        yield url


async def generator_for(url: str, policy: RetryPolicy = POLICY) -> OpenAIGenerator:
    return OpenAIGenerator(httpx.AsyncClient(base_url=url, timeout=120), "smollm2", policy)


@pytest.fixture
async def generator(server_url: str) -> AsyncIterator[OpenAIGenerator]:
    generator = await generator_for(server_url)
    yield generator
    await generator.aclose()


async def test_answer_with_the_servers_token_usage(generator: OpenAIGenerator) -> None:
    generation = await generator.generate(MESSAGES, SHORT)
    assert generation.text.strip()
    assert not generation.usage.estimated  # the server counted, with the model's tokenizer
    assert 0 < generation.usage.output_tokens <= SHORT.max_tokens
    assert generation.usage.input_tokens > 20  # both messages and the chat template
    assert generation.finish_reason == "length"


async def test_streamed_answer_is_the_same_answer(generator: OpenAIGenerator) -> None:
    whole = await generator.generate(MESSAGES, SHORT)
    events = [event async for event in generator.stream(MESSAGES, SHORT)]
    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    final = events[-1]
    assert isinstance(final, Generation)
    assert len(deltas) > 1, "the answer came in one piece, not streamed"
    assert "".join(deltas) == final.text == whole.text  # greedy decoding: same text
    assert final.finish_reason == "length"
    # llama.cpp's server sends no usage chunk when streaming: the count is estimated, and says so.
    assert final.usage.output_tokens > 0 and final.usage.estimated


async def test_prompt_over_the_context_is_a_client_error_not_retried(
    generator: OpenAIGenerator,
) -> None:
    too_long = [ChatMessage("user", "pressure " * 3000)]
    with pytest.raises(InputRejected) as raised:
        await generator.generate(too_long, SHORT)
    assert raised.value.status_code == 422  # the client's to fix; never counted against a circuit
    assert "context" not in raised.value.message  # the server's own words stay in the log
    assert "context" in raised.value.log_text()


async def test_deadline_is_a_timeout(server_url: str) -> None:
    hurried = RetryPolicy(max_attempts=2, base_delay_s=0.0, max_delay_s=0.0, deadline_s=0.05)
    generator = await generator_for(server_url, hurried)
    long_answer = GenerationParams(max_tokens=200, temperature=0.0)
    try:
        with pytest.raises(BackendTimeout):
            await generator.generate(MESSAGES, long_answer)
        with pytest.raises(BackendTimeout):
            async for _event in generator.stream(MESSAGES, long_answer):
                pass
    finally:
        await generator.aclose()


async def test_server_that_is_gone_is_unavailable() -> None:
    generator = await generator_for(f"http://127.0.0.1:{free_port()}/v1")
    try:
        with pytest.raises(BackendUnavailable):
            await generator.generate(MESSAGES, SHORT)
    finally:
        await generator.aclose()
