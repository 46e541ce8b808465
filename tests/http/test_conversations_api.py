"""Conversations (`messages`) on every strategy: the same code path as `question`."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.core.types import Passage
from app.main import create_app
from app.settings import ConversationSettings, Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.sse import sse_events

PRESS = "Kestrel KX-420 Hydraulic Press"
LATHE = "Torvik TL-1600 CNC Lathe"
PASSAGES = [
    Passage("kx", PRESS, "Change the KX-420 hydraulic oil every 4,000 hours.", 1.0, "c#kx"),
    Passage("tl", LATHE, "Change the TL-1600 hydraulic oil every 2,000 hours.", 1.0, "c#tl"),
]
LATHE_THEN_FOLLOW_UP = [
    {"role": "user", "content": "What spindle speed does the Torvik TL-1600 reach?"},
    {"role": "assistant", "content": "Up to 3,000 rpm."},
    {"role": "user", "content": "How often is its hydraulic oil changed?"},
]


@pytest.fixture
def retriever() -> FakeRetriever:
    return FakeRetriever(PASSAGES)


@pytest.fixture
def app(
    settings: Settings,
    retriever: FakeRetriever,
    base_generator: FakeGenerator,
    tuned_generator: FakeGenerator,
) -> FastAPI:
    backends = Backends(retriever, base_generator, tuned_generator, products=(PRESS, LATHE))
    return create_app(settings, backends=backends)


@pytest.mark.parametrize("path", ["/rag", "/hybrid"])
async def test_a_follow_up_retrieves_the_product_of_the_earlier_turns(
    client: httpx.AsyncClient, retriever: FakeRetriever, path: str
) -> None:
    response = await client.post(path, json={"messages": LATHE_THEN_FOLLOW_UP, "top_k": 1})

    assert response.status_code == 200, response.text
    assert retriever.queries[-1] == "How often is its hydraulic oil changed? TL-1600"
    assert [source["title"] for source in response.json()["sources"]] == [LATHE]


@pytest.mark.parametrize(
    ("path", "generator"), [("/rag", "base"), ("/finetuned", "tuned"), ("/hybrid", "tuned")]
)
async def test_the_model_sees_the_earlier_turns_and_usage_counts_them(
    client: httpx.AsyncClient,
    base_generator: FakeGenerator,
    tuned_generator: FakeGenerator,
    path: str,
    generator: str,
) -> None:
    response = await client.post(path, json={"messages": LATHE_THEN_FOLLOW_UP})

    assert response.status_code == 200, response.text
    assert response.json()["usage"]["turns"] == 3
    prompt = (base_generator if generator == "base" else tuned_generator).prompts[-1]
    assert [message.role for message in prompt] == ["system", "user", "assistant", "user"]
    assert prompt[1].content == LATHE_THEN_FOLLOW_UP[0]["content"]
    assert prompt[2].content == "Up to 3,000 rpm."
    assert "How often is its hydraulic oil changed?" in prompt[3].content


async def test_a_question_is_a_conversation_of_one_turn(client: httpx.AsyncClient) -> None:
    response = await client.post("/rag", json={"question": "KX-420 oil?"})

    assert response.json()["usage"]["turns"] == 1


async def test_the_model_sees_at_most_the_configured_recent_turns(
    retriever: FakeRetriever, base_generator: FakeGenerator, tuned_generator: FakeGenerator
) -> None:
    settings = Settings(_env_file=None, conversation=ConversationSettings(history_turns=2))  # type: ignore[call-arg]
    backends = Backends(retriever, base_generator, tuned_generator)
    transport = httpx.ASGITransport(app=create_app(settings, backends=backends))
    turns = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "reply one"},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "reply two"},
        {"role": "user", "content": "three"},
    ]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/finetuned", json={"messages": turns})

    assert response.json()["usage"]["turns"] == 3
    assert [m.content for m in tuned_generator.prompts[-1]][1:3] == ["two", "reply two"]


async def test_compare_answers_a_conversation_with_every_strategy(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/compare", json={"messages": LATHE_THEN_FOLLOW_UP})

    assert response.status_code == 200
    body = response.json()
    assert body["question"] == "How often is its hydraulic oil changed?"
    assert {name: result["usage"]["turns"] for name, result in body["results"].items()} == {
        "rag": 3,
        "finetuned": 3,
        "hybrid": 3,
    }


async def test_a_streamed_conversation_ends_with_the_full_response(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/rag", json={"messages": LATHE_THEN_FOLLOW_UP, "stream": True})

    events = sse_events(response.text)
    (first, sources), (last, done) = events[0], events[-1]
    assert first == "sources"
    assert sources["sources"][0]["title"] == LATHE
    assert last == "done"
    assert done["usage"]["turns"] == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "exactly one of `question`"),
        ({"question": "q", "messages": [{"role": "user", "content": "q"}]}, "exactly one"),
        ({"messages": []}, "messages"),
        (
            {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
            "last message must be the user's question",
        ),
        ({"messages": [{"role": "tool", "content": "q"}]}, "messages.0.role"),
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
    ],
)
async def test_a_bad_conversation_is_a_clear_422(
    client: httpx.AsyncClient, body: dict[str, object], message: str
) -> None:
    response = await client.post("/rag", json=body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert message in error["message"]
    assert error["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("limits", "turns", "setting"),
    [
        (ConversationSettings(max_turns=2), 3, "FMT_CONVERSATION__MAX_TURNS"),
        (ConversationSettings(max_chars=100), 2, "FMT_CONVERSATION__MAX_CHARS"),
    ],
)
async def test_conversations_beyond_the_limits_are_refused(
    limits: ConversationSettings, turns: int, setting: str
) -> None:
    settings = Settings(_env_file=None, conversation=limits)  # type: ignore[call-arg]
    backends = Backends(FakeRetriever(PASSAGES), FakeGenerator(), FakeGenerator())
    transport = httpx.ASGITransport(app=create_app(settings, backends=backends))
    messages = [{"role": "user", "content": "x" * 60} for _ in range(turns)]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/rag", json={"messages": messages})

    assert response.status_code == 422
    assert setting in response.json()["error"]["message"]
