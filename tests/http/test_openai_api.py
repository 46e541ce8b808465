"""The OpenAI-compatible API, driven by the official `openai` SDK over fake backends."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field

import httpx
import openai
import pytest
from fastapi import FastAPI

from app.core.errors import BackendTimeout
from app.core.types import ChatMessage
from app.generators.base import GenerationEvent, GenerationParams, TextDelta
from app.http.auth import digest_of
from app.main import create_app
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import SAMPLE_PASSAGES

BASE_ANSWER = "Base answer: 210 bar."


@dataclass
class RecordingGenerator(FakeGenerator):
    """A fake that keeps the parameters it was called with."""

    params: list[GenerationParams] = field(default_factory=list)

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        self.params.append(params)
        async for event in super().stream(messages, params):
            yield event


@dataclass
class FailingMidStream(FakeGenerator):
    """Streams one word, then times out."""

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        yield TextDelta("Half")
        raise BackendTimeout("the model stopped answering")


def sdk(app: FastAPI, api_key: str = "any") -> openai.AsyncOpenAI:
    transport = httpx.ASGITransport(app=app)
    return openai.AsyncOpenAI(
        base_url="http://testserver/v1",
        api_key=api_key,
        max_retries=0,
        http_client=httpx.AsyncClient(transport=transport),
    )


@pytest.fixture
def base_generator() -> RecordingGenerator:
    return RecordingGenerator(answer=BASE_ANSWER, model_id="fake-base")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[openai.AsyncOpenAI]:
    async with sdk(app) as client:
        yield client


async def test_the_models_are_the_strategies(client: openai.AsyncOpenAI) -> None:
    models = await client.models.list()

    assert [model.id for model in models.data] == ["rag", "finetuned", "hybrid"]
    assert {model.object for model in models.data} == {"model"}


async def test_a_completion_answers_with_the_named_strategy_and_its_sources(
    client: openai.AsyncOpenAI,
) -> None:
    completion = await client.chat.completions.create(
        model="rag",
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "What pressure does the KX-420 run at?"},
        ],
    )

    assert completion.object == "chat.completion"
    assert completion.model == "rag"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == BASE_ANSWER
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    usage = completion.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
    sources = (completion.model_extra or {})["sources"]
    assert sources[0]["title"] == "Kestrel KX-420 Hydraulic Press"


async def test_finetuned_answers_without_sources(client: openai.AsyncOpenAI) -> None:
    completion = await client.chat.completions.create(
        model="finetuned", messages=[{"role": "user", "content": "KX-420 pressure?"}]
    )

    assert completion.choices[0].message.content == "Tuned answer: 210 bar."
    assert (completion.model_extra or {})["sources"] == []


async def test_a_stream_sends_chunks_then_the_finish_with_sources_then_usage(
    client: openai.AsyncOpenAI,
) -> None:
    stream = await client.chat.completions.create(
        model="rag",
        messages=[{"role": "user", "content": "KX-420 pressure?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk.id for chunk in chunks}) == 1
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == BASE_ANSWER
    assert chunks[0].choices[0].delta.role == "assistant"
    finish = chunks[-2]
    assert finish.choices[0].finish_reason == "stop"
    assert (finish.model_extra or {})["sources"][0]["id"] == "p1"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


async def test_without_include_usage_no_usage_chunk_is_sent(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="hybrid", messages=[{"role": "user", "content": "KX-420 pressure?"}], stream=True
    )
    chunks = [chunk async for chunk in stream]

    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in chunks)


async def test_the_stream_ends_with_done(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post(
            "/v1/chat/completions",
            json={"model": "rag", "messages": [{"role": "user", "content": "q"}], "stream": True},
        )

    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.endswith("data: [DONE]\n\n")


async def test_sampling_parameters_reach_the_generator(
    client: openai.AsyncOpenAI, base_generator: RecordingGenerator
) -> None:
    stream = await client.chat.completions.create(
        model="rag",
        messages=[{"role": "user", "content": "KX-420 pressure?"}],
        max_completion_tokens=40,
        temperature=0.5,
        top_p=0.9,
        stop=["\n\n"],
        stream=True,
        n=1,
        user="someone",
        presence_penalty=0,
        frequency_penalty=0,
    )
    _ = [chunk async for chunk in stream]

    assert base_generator.params[-1] == GenerationParams(40, 0.5, 0.9, ("\n\n",))


@pytest.mark.parametrize(
    ("stop", "sent"),
    [("\n\nQuestion:", ("\n\nQuestion:",)), (["Question:", "Excerpt:"], ("Question:", "Excerpt:"))],
)
async def test_a_stop_text_of_any_length_is_taken(
    client: openai.AsyncOpenAI,
    base_generator: RecordingGenerator,
    stop: str | list[str],
    sent: tuple[str, ...],
) -> None:
    """OpenAI's limit is four stop texts, not four characters."""
    stream = await client.chat.completions.create(
        model="rag",
        messages=[{"role": "user", "content": "KX-420 pressure?"}],
        stop=stop,
        stream=True,
    )
    _ = [chunk async for chunk in stream]

    assert base_generator.params[-1].stop == sent


