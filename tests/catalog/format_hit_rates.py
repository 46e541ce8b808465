"""`python -m tests.catalog.format_hit_rates`: the sample catalog in every format, hit@1 and hit@3.

Prints the table of docs/catalog.md: each converted file indexed with the default settings and the
real MiniLM, and the questions of data/test/test.json asked of the local retriever.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.catalog import ChunkSizes, chunk_sections, read_catalog
from app.core.embeddings import load_embedder
from app.retrievers.local import LocalRetriever
from app.retrievers.local_index import Encoder, Vector, Vectors, build_index
from app.settings import PROJECT_ROOT, Settings
from eval.retrieval.__main__ import conversation_search
from eval.retrieval.hit_rate import HitRateReport, measure_hit_rate, read_test_questions
from tests.catalog.converters import CONVERTERS, sample_products

TEST_SET = PROJECT_ROOT / "data" / "test" / "test.json"


class RememberingEncoder:
    """An encoder that embeds a text once: most chunks read the same in every format."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self.identity = encoder.identity
        self._vectors: dict[str, Vector] = {}

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        new = [text for text in dict.fromkeys(texts) if text not in self._vectors]
        if new:
            self._vectors.update(zip(new, self._encoder.encode(new, batch_size), strict=True))
        return np.stack([self._vectors[text] for text in texts]).astype(np.float32)


def format_retriever(path: Path, settings: Settings, encoder: Encoder) -> LocalRetriever:
    """The local retriever over one catalog file, built in memory."""
    sections = read_catalog(path, settings.documents).sections
    index = build_index(chunk_sections(sections, ChunkSizes.of(settings)), encoder)
    return LocalRetriever(index, encoder, rrf_k=settings.retrieval.rrf_k, candidates=20, workers=1)


def hit_rate(retriever: LocalRetriever, top_k: int) -> HitRateReport:
    return measure_hit_rate(conversation_search(retriever), read_test_questions(TEST_SET), top_k)


def main() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    encoder = RememberingEncoder(load_embedder(settings))
    print("| file | chunks | hit@1 | hit@3 |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name in sorted(CONVERTERS):
            path = Path(folder) / name
            CONVERTERS[name](sample_products(), path)
            retriever = format_retriever(path, settings, encoder)
            rates = [hit_rate(retriever, top_k) for top_k in (1, 3)]
            cells = " | ".join(f"{r.hits}/{r.questions} = {r.hit_rate:.1%}" for r in rates)
            print(f"| {name} | {len(retriever.index.chunks)} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
