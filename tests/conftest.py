"""Shared fixtures: no network, no hub, an app on fake backends."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.core.types import Passage
from app.main import create_app
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever

ANSWER_KEYS = frozenset(
    {"strategy", "answer", "finish_reason", "sources", "model", "usage", "timings_ms", "request_id"}
)
"""The fields of every answer (JSON, the `done` event, /compare's results): the HTTP contract."""

SAMPLE_PASSAGES = [
    Passage(
        id="p1",
        title="Kestrel KX-420 Hydraulic Press",
        text="The KX-420 runs at 210 bar hydraulic pressure.",
        score=0.9,
        location="catalog.txt#Kestrel KX-420 Hydraulic Press/Description/0",
        section="Description",
    ),
    Passage(
        id="p2",
        title="Orion W-90 Welder",
        text="Set the W-90 wire feed to 7.5 m/min for 1 mm steel.",
        score=0.5,
        location="catalog.txt#Orion W-90 Welder/Configuration Manual/0",
        section="Configuration Manual",
    ),
]


@pytest.fixture(scope="session")
def shared_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One retrieval index folder for the tests of the real embedded models (in process or in a
    served subprocess). An index is named by its catalog, chunking and encoder, so the first test
    builds the sample catalog's index and the others load it instead of embedding it again."""
    return tmp_path_factory.mktemp("shared-index")


@pytest.fixture
def settings(tmp_path: os.PathLike[str]) -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def fake_retriever() -> FakeRetriever:
    return FakeRetriever(SAMPLE_PASSAGES)


@pytest.fixture
def base_generator() -> FakeGenerator:
    return FakeGenerator(answer="Base answer: 210 bar.", model_id="fake-base")


@pytest.fixture
def tuned_generator() -> FakeGenerator:
    return FakeGenerator(answer="Tuned answer: 210 bar.", model_id="fake-tuned")


@pytest.fixture
def app(
    settings: Settings,
    fake_retriever: FakeRetriever,
    base_generator: FakeGenerator,
    tuned_generator: FakeGenerator,
) -> FastAPI:
    backends = Backends(fake_retriever, base_generator, tuned_generator)
    return create_app(settings, backends=backends)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
