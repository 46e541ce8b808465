"""Every stream ends with `done` or `error`, whatever is raised and wherever; a stream whose client
went away gives its backend's in-flight slot back at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.errors import BackendUnavailable, QuestionTooLong
from app.core.types import ChatMessage
from app.generators.base import GenerationEvent, GenerationParams
from app.main import create_app
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from app.wiring.state import ServiceState
from tests.conftest import SAMPLE_PASSAGES
from tests.sse import sse_events

QUESTION = {"question": "What pressure does the KX-420 use?", "stream": True}


@dataclass
class FailingStream(FakeGenerator):
    """Streams the fake's words, raising `error` before the word numbered `fail_at`."""

    error: Exception = field(default_factory=lambda: RuntimeError("a bug of ours"))
    fail_at: int = 0
    closed: int = 0

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        try:
            index = 0
            async for event in super().stream(messages, params):
                if index == self.fail_at:
                    raise self.error
                index += 1
                yield event
        finally:
            self.closed += 1


def make_app(generator: FakeGenerator) -> FastAPI:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return create_app(
        settings, backends=Backends(FakeRetriever(SAMPLE_PASSAGES), generator, generator)
    )


def slots_in_use(app: FastAPI) -> dict[str, int]:
    state = app.state.service
    assert isinstance(state, ServiceState) and state.composition is not None
    return {label: guard.in_flight.in_flight for label, guard in state.composition.guards.items()}


async def post(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post(path, json=QUESTION)


@pytest.mark.parametrize(
    ("error", "fail_at", "code"),
    [
        (RuntimeError("llama_decode returned -3"), 0, "internal_error"),  # lazily, first token
        (RuntimeError("a bug of ours"), 2, "internal_error"),  # mid-deltas
        (BackendUnavailable("connection broke"), 2, "backend_unavailable"),
        (ValueError("not a ServiceError either"), 1, "internal_error"),
    ],
    ids=["runtime-error-first-token", "runtime-error-mid-deltas", "backend-error", "value-error"],
)
async def test_a_stream_that_fails_after_the_sources_ends_with_an_error_event(
    error: Exception, fail_at: int, code: str
) -> None:
    generator = FailingStream(answer="one two three four", error=error, fail_at=fail_at)
    app = make_app(generator)

    response = await post(app, "/rag")

    assert response.status_code == 200
    events = sse_events(response.text)
    assert events[0][0] == "sources"
    assert [name for name, _ in events[1:-1]] == ["delta"] * fail_at
    name, data = events[-1]
    assert name == "error"
    assert data["error"]["code"] == code
    assert data["error"]["request_id"] == response.headers["x-request-id"]
    assert "llama_decode" not in data["error"]["message"]
    assert generator.closed == 1
    assert slots_in_use(app) == {"retriever": 0, "generator": 0}


async def test_a_failure_before_the_first_event_is_a_json_error() -> None:
    generator = FailingStream(error=RuntimeError("a bug of ours"), fail_at=0)
    app = make_app(generator)

    response = await post(app, "/finetuned")  # no sources: the first event is the first token

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert slots_in_use(app) == {"retriever": 0, "generator": 0}


async def test_a_retriever_failing_before_the_sources_is_a_json_error() -> None:
    generator = FakeGenerator()
    app = make_app(generator)
    state = app.state.service
    state.composition.backends.retriever.failures = lambda _call: RuntimeError("index gone")

    response = await post(app, "/rag")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert generator.calls == 0


async def test_a_client_error_on_the_first_token_is_its_own_status() -> None:
    generator = FailingStream(error=QuestionTooLong("the question is too long"), fail_at=0)

    response = await post(make_app(generator), "/finetuned")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "question_too_long"


async def test_a_client_that_leaves_mid_stream_frees_the_slot_at_once() -> None:
    generator = FailingStream(answer=" ".join(["word"] * 50), fail_at=10_000)
    app = make_app(generator)
    messages: list[dict[str, Any]] = []
    gone = asyncio.Event()
    body = [{"type": "http.request", "body": json.dumps(QUESTION).encode(), "more_body": False}]

    async def receive() -> dict[str, Any]:
        if body:
            return body.pop()
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)
        if message["type"] == "http.response.body" and len(messages) > 2:
            gone.set()
            raise OSError("connection reset by peer")  # what uvicorn's send does once it left

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/rag",
        "raw_path": b"/rag",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"t")],
        "client": ("127.0.0.1", 5000),
        "server": ("t", 80),
    }
    async with app.router.lifespan_context(app):
        with contextlib.suppress(Exception):  # the server's business: the connection is gone
            await app(scope, receive, send)  # type: ignore[arg-type]
        # Checked before anything else runs: not left to the garbage collector's finalizer.
        assert generator.closed == 1
        assert slots_in_use(app) == {"retriever": 0, "generator": 0}


@pytest.mark.parametrize("reason", ["stop", "length", "repetition"])
async def test_every_answer_says_why_it_ended(reason: str) -> None:
    """A decode cut at a repeat is reported as such, in the JSON answer and in the `done` event;
    OpenAI's clients, who know only stop and length, read a repeat cut as stop."""
    app = make_app(
        FakeGenerator(answer="The oil is changed every 4,000 hours.", finish_reason=reason)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        plain = await client.post("/rag", json={"question": QUESTION["question"]})
        streamed = await client.post("/rag", json=QUESTION)
        chat = await client.post(
            "/v1/chat/completions",
            json={"model": "rag", "messages": [{"role": "user", "content": QUESTION["question"]}]},
        )
    assert plain.json()["finish_reason"] == reason
    done = [data for event, data in sse_events(streamed.text) if event == "done"]
    assert done[0]["finish_reason"] == reason
    assert chat.json()["choices"][0]["finish_reason"] == (
        "length" if reason == "length" else "stop"
    )
