"""Fault injection: each way a backend fails, seen through the HTTP API.

The base generator is the real OpenAI-compatible backend on an httpx mock transport, so the
faults go through its retries, deadlines and error translation exactly as in production.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from app.core.errors import BackendThrottled, BackendTimeout, BackendUnavailable
from app.generators.openai import OpenAIGenerator
from app.main import create_app
from app.resilience.retry import RetryPolicy
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import SAMPLE_PASSAGES
from tests.sse import sse_events

ATTEMPTS = 3
DEADLINE_S = 0.5
QUESTION = {"question": "What pressure does the KX-420 use?"}
Action = httpx.Response | Exception | str


def completion(text: str = "210 bar.", finish_reason: str = "stop") -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "model": "served-model",
            "choices": [
                {"message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
            ],
            "usage": {"prompt_tokens": 40, "completion_tokens": 3},
        },
    )


class ScriptedServer:
    """Plays one action per call (the last one repeats): a response, an exception, or 'hang'."""

    def __init__(self, *actions: Action) -> None:
        self.actions = list(actions)
        self.calls = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        action = self.actions[min(self.calls, len(self.actions) - 1)]
        self.calls += 1
        if isinstance(action, Exception):
            raise action
        if action == "hang":
            await asyncio.sleep(DEADLINE_S * 4)
            return completion()
        assert isinstance(action, httpx.Response)
        return action


def make_client(
    server: ScriptedServer, retriever: FakeRetriever | None = None
) -> httpx.AsyncClient:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    backend = httpx.AsyncClient(
        transport=httpx.MockTransport(server), base_url="http://model.internal/v1"
    )
    policy = RetryPolicy(
        max_attempts=ATTEMPTS, base_delay_s=0.0, max_delay_s=0.0, deadline_s=DEADLINE_S
    )
    backends = Backends(
        retriever or FakeRetriever(SAMPLE_PASSAGES),
        OpenAIGenerator(backend, "served-model", policy),
        FakeGenerator(),
    )
    transport = httpx.ASGITransport(app=create_app(settings, backends=backends))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "request_id"}
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return str(error["message"])


PERMANENT_FAULTS = [
    # (name, server actions, status, code, calls the backend saw)
    ("read timeout", [httpx.ReadTimeout("read timed out")], 504, "backend_timeout", 1),
    ("deadline passed", ["hang"], 504, "backend_timeout", 1),
    (
        "throttled (429)",
        [httpx.Response(429, text="slow down")],
        503,
        "backend_throttled",
        ATTEMPTS,
    ),
    ("connection refused", [httpx.ConnectError("refused")], 503, "backend_unavailable", ATTEMPTS),
    (
        "connection dropped",
        [httpx.RemoteProtocolError("peer closed")],
        503,
        "backend_unavailable",
        ATTEMPTS,
    ),
    (
        "server error (500)",
        [httpx.Response(500, text="boom")],
        503,
        "backend_unavailable",
        ATTEMPTS,
    ),
    ("gateway timeout (504)", [httpx.Response(504)], 504, "backend_timeout", 1),
    ("reply not JSON", [httpx.Response(200, text="<html>oops</html>")], 502, "backend_error", 1),
    ("reply without choices", [httpx.Response(200, json={"id": "x"})], 502, "backend_error", 1),
    ("request refused (400)", [httpx.Response(400, text="bad model")], 502, "backend_error", 1),
]


@pytest.mark.parametrize(
    ("actions", "status", "code", "calls"),
    [case[1:] for case in PERMANENT_FAULTS],
    ids=[case[0] for case in PERMANENT_FAULTS],
)
async def test_each_backend_fault_is_the_right_json_error(
    actions: list[Action], status: int, code: str, calls: int
) -> None:
    server = ScriptedServer(*actions)
    async with make_client(server) as client:
        response = await client.post("/rag", json=QUESTION)

    assert_error(response, status, code)
    assert server.calls == calls  # retried only where another try can help
    if code == "backend_throttled":
        assert response.headers["retry-after"] == "1"


TRANSIENT_FAULTS = [
    ("throttled once", httpx.Response(429)),
    ("connection refused once", httpx.ConnectError("refused")),
    ("connect timeout once", httpx.ConnectTimeout("connect timed out")),
    ("server error once", httpx.Response(503, text="warming up")),
]


@pytest.mark.parametrize(
    "fault", [case[1] for case in TRANSIENT_FAULTS], ids=[case[0] for case in TRANSIENT_FAULTS]
)
async def test_a_transient_fault_is_retried_and_the_user_gets_the_answer(fault: Action) -> None:
    server = ScriptedServer(fault, completion("210 bar."))
    async with make_client(server) as client:
        response = await client.post("/rag", json=QUESTION)

    assert response.status_code == 200
    assert response.json()["answer"] == "210 bar."
    assert server.calls == 2


class BreakingStream(httpx.AsyncByteStream):
    """Sends one SSE chunk, then the connection breaks."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = {"model": "served-model", "choices": [{"delta": {"content": "210"}}]}
        yield f"data: {json.dumps(chunk)}\n\n".encode()
        raise httpx.ReadError("connection reset by peer")


