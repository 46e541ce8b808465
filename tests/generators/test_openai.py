"""The OpenAI-compatible generator against respx-mocked /v1/chat/completions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from app.core.errors import (
    BackendError,
    BackendRejected,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
    InputRejected,
)
from app.core.types import ChatMessage
from app.generators.base import Generation, GenerationParams, TextDelta
from app.generators.openai import OpenAIGenerator, build_openai_generator
from app.settings import Settings

BASE_URL = "http://127.0.0.1:8080/v1"
COMPLETIONS = f"{BASE_URL}/chat/completions"
MESSAGES = [ChatMessage("system", "Use the catalog."), ChatMessage("user", "KX-420 pressure?")]
PARAMS = GenerationParams(max_tokens=50, temperature=0.0)
ATTEMPTS = 3


def completion(text: str, usage: bool = True) -> dict[str, object]:
    reply: dict[str, object] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "llama-3-8b-catalog",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
    }
    if usage:
        reply["usage"] = {"prompt_tokens": 40, "completion_tokens": 6, "total_tokens": 46}
    return reply


def sse(chunks: list[dict[str, object]]) -> bytes:
    lines = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks]
    return ("".join(lines) + "data: [DONE]\n\n").encode()


def delta(text: str) -> dict[str, object]:
    return {"model": "llama-3-8b-catalog", "choices": [{"index": 0, "delta": {"content": text}}]}


@pytest.fixture
async def generator() -> AsyncIterator[OpenAIGenerator]:
    settings = Settings(
        _env_file=None,
        openai={"base_url": BASE_URL, "api_key": "sk-test", "model": "llama-3-8b"},
        retry={"max_attempts": ATTEMPTS, "base_delay_s": 0.0, "max_delay_s": 0.0},
    )
    generator = build_openai_generator(settings, "base")
    yield generator
    await generator.aclose()


@respx.mock
async def test_generate_posts_a_chat_completion_with_the_key(generator: OpenAIGenerator) -> None:
    route = respx.post(COMPLETIONS).mock(
        return_value=httpx.Response(200, json=completion("210 bar."))
    )

    generation = await generator.generate(MESSAGES, PARAMS)

    assert generation.text == "210 bar."
    assert generation.model == "llama-3-8b-catalog"
    assert (generation.usage.input_tokens, generation.usage.output_tokens) == (40, 6)
    assert generation.usage.estimated is False
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer sk-test"
    body = json.loads(request.content)
    assert body["model"] == "llama-3-8b"
    assert body["messages"][0] == {"role": "system", "content": "Use the catalog."}
    assert (body["max_tokens"], body["temperature"], body["stream"]) == (50, 0.0, False)


@respx.mock
async def test_usage_missing_from_the_reply_is_estimated(generator: OpenAIGenerator) -> None:
    respx.post(COMPLETIONS).mock(
        return_value=httpx.Response(200, json=completion("210 bar.", usage=False))
    )

    generation = await generator.generate(MESSAGES, PARAMS)

    assert generation.usage.estimated is True
    assert generation.usage.output_tokens >= 2


@respx.mock
async def test_stream_parses_sse_deltas_and_the_usage_chunk(generator: OpenAIGenerator) -> None:
    usage_chunk: dict[str, object] = {
        "choices": [],
        "usage": {"prompt_tokens": 41, "completion_tokens": 3},
    }
    body = sse([delta("210"), delta(" bar"), delta("."), usage_chunk])
    route = respx.post(COMPLETIONS).mock(
        return_value=httpx.Response(
            200, content=body, headers={"content-type": "text/event-stream"}
        )
    )

    events = [event async for event in generator.stream(MESSAGES, PARAMS)]

    assert [e.text for e in events if isinstance(e, TextDelta)] == ["210", " bar", "."]
    final = events[-1]
    assert isinstance(final, Generation)
    assert final.text == "210 bar."
    assert (final.usage.input_tokens, final.usage.output_tokens) == (41, 3)
    sent = json.loads(route.calls.last.request.content)
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


@respx.mock
async def test_rate_limit_then_success_is_retried(generator: OpenAIGenerator) -> None:
    route = respx.post(COMPLETIONS).mock(
        side_effect=[
            httpx.Response(429, text="slow down"),
            httpx.Response(200, json=completion("ok")),
        ]
    )

    assert (await generator.generate(MESSAGES, PARAMS)).text == "ok"
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, BackendThrottled), (503, BackendUnavailable), (400, BackendRejected)],
)
@respx.mock
async def test_failing_statuses_become_app_errors(
    generator: OpenAIGenerator, status: int, error_type: type[BackendError]
) -> None:
    respx.post(COMPLETIONS).mock(return_value=httpx.Response(status, text="the server's reason"))

    with pytest.raises(error_type, match="the server's reason") as raised:
        await generator.generate(MESSAGES, PARAMS)
    assert type(raised.value) is error_type
    assert "the server's reason" not in raised.value.message  # the log has it, clients do not


@pytest.mark.parametrize(
    "body",
    [
        "This model's maximum context length is 2048 tokens, your request has 3599",
        '{"error": {"message": "the request exceeds the available context size"}}',
        '{"error": {"code": "content_filter", "message": "filtered"}}',
    ],
    ids=["openai-context-length", "llama-cpp-context-size", "content-filter"],
)
@respx.mock
async def test_an_input_the_server_refuses_is_the_clients_422(
    generator: OpenAIGenerator, body: str
) -> None:
    respx.post(COMPLETIONS).mock(return_value=httpx.Response(400, text=body))

    with pytest.raises(InputRejected) as raised:
        await generator.generate(MESSAGES, PARAMS)
    assert raised.value.status_code == 422
    assert body[:20] not in raised.value.message


@respx.mock
async def test_a_failing_stream_open_is_retried_and_reported(generator: OpenAIGenerator) -> None:
    route = respx.post(COMPLETIONS).mock(return_value=httpx.Response(503, text="overloaded"))

    with pytest.raises(BackendUnavailable, match="overloaded"):
        async for _ in generator.stream(MESSAGES, PARAMS):
            pass
    assert route.call_count == ATTEMPTS


@respx.mock
async def test_a_read_timeout_is_a_backend_timeout(generator: OpenAIGenerator) -> None:
    respx.post(COMPLETIONS).mock(side_effect=httpx.ReadTimeout("no answer"))

    with pytest.raises(BackendTimeout):
        await generator.generate(MESSAGES, PARAMS)


@respx.mock
async def test_a_reply_that_is_not_a_completion_is_a_backend_error(
    generator: OpenAIGenerator,
) -> None:
    respx.post(COMPLETIONS).mock(return_value=httpx.Response(200, json={"object": "error"}))

    with pytest.raises(BackendError, match="malformed"):
        await generator.generate(MESSAGES, PARAMS)


async def test_tuned_role_uses_the_tuned_model() -> None:
    settings = Settings(
        _env_file=None, openai={"model": "llama-3-8b", "tuned_model": "llama-3-8b-catalog-lora"}
    )
    tuned = build_openai_generator(settings, "tuned")
    base = build_openai_generator(settings, "base")

    assert (tuned.model_id, base.model_id) == ("llama-3-8b-catalog-lora", "llama-3-8b")
    await tuned.aclose()
    await base.aclose()


UPSTREAM_SECRET = "<html>upstream page with sk-live-secret</html>"


@respx.mock
@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(200, text=UPSTREAM_SECRET),
        httpx.Response(200, json={"object": UPSTREAM_SECRET}),
        httpx.Response(200, json=[UPSTREAM_SECRET]),
    ],
    ids=["not-json", "not-a-completion", "not-an-object"],
)
async def test_an_unusable_reply_keeps_the_upstreams_text_out_of_the_clients_message(
    generator: OpenAIGenerator, reply: httpx.Response
) -> None:
    respx.post(COMPLETIONS).mock(return_value=reply)

    with pytest.raises(BackendError) as raised:
        await generator.generate(MESSAGES, PARAMS)

    assert "upstream page" not in raised.value.message
    assert "upstream page" in (raised.value.detail or "")  # for the log, under the request id


@respx.mock
@pytest.mark.parametrize(
    "line",
    [f"data: {json.dumps({'error': UPSTREAM_SECRET})}\n\n", f"data: {UPSTREAM_SECRET}\n\n"],
    ids=["error-chunk", "malformed-chunk"],
)
async def test_a_broken_stream_keeps_the_upstreams_text_out_of_the_clients_message(
    generator: OpenAIGenerator, line: str
) -> None:
    body = sse([delta("210")]).replace(b"data: [DONE]\n\n", line.encode())
    respx.post(COMPLETIONS).mock(
        return_value=httpx.Response(
            200, content=body, headers={"content-type": "text/event-stream"}
        )
    )

    with pytest.raises(BackendError) as raised:
        async for _ in generator.stream(MESSAGES, PARAMS):
            pass

    assert "upstream page" not in raised.value.message
    assert "upstream page" in (raised.value.detail or "")
