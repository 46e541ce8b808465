"""The embedded default end to end: real MiniLM retriever, real SmolLM2, through the HTTP API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from app.main import create_app
from app.settings import PROJECT_ROOT, LocalModelSettings, RetrievalSettings, Settings
from app.wiring.compose import build_backends

# One event loop for the module, so the models load once and serve every test.
pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

OTHER_CATALOG = """=== PRODUCT: Zephyr ZQ-7 Ice Maker ===
--- Description ---
The Zephyr ZQ-7 ice maker produces 95 kg of cube ice per day from a 2.4 kW compressor.
--- Operation Instructions ---
Fault code Z-44 means the water inlet valve is blocked; clean the inlet screen.
"""


def _settings(catalog: Path, work: Path, index_dir: Path | None = None) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        catalog=catalog,
        retrieval=RetrievalSettings(index_dir=index_dir or work / "index"),
        local=LocalModelSettings(adapters_dir=work / "adapters", require_adapter=False),
    )


async def _client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    backends = build_backends(settings)
    app = create_app(settings, backends=backends)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=120) as c:
            yield c
    finally:
        await backends.aclose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sample_client(
    tmp_path_factory: pytest.TempPathFactory, shared_index_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    work = tmp_path_factory.mktemp("sample")
    sample = _settings(PROJECT_ROOT / "data" / "kb", work, shared_index_dir)
    async for client in _client_for(sample):
        yield client


@pytest.fixture(scope="module")
def first_test_question() -> dict[str, str]:
    items: list[dict[str, str]] = json.loads(
        (PROJECT_ROOT / "data" / "test" / "test.json").read_text(encoding="utf-8")
    )
    return items[0]


@pytest.mark.parametrize("path", ["/rag", "/finetuned", "/hybrid"])
async def test_each_endpoint_answers_a_catalog_question(
    sample_client: httpx.AsyncClient, first_test_question: dict[str, str], path: str
) -> None:
    response = await sample_client.post(
        path, json={"question": first_test_question["question"], "max_tokens": 48}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"].strip()
    assert body["usage"]["output_tokens"] > 0
    if path == "/finetuned":
        assert body["sources"] == []
    else:
        titles = [source["title"] for source in body["sources"]]
        assert first_test_question["product_name"] in titles


async def test_compare_answers_with_all_three(
    sample_client: httpx.AsyncClient, first_test_question: dict[str, str]
) -> None:
    response = await sample_client.post(
        "/compare", json={"question": first_test_question["question"], "max_tokens": 32}
    )
    body = response.json()
    assert set(body["results"]) == {"rag", "finetuned", "hybrid"}, body.get("errors")


async def test_rag_streams_tokens_from_the_real_model(
    sample_client: httpx.AsyncClient, first_test_question: dict[str, str]
) -> None:
    response = await sample_client.post(
        "/rag",
        json={"question": first_test_question["question"], "max_tokens": 24, "stream": True},
    )
    assert response.text.count("event: delta") > 3
    assert "event: done" in response.text


async def test_another_catalog_is_answered_from_that_catalog(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "ice.txt").write_text(OTHER_CATALOG, encoding="utf-8")
    async for client in _client_for(_settings(catalog, tmp_path)):
        body = (
            await client.post(
                "/rag", json={"question": "What does fault Z-44 mean?", "max_tokens": 40}
            )
        ).json()
        assert body["sources"][0]["title"] == "Zephyr ZQ-7 Ice Maker"
        assert "Z-44" in body["sources"][0]["text"]
