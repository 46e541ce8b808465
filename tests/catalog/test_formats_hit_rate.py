"""With the real MiniLM: every format of the sample catalog finds the gold product in the top 3."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from app.retrievers.local_hit_rate import measure_hit_rate, read_test_questions

from app.backends.embeddings import load_embedder
from app.catalog import ChunkSizes, chunk_sections, read_catalog
from app.retrievers.local import LocalRetriever
from app.retrievers.local_index import Encoder, Vector, Vectors, build_index
from app.settings import PROJECT_ROOT, Settings
from tests.catalog.converters import CONVERTERS, sample_products

pytestmark = pytest.mark.slow

TEST_SET = PROJECT_ROOT / "data" / "test" / "test.json"
MIN_HIT_RATE = 0.95


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


class _RememberingEncoder:
    """MiniLM that embeds a text once: most chunks read the same in every format."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self.identity = encoder.identity
        self._vectors: dict[str, Vector] = {}

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        new = [text for text in dict.fromkeys(texts) if text not in self._vectors]
        if new:
            self._vectors.update(zip(new, self._encoder.encode(new, batch_size), strict=True))
        return np.stack([self._vectors[text] for text in texts]).astype(np.float32)


@pytest.fixture(scope="module")
def embedder(settings: Settings) -> Encoder:
    return _RememberingEncoder(load_embedder(settings))


@pytest.fixture(autouse=True)
def _keep_torch_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.retrievers.local.limit_torch_threads", lambda: None)


@pytest.mark.parametrize("name", sorted(CONVERTERS))
def test_gold_product_hit_rate_at_3_by_source_title(
    tmp_path: Path, name: str, settings: Settings, embedder: Encoder
) -> None:
    path = tmp_path / name
    CONVERTERS[name](sample_products(), path)
    sections = read_catalog(path, settings.documents).sections
    index = build_index(chunk_sections(sections, ChunkSizes.of(settings)), embedder)
    retriever = LocalRetriever(index, embedder, rrf_k=60, candidates=20, workers=1)

    report = measure_hit_rate(retriever.search, read_test_questions(TEST_SET), top_k=3)

    assert report.hit_rate >= MIN_HIT_RATE, report.misses
