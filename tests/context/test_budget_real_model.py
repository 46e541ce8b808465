"""The context budget against the real embedded models: valid input never takes the service down.

Before the budget, five `top_k: 20` requests each failed with llama.cpp's "Requested tokens
exceed context window" (a 502), opened the base model's circuit and turned /ready to 503.
The model runs with a small context here so that each request is quick; the mechanism (the
window comes from the model's own n_ctx) is the one that serves n_ctx 2048.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from app.main import create_app
from app.settings import (
    ContextSettings,
    LocalModelSettings,
    RetrievalSettings,
    Settings,
)
from app.wiring.compose import build_backends
from tests.sse import sse_events

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

QUESTION = "What does fault code E-21 mean on the KX-420 press, and what should I check first?"
# About 250 tokens: fits a 512-token context alone, not with twenty passages.
LONG_QUESTION = " ".join([QUESTION] * 12)
# About 1,800 tokens: cannot fit a 512-token context whatever is left out.
TOO_LONG_QUESTION = " ".join([QUESTION] * 90)[:3990]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(
    tmp_path_factory: pytest.TempPathFactory, shared_index_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    work = tmp_path_factory.mktemp("budget")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        retrieval=RetrievalSettings(index_dir=shared_index_dir),
        local=LocalModelSettings(adapters_dir=work, require_adapter=False, n_ctx=512),
        # Whole passages, as before selection existed: the budget alone must hold.
        context=ContextSettings(selection=False),
    )
    backends = build_backends(settings)
    transport = httpx.ASGITransport(app=create_app(settings, backends=backends))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=300) as c:
            yield c
    finally:
        await backends.aclose()


async def test_twenty_heavy_requests_are_answered_or_refused_and_no_circuit_opens(
    client: httpx.AsyncClient,
) -> None:
    outcomes: list[tuple[str, int]] = []
    for number in range(20):
        path = ("/rag", "/hybrid", "/finetuned", "/rag")[number % 4]
        question = TOO_LONG_QUESTION if number % 3 == 2 else LONG_QUESTION
        body = {"question": question, "top_k": 20, "max_tokens": 8, "stream": number % 2 == 1}
        response = await client.post(path, json=body)
        outcomes.append((path, response.status_code))
        if question is TOO_LONG_QUESTION:
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == "question_too_long"
            continue
        assert response.status_code == 200, response.text
        if body["stream"]:
            events = sse_events(response.text)
            assert events[-1][0] == "done", response.text[-500:]
            assert "event: error" not in response.text
            if path != "/finetuned":
                event, sources = events[0]
                assert event == "sources", events[0]
                assert sources["context"]["truncated"] is True
        else:
            usage = response.json()["usage"]
            assert usage["input_tokens"] <= 512 - 8
            if path != "/finetuned":
                assert usage["context_truncated"] is True
                assert usage["passages_retrieved"] == 20
                assert usage["passages_kept"] < 20
    ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["circuits"].values()) == {"closed"}, outcomes