async def test_a_stream_broken_midway_ends_with_an_error_event() -> None:
    server = ScriptedServer(httpx.Response(200, stream=BreakingStream()))
    async with make_client(server) as client:
        response = await client.post("/rag", json={**QUESTION, "stream": True})

    assert response.status_code == 200  # the status line had gone out with the sources
    events = sse_events(response.text)
    assert [name for name, _ in events] == ["sources", "delta", "error"]
    error = events[-1][1]["error"]
    assert error["code"] == "backend_unavailable"
    assert error["request_id"] == response.headers["x-request-id"]


async def test_a_stream_that_cannot_open_is_a_plain_json_error() -> None:
    server = ScriptedServer(httpx.Response(429))
    async with make_client(server) as client:
        response = await client.post("/finetuned", json=QUESTION)  # tuned is healthy
        streamed = await client.post("/rag", json={**QUESTION, "stream": True})

    assert response.status_code == 200
    events = sse_events(streamed.text)
    assert events[-1][0] == "error"
    assert events[-1][1]["error"]["code"] == "backend_throttled"


RETRIEVER_FAULTS: list[tuple[str, Callable[[], Exception], int, str]] = [
    (
        "timeout",
        lambda: BackendTimeout("knowledge base: no answer within 15 s"),
        504,
        "backend_timeout",
    ),
    (
        "throttled",
        lambda: BackendThrottled("knowledge base: ThrottlingException", retry_after_s=1),
        503,
        "backend_throttled",
    ),
    (
        "unreachable",
        lambda: BackendUnavailable("knowledge base cannot be reached"),
        503,
        "backend_unavailable",
    ),
]


@pytest.mark.parametrize(
    ("make_error", "status", "code"),
    [case[1:] for case in RETRIEVER_FAULTS],
    ids=[case[0] for case in RETRIEVER_FAULTS],
)
async def test_retriever_faults_are_json_errors_and_spare_finetuned(
    make_error: Callable[[], Exception], status: int, code: str
) -> None:
    retriever = FakeRetriever(SAMPLE_PASSAGES, failures=lambda call: make_error())
    async with make_client(ScriptedServer(completion()), retriever) as client:
        hybrid = await client.post("/hybrid", json=QUESTION)
        finetuned = await client.post("/finetuned", json=QUESTION)

    assert_error(hybrid, status, code)
    assert finetuned.status_code == 200  # needs no retrieval


async def test_an_empty_answer_is_a_502_that_does_not_open_the_circuit() -> None:
    empty = [completion("")] * 8  # more than the circuit's failure threshold
    server = ScriptedServer(*empty, completion(" \n"), completion("210 bar."))
    async with make_client(server) as client:
        for _ in range(len(empty) + 1):
            message = assert_error(await client.post("/rag", json=QUESTION), 502, "empty_answer")
        answered = await client.post("/rag", json=QUESTION)

    assert "no text" in message
    assert answered.status_code == 200
    assert answered.json()["answer"] == "210 bar."
    assert server.calls == len(empty) + 2  # an empty answer is not retried either


async def test_an_answer_cut_by_max_tokens_before_any_text_is_what_was_asked_for() -> None:
    server = ScriptedServer(completion("", finish_reason="length"))
    async with make_client(server) as client:
        response = await client.post("/rag", json={**QUESTION, "max_tokens": 1})

    assert response.status_code == 200
    assert response.json()["finish_reason"] == "length"


async def test_an_empty_streamed_answer_ends_with_an_error_event() -> None:
    empty = {"model": "served-model", "choices": [{"delta": {}, "finish_reason": "stop"}]}
    body = f"data: {json.dumps(empty)}\n\ndata: [DONE]\n\n"
    server = ScriptedServer(
        httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
    )
    async with make_client(server) as client:
        response = await client.post("/rag", json={**QUESTION, "stream": True})

    events = sse_events(response.text)
    assert [name for name, _ in events] == ["sources", "error"]
    assert events[-1][1]["error"]["code"] == "empty_answer"
