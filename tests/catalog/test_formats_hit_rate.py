"""With the real MiniLM: every format of the sample catalog finds the gold product in the top 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.embeddings import load_embedder
from app.retrievers.local_index import Encoder
from app.settings import Settings
from tests.catalog.converters import CONVERTERS, sample_products
from tests.catalog.format_hit_rates import RememberingEncoder, format_retriever, hit_rate

pytestmark = pytest.mark.slow

MIN_HIT_RATE = 0.95


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def embedder(settings: Settings) -> Encoder:
    return RememberingEncoder(load_embedder(settings))


@pytest.fixture(autouse=True)
def _keep_torch_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.retrievers.local.limit_torch_threads", lambda: None)


@pytest.mark.parametrize("name", sorted(CONVERTERS))
def test_gold_product_hit_rate_at_3_by_source_title(
    tmp_path: Path, name: str, settings: Settings, embedder: Encoder
) -> None:
    path = tmp_path / name
    CONVERTERS[name](sample_products(), path)

    report = hit_rate(format_retriever(path, settings, embedder), top_k=3)

    assert report.hit_rate >= MIN_HIT_RATE, report.misses