async def test_more_than_four_stop_texts_are_refused(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        await client.chat.completions.create(
            model="rag", messages=[{"role": "user", "content": "hi"}], stop=list("abcde")
        )

    assert raised.value.status_code == 400


async def test_an_unknown_model_is_a_404_model_not_found(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )

    assert raised.value.code == "model_not_found"
    assert "rag" in raised.value.message


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"n": 2}, "n"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"extra_body": {"logit_bias": {"1": 2}}}, "logit_bias"),
        ({"extra_body": {"tools": []}}, "tools"),
        ({"temperature": 3}, "temperature"),
    ],
)
async def test_unsupported_fields_are_a_400_in_openai_s_shape(
    client: openai.AsyncOpenAI, arguments: dict[str, object], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        await client.chat.completions.create(
            model="rag",
            messages=[{"role": "user", "content": "hi"}],
            **arguments,  # type: ignore[arg-type]
        )

    assert raised.value.status_code == 400
    assert raised.value.param == param
    assert raised.value.type == "invalid_request_error"


async def test_a_conversation_ending_with_the_assistant_is_a_400(
    client: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError, match="last message must be the user"):
        await client.chat.completions.create(
            model="rag",
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ],
        )


async def test_a_follow_up_in_openai_messages_resolves_like_the_native_api() -> None:
    # The conftest backends know no products; these do.
    backends = Backends(
        FakeRetriever(SAMPLE_PASSAGES),
        FakeGenerator(),
        FakeGenerator(),
        products=("Orion W-90 Welder",),
    )
    retriever = backends.retriever
    assert isinstance(retriever, FakeRetriever)
    async with sdk(create_app(Settings(_env_file=None), backends=backends)) as welder:  # type: ignore[call-arg]
        completion = await welder.chat.completions.create(
            model="rag",
            messages=[
                {"role": "user", "content": "What wire feed does the Orion W-90 need?"},
                {"role": "assistant", "content": "7.5 m/min."},
                {"role": "user", "content": [{"type": "text", "text": "And for 2 mm steel?"}]},
            ],
        )

    assert retriever.queries[-1] == "And for 2 mm steel? W-90"
    assert (completion.model_extra or {})["sources"][0]["title"] == "Orion W-90 Welder"


async def test_a_wrong_key_is_an_authentication_error(settings: Settings) -> None:
    locked = settings.model_copy(update={"api_keys": [digest_of("right")]})
    backends = Backends(FakeRetriever(SAMPLE_PASSAGES), FakeGenerator(), FakeGenerator())
    app = create_app(locked, backends=backends)

    async with sdk(app, api_key="wrong") as client:
        with pytest.raises(openai.AuthenticationError) as raised:
            await client.models.list()
    assert raised.value.type == "authentication_error"

    async with sdk(app, api_key="right") as client:
        assert len((await client.models.list()).data) == 3


async def test_a_backend_failing_mid_stream_ends_the_stream_with_an_error_the_sdk_raises(
    settings: Settings,
) -> None:
    backends = Backends(
        FakeRetriever(SAMPLE_PASSAGES), FailingMidStream(), FakeGenerator(model_id="tuned")
    )
    async with sdk(create_app(settings, backends=backends)) as client:
        stream = await client.chat.completions.create(
            model="rag", messages=[{"role": "user", "content": "q"}], stream=True
        )
        received: list[str] = []
        with pytest.raises(openai.APIError, match=r"timed out|stopped|timeout"):
            async for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")

    assert "".join(received) == "Half"


async def test_a_backend_failing_before_the_stream_is_a_plain_error(settings: Settings) -> None:
    failing = FakeGenerator(failures=lambda _call: BackendTimeout("slow"))
    backends = Backends(FakeRetriever(SAMPLE_PASSAGES), failing, failing)
    async with sdk(create_app(settings, backends=backends)) as client:
        with pytest.raises(openai.InternalServerError) as raised:
            await client.chat.completions.create(
                model="rag", messages=[{"role": "user", "content": "q"}], stream=True
            )

    assert raised.value.status_code == 504
    assert raised.value.code == "backend_timeout"


async def test_the_native_api_keeps_its_own_error_shape(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        native = await http.post("/rag", json={"question": ""})
        openai_style = await http.post("/v1/chat/completions", json={"model": "rag"})

    assert native.status_code == 422
    assert set(native.json()["error"]) == {"code", "message", "request_id"}
    assert openai_style.status_code == 400
    assert set(openai_style.json()["error"]) == {"message", "type", "param", "code"}
    assert json.loads(openai_style.text)["error"]["param"] == "messages"
