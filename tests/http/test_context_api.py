"""Through the API: prompts fit the model, the response says what was left out, and a question
too long for the model is a 422 that never opens a circuit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.core.types import Passage
from app.generators.base import GenerationLimits, Interval
from app.main import create_app
from app.settings import ContextSettings, Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.sse import sse_events

WINDOW = 900
WINDOW_LIMITS = GenerationLimits(Interval(0.0, 2.0), Interval(0.0, 1.0), WINDOW - 1, WINDOW)
MANY_PASSAGES = [
    Passage(
        id=f"chunk-{rank}",
        title="Kestrel KX-420 Hydraulic Press",
        text=" ".join(f"Sentence {n} of chunk {rank} mentions pressure {n} bar." for n in range(8)),
        score=1.0 / (rank + 1),
        location=f"catalog.txt#{rank}",
        section="Description",
    )
    for rank in range(20)
]


def _settings(selection: bool) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        context=ContextSettings(selection=selection),
    )


async def _client(settings: Settings, base: FakeGenerator) -> AsyncIterator[httpx.AsyncClient]:
    tuned = FakeGenerator(answer="Tuned.", model_id="fake-tuned", limits=WINDOW_LIMITS)
    backends = Backends(FakeRetriever(MANY_PASSAGES), base, tuned)
    transport = httpx.ASGITransport(app=create_app(settings, backends=backends))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


@pytest.fixture
def base() -> FakeGenerator:
    return FakeGenerator(answer="Base.", model_id="fake-base", limits=WINDOW_LIMITS)


@pytest.fixture
async def whole_passages(base: FakeGenerator) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(_settings(selection=False), base):
        yield client


@pytest.fixture
async def selecting(base: FakeGenerator) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(_settings(selection=True), base):
        yield client


def _prompt_words(generator: FakeGenerator) -> int:
    return sum(len(message.content.split()) for message in generator.prompts[-1])


async def test_top_k_20_is_answered_with_what_fits_and_says_so(
    whole_passages: httpx.AsyncClient, base: FakeGenerator
) -> None:
    response = await whole_passages.post("/rag", json={"question": "What pressure?", "top_k": 20})

    assert response.status_code == 200, response.text
    usage = response.json()["usage"]
    assert usage["context_truncated"] is True
    assert usage["passages_retrieved"] == 20
    assert 0 < usage["passages_kept"] < 20
    assert usage["input_tokens_saved"] > 0
    sources = response.json()["sources"]
    assert [s["id"] for s in sources] == [f"chunk-{rank}" for rank in range(len(sources))]
    assert len(sources) == usage["passages_kept"]
    # Sources are whole passages even when the prompt quotes the last one cut short.
    assert all(s["text"] == MANY_PASSAGES[i].text for i, s in enumerate(sources))
    assert _prompt_words(base) < WINDOW


async def test_the_stream_sources_event_says_what_was_kept(
    whole_passages: httpx.AsyncClient,
) -> None:
    response = await whole_passages.post(
        "/rag", json={"question": "What pressure?", "top_k": 20, "stream": True}
    )
    first, data = sse_events(response.text)[0]
    assert first == "sources"
    assert data["context"]["truncated"] is True
    assert data["context"]["passages_retrieved"] == 20
    assert data["context"]["passages_kept"] == len(data["sources"])
    assert "event: done" in response.text


async def test_selection_sends_the_relevant_sentences_and_cites_whole_passages(
    selecting: httpx.AsyncClient, base: FakeGenerator
) -> None:
    response = await selecting.post(
        "/rag", json={"question": "Which sentence of chunk 3 mentions pressure 5?", "top_k": 20}
    )

    body = response.json()
    assert response.status_code == 200
    prompt = base.prompts[-1][-1].content
    assert "Sentence 5 of chunk 3 mentions pressure 5 bar." in prompt
    assert "Sentence 0 of chunk 0" not in prompt
    assert "chunk-3" in [source["id"] for source in body["sources"]]
    assert body["usage"]["context_truncated"] is False
    assert body["usage"]["input_tokens_saved"] > 500


@pytest.mark.parametrize("path", ["/rag", "/finetuned", "/hybrid"])
@pytest.mark.parametrize("stream", [False, True])
async def test_a_question_too_long_for_the_model_is_422_and_no_circuit_opens(
    whole_passages: httpx.AsyncClient, base: FakeGenerator, path: str, stream: bool
) -> None:
    question = "oil " * 800
    for _ in range(8):
        response = await whole_passages.post(
            path, json={"question": question, "stream": stream, "max_tokens": 200}
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "question_too_long"
        assert "leaves room for" in error["message"]
    ready = await whole_passages.get("/ready")
    assert ready.status_code == 200
    assert set(ready.json()["circuits"].values()) == {"closed"}
    assert base.calls == 0
