"""Conversations in the test set: loaded, asked as `messages`, and the sample's facts true."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from eval.metrics.facts import check_facts
from eval.runner import RunOptions, run_evaluation
from eval.settings import PROJECT_ROOT, EvalSettings
from eval.testset import QuestionSetError, load_testset

CONVERSATIONS = PROJECT_ROOT / "data" / "test" / "conversations.json"
READY = {"ready": True, "backends": {"retriever": "r", "generator": "g", "tuned_generator": "t",
                                     "models": {"base": "b", "tuned": "t"}}}  # fmt: skip


def test_the_sample_conversations_are_follow_ups_with_true_facts() -> None:
    conversations = load_testset(CONVERSATIONS)
    catalog = (PROJECT_ROOT / "data" / "kb" / "catalog.txt").read_text(encoding="utf-8")
    assert len(conversations) >= 10
    for item in conversations:
        assert len(item.messages) >= 3 and item.messages[-1].role == "user", item.index
        assert item.must_mention, item.index
        stated = check_facts(item.answer, item.must_mention)
        assert stated is not None and not stated.missing, item.index
        in_catalog = check_facts(catalog, item.must_mention)
        assert in_catalog is not None and not in_catalog.missing, item.index
        # No fact anywhere in the conversation: echoing it must not score.
        echoed = check_facts(item.question, item.must_mention)
        assert echoed is not None and not echoed.found, item.index
    last_turns = [item.messages[-1].content for item in conversations]
    assert "And E-33?" in last_turns
    # The follow-up names no product; the gold product is named only in an earlier turn.
    for item in conversations:
        if item.messages[-1].content == "And E-33?":
            assert "Kestrel" in item.messages[0].content and item.product_name.startswith("Kestrel")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"messages": [{"role": "user", "content": "Hi"}], "question": "Q?", "answer": "A."},
         "exactly one"),
        ({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yes"}],
          "answer": "A."}, "end with a user turn"),
        ({"messages": [{"role": "robot", "content": "Hi"}], "answer": "A."}, "role"),
        ({"messages": [], "answer": "A."}, "end with a user turn"),
    ],
)  # fmt: skip
def test_malformed_conversations_are_refused(
    tmp_path: Path, item: dict[str, Any], message: str
) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps([item]))
    with pytest.raises(QuestionSetError, match=message):
        load_testset(path)


async def test_a_conversation_is_posted_as_messages(
    make_settings: Callable[..., EvalSettings],
) -> None:
    bodies: list[tuple[str, Any]] = []

    def service(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ready":
            return httpx.Response(200, json=READY)
        if request.url.path == "/openapi.json":
            return httpx.Response(404, json={})
        body = json.loads(request.content)
        bodies.append((request.url.path, body))
        strategy = request.url.path.strip("/")
        return httpx.Response(200, json={
            "strategy": strategy, "answer": "Every 4,000 hours or once a year.",
            "sources": [], "model": "m", "usage": {"input_tokens": 1, "output_tokens": 1},
            "timings_ms": {"retrieve": 0, "generate": 1, "total": 1}, "request_id": "r",
        })  # fmt: skip

    settings = make_settings(testset=CONVERSATIONS)
    options = RunOptions(show_progress=False, limit=2, transport=httpx.MockTransport(service))
    outputs = await run_evaluation(settings, options)

    assert {path for path, _ in bodies} == {"/rag", "/finetuned", "/hybrid"}
    for _, body in bodies:
        assert set(body) == {"messages"}
        assert body["messages"][-1]["role"] == "user"
        assert [turn["role"] for turn in body["messages"]] == ["user", "assistant", "user"]
    assert outputs.analysis.strategies[0].samples == 2
