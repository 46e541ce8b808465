"""The HTTP contract of /rag, /finetuned, /hybrid and /compare, on fake backends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import httpx
import pytest

from app.core.errors import BackendThrottled, BackendTimeout
from app.core.types import ChatMessage
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import ANSWER_KEYS
from tests.sse import sse_events


@pytest.mark.parametrize(
    ("path", "expected_answer", "model", "has_sources"),
    [
        ("/rag", "Base answer: 210 bar.", "fake-base", True),
        ("/finetuned", "Tuned answer: 210 bar.", "fake-tuned", False),
        ("/hybrid", "Tuned answer: 210 bar.", "fake-tuned", True),
    ],
)
async def test_each_strategy_answers_with_the_contract_fields(
    client: httpx.AsyncClient, path: str, expected_answer: str, model: str, has_sources: bool
) -> None:
    response = await client.post(path, json={"question": "What pressure does the KX-420 use?"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == ANSWER_KEYS
    assert body["strategy"] == path.strip("/")
    assert body["answer"] == expected_answer
    assert body["model"] == model
    assert set(body["usage"]) >= {"input_tokens", "output_tokens"}
    assert set(body["timings_ms"]) == {"retrieve", "generate", "total"}
    assert body["timings_ms"]["total"] >= body["timings_ms"]["generate"]
    assert body["request_id"] == response.headers["x-request-id"]
    if has_sources:
        assert body["sources"][0]["title"] == "Kestrel KX-420 Hydraulic Press"
        assert set(body["sources"][0]) == {"id", "title", "text", "score", "location"}
    else:
        assert body["sources"] == []


async def test_rag_prompt_carries_the_retrieved_passages_and_finetuned_does_not(
    client: httpx.AsyncClient, base_generator: FakeGenerator, tuned_generator: FakeGenerator
) -> None:
    await client.post("/rag", json={"question": "KX-420 pressure?", "top_k": 1})
    await client.post("/finetuned", json={"question": "KX-420 pressure?"})

    rag_prompt = "\n".join(m.content for m in base_generator.prompts[-1])
    finetuned_prompt = "\n".join(m.content for m in tuned_generator.prompts[-1])
    assert "210 bar hydraulic pressure" in rag_prompt
    assert "wire feed" not in rag_prompt  # top_k=1 keeps only the best passage
    assert "210 bar hydraulic pressure" not in finetuned_prompt
    assert "KX-420 pressure?" in finetuned_prompt


async def test_incoming_request_id_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/rag", json={"question": "q"}, headers={"X-Request-ID": "trace-123"}
    )
    assert response.headers["x-request-id"] == "trace-123"
    assert response.json()["request_id"] == "trace-123"


async def test_compare_returns_all_three(client: httpx.AsyncClient) -> None:
    response = await client.post("/compare", json={"question": "KX-420 pressure?"})

    assert response.status_code == 200
    body = response.json()
    assert set(body["results"]) == {"rag", "finetuned", "hybrid"}
    assert body["errors"] == {}
    assert body["results"]["finetuned"]["sources"] == []


async def test_compare_runs_the_three_concurrently(
    client: httpx.AsyncClient,
    base_generator: FakeGenerator,
    tuned_generator: FakeGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each generation waits until all three have begun: run one after another, the first
    # would wait alone until its time runs out, and its strategy would fail.
    together = asyncio.Barrier(3)

    def meeting(generator: FakeGenerator) -> Callable[[Sequence[ChatMessage]], Awaitable[str]]:
        begin = generator._begin

        async def begin_together(messages: Sequence[ChatMessage]) -> str:
            await asyncio.wait_for(together.wait(), timeout=30)
            return await begin(messages)

        return begin_together

    for generator in (base_generator, tuned_generator):
        monkeypatch.setattr(generator, "_begin", meeting(generator))
    response = await client.post("/compare", json={"question": "q"})

    assert response.json()["errors"] == {}
    assert set(response.json()["results"]) == {"rag", "finetuned", "hybrid"}


async def test_compare_keeps_the_answers_of_strategies_that_did_not_fail(
    client: httpx.AsyncClient, tuned_generator: FakeGenerator
) -> None:
    tuned_generator.failures = lambda call: BackendTimeout("endpoint took too long")
    body = (await client.post("/compare", json={"question": "q"})).json()

    assert set(body["results"]) == {"rag"}
    assert body["errors"]["finetuned"]["code"] == "backend_timeout"
    assert body["errors"]["hybrid"]["code"] == "backend_timeout"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (BackendTimeout("slow"), 504, "backend_timeout"),
        (BackendThrottled("throttled"), 503, "backend_throttled"),
    ],
)
async def test_backend_failures_become_json_errors(
    client: httpx.AsyncClient,
    base_generator: FakeGenerator,
    error: Exception,
    status: int,
    code: str,
) -> None:
    base_generator.failures = lambda call: error
    response = await client.post("/rag", json={"question": "q"})

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]


async def test_retriever_failure_is_a_json_error(
    client: httpx.AsyncClient, fake_retriever: FakeRetriever
) -> None:
    fake_retriever.failures = lambda call: BackendTimeout("knowledge base timed out")
    response = await client.post("/hybrid", json={"question": "q"})
    assert response.status_code == 504
    assert "knowledge base timed out" in response.json()["error"]["message"]


async def test_unexpected_error_is_500_json_without_traceback(
    client: httpx.AsyncClient, base_generator: FakeGenerator
) -> None:
    base_generator.failures = lambda call: RuntimeError("secret internal detail")
    response = await client.post("/rag", json={"question": "q"})

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"question": ""},
        {"question": "q", "top_k": 0},
        {"question": "q", "temperature": 5},
        {"question": "q", "unknown": 1},
    ],
)
async def test_bad_input_is_422_json(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.post("/rag", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"]


@pytest.mark.parametrize("how", ["body", "accept"])
async def test_streaming_sends_sources_then_deltas_then_the_full_response(
    client: httpx.AsyncClient, how: str
) -> None:
    if how == "body":
        response = await client.post("/rag", json={"question": "q", "stream": True})
    else:
        response = await client.post(
            "/rag", json={"question": "q"}, headers={"Accept": "text/event-stream"}
        )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "sources"
    assert names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    streamed = "".join(str(data["text"]) for name, data in events if name == "delta")
    final = events[-1][1]
    assert streamed == final["answer"] == "Base answer: 210 bar."
    assert final["request_id"] == response.headers["x-request-id"]


async def test_finetuned_stream_has_no_sources_event(client: httpx.AsyncClient) -> None:
    response = await client.post("/finetuned", json={"question": "q", "stream": True})
    names = [name for name, _ in sse_events(response.text)]
    assert "sources" not in names
    assert names[-1] == "done"


async def test_stream_failing_before_first_byte_is_a_normal_error(
    client: httpx.AsyncClient, base_generator: FakeGenerator
) -> None:
    base_generator.failures = lambda call: BackendTimeout("slow")
    response = await client.post("/finetuned", json={"question": "q", "stream": True})
    assert response.status_code == 200  # finetuned uses the tuned generator, still fine
    response = await client.post("/rag", json={"question": "q", "stream": True})
    # rag streams its sources first, so the failure arrives as an error event
    events = sse_events(response.text)
    assert events[-1][0] == "error"
    assert events[-1][1]["error"]["code"] == "backend_timeout"  # type: ignore[index]


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = (await client.get("/ready")).json()
    assert ready["ready"] is True
    assert ready["backends"]["models"] == {"base": "fake-base", "tuned": "fake-tuned"}


async def test_unknown_path_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_openapi_documents_every_endpoint_with_examples(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path in ("/rag", "/finetuned", "/hybrid", "/compare"):
        assert "post" in spec["paths"][path]
    request_schema = spec["components"]["schemas"]["AnswerRequest"]
    assert request_schema["examples"]
    assert (await client.get("/docs")).status_code == 200
