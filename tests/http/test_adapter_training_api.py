"""While the adapter trains: rag answers, finetuned and hybrid answer 503 adapter_training with
Retry-After, /ready shows the progress; once the adapter lands they answer with it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.generators.local import LocalLlamaGenerator
from app.generators.local_jobs import QueueLimits
from app.generators.local_tuned import AwaitedAdapterGenerator
from app.generators.lora_adapters import TrainingProgress, write_progress
from app.main import create_app
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import SAMPLE_PASSAGES
from tests.generators.test_local_jobs import TickingLlama

TUNED_ID = "base+lora:0123"
QUESTION = {"question": "How often is the KX-420 oil changed?", "max_tokens": 4}


@pytest.fixture
def tuned(tmp_path: Path) -> AwaitedAdapterGenerator:
    write_progress(
        tmp_path / "progress.json",
        TrainingProgress(state="training", step=7, total_steps=70, eta_s=120.0, pid=os.getpid()),
    )
    return AwaitedAdapterGenerator(
        LocalLlamaGenerator(TickingLlama(), "base (tokenizer)", 30.0, QueueLimits(8, 30.0)),
        TUNED_ID,
        tmp_path / "adapter.gguf",
        tmp_path / "progress.json",
        lambda _: LocalLlamaGenerator(TickingLlama(0.0), TUNED_ID, 30.0, QueueLimits(8, 30.0)),
        poll_s=0.01,
    )


@pytest.fixture
async def client(
    settings: Settings, tuned: AwaitedAdapterGenerator
) -> AsyncIterator[httpx.AsyncClient]:
    base = FakeGenerator(answer="Every 4,000 hours.", model_id="fake-base")
    app = create_app(settings, backends=Backends(FakeRetriever(SAMPLE_PASSAGES), base, tuned))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await tuned.aclose()


async def test_rag_answers_while_the_tuned_strategies_wait_for_their_adapter(
    client: httpx.AsyncClient,
) -> None:
    rag = await client.post("/rag", json=QUESTION)
    assert rag.status_code == 200
    assert rag.json()["model"] == "fake-base"

    for strategy in ("finetuned", "hybrid"):
        refused = await client.post(f"/{strategy}", json=QUESTION)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "adapter_training"
        assert refused.headers["Retry-After"] == "120"

    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    assert ready.json()["adapter"] == {
        "status": "training, step 7 of 70, about 120 s left",
        "state": "training",
        "step": 7,
        "total_steps": 70,
        "eta_s": 120.0,
    }


async def test_the_tuned_strategies_switch_to_the_adapter_when_it_lands(
    client: httpx.AsyncClient, tuned: AwaitedAdapterGenerator, tmp_path: Path
) -> None:
    (tmp_path / "adapter.gguf").write_bytes(b"GGUF")
    (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")
    assert tuned.landed.wait(10.0)

    answered = await client.post("/finetuned", json=QUESTION)
    assert answered.status_code == 200
    assert answered.json()["model"] == TUNED_ID
    assert (await client.get("/ready")).json()["adapter"] is None


@pytest.mark.parametrize("strategy", ["finetuned", "hybrid"])
async def test_a_streamed_request_is_refused_the_same_way_before_any_event(
    client: httpx.AsyncClient, strategy: str
) -> None:
    """hybrid retrieves before it generates: its sources must not go out (a 200) before the
    tuned model is known to be unable to answer."""
    refused = await client.post(f"/{strategy}", json={**QUESTION, "stream": True})

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "adapter_training"
    assert refused.headers["Retry-After"] == "120"
