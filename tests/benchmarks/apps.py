"""The apps the service benchmarks serve, built by uvicorn's `--factory` in their own process.

`service_app` is the real service on fake backends (no model work, so only our overhead is left):
instant ones that return fixed passages and a fixed answer, or, with a delay, the tests' fakes;
`bare_app` is one FastAPI endpoint returning the same JSON, the floor to compare it with.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from fastapi import FastAPI

from app.core.types import ChatMessage, Passage, TokenUsage
from app.generators.base import Generation, GenerationEvent, GenerationParams, Generator
from app.main import create_app
from app.retrievers.base import Retriever
from app.settings import LimitSettings, Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FAKE_LIMITS, FakeGenerator, FakeRetriever

GENERATOR_DELAY_ENV = "FMT_BENCH_GENERATOR_DELAY_S"
RESPONSE_ENV = "FMT_BENCH_RESPONSE_JSON"
IN_FLIGHT_CAP = 1024

PASSAGES = [
    Passage(
        id=f"bench-{index}",
        title=f"Bench Product {index}",
        text=f"Bench product {index} runs at {200 + index} bar and weighs {index * 10} kg.",
        score=1.0 / (index + 1),
        location=f"catalog.txt#Bench Product {index}/Description/0",
        section="Description",
    )
    for index in range(3)
]
ANSWER = "The press runs at 210 bar hydraulic pressure, as the catalog says."
MODEL_ID = "bench-fake"


class InstantRetriever:
    """The passages in their fixed order, at once: a retriever that costs nothing."""

    name = "instant"
    encoder = None

    async def retrieve(self, query: str, top_k: int) -> list[Passage]:
        return PASSAGES[:top_k]

    async def aclose(self) -> None:
        return None


class InstantGenerator:
    """The same answer, at once, without looking at the prompt: a generator that costs nothing
    (the tests' `FakeGenerator` counts the prompt's words and keeps the last prompts)."""

    name = "instant"
    model_id = MODEL_ID
    limits = FAKE_LIMITS
    tokenizer = None
    generation = Generation(ANSWER, MODEL_ID, TokenUsage(120, 14, estimated=True), "stop")

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation:
        return self.generation

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        yield self.generation

    async def aclose(self) -> None:
        return None


def service_app() -> FastAPI:
    delay_s = float(os.environ.get(GENERATOR_DELAY_ENV, "0"))
    # The default per-client rate limit and in-flight cap would refuse the load itself.
    settings = Settings(
        _env_file=None,
        log_level="WARNING",
        limits=LimitSettings(rate_limit_per_minute=0, max_in_flight_per_backend=IN_FLIGHT_CAP),
    )
    retriever: Retriever
    generator: Generator
    if delay_s:
        retriever = FakeRetriever(PASSAGES)
        generator = FakeGenerator(answer=ANSWER, delay_s=delay_s, model_id=MODEL_ID)
    else:
        retriever, generator = InstantRetriever(), InstantGenerator()
    return create_app(settings, backends=Backends(retriever, generator, generator))


def bare_app() -> FastAPI:
    import json

    response: dict[str, Any] = json.loads(os.environ[RESPONSE_ENV])
    app = FastAPI()

    @app.post("/rag")
    async def rag(body: dict[str, Any]) -> dict[str, Any]:
        return response

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
