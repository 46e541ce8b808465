"""(3) Retrieval: local index build time and query p50, on the sample catalog and a larger copy."""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app.catalog import ChunkSizes, chunk_catalog
from app.core.embeddings import Embedder, limit_torch_threads, load_embedder
from app.retrievers.local import LocalRetriever
from app.retrievers.local_index import build_index
from app.settings import PROJECT_ROOT, Settings
from tests.benchmarks.results import Measurement, percentile

NAME = "retrieval"
FULL_COPIES = 100
QUICK_COPIES = 10
SAMPLE_CATALOG = PROJECT_ROOT / "data" / "kb"
TESTSET = PROJECT_ROOT / "data" / "test" / "test.json"
_PRODUCT_ID = re.compile(r"^Product ID:\s*(\S+)\s*$", re.MULTILINE)
_PRODUCT_HEADING = re.compile(r"^=== PRODUCT: (.+?) ===$", re.MULTILINE)


def synthetic_catalog(sample: Path, copies: int, folder: Path) -> Path:
    """`copies` versions of the sample catalog, every product name and product id made unique."""
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in sorted(sample.glob("*.txt")))
    product_ids = sorted(set(_PRODUCT_ID.findall(text)), key=len, reverse=True)
    parts = []
    for copy in range(copies):
        version = _PRODUCT_HEADING.sub(rf"=== PRODUCT: \1 Series {copy:03d} ===", text)
        for product_id in product_ids:
            version = re.sub(rf"\b{re.escape(product_id)}\b", f"{product_id}-{copy:03d}", version)
        parts.append(version)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "catalog.txt"
    path.write_text("\n\n".join(parts), encoding="utf-8")
    return path


def _questions(limit: int | None) -> list[str]:
    questions = [item["question"] for item in json.loads(TESTSET.read_text(encoding="utf-8"))]
    return questions[:limit] if limit else questions


def _built(catalog: Path, settings: Settings, embedder: Embedder) -> tuple[LocalRetriever, float]:
    retrieval = settings.retrieval
    started = time.perf_counter()
    chunks = chunk_catalog(catalog, ChunkSizes.of(settings), settings.documents)
    index = build_index(chunks, embedder)
    seconds = time.perf_counter() - started
    retriever = LocalRetriever(
        index, embedder, rrf_k=retrieval.rrf_k, candidates=retrieval.candidates
    )
    return retriever, seconds


def _query_ms(retriever: LocalRetriever, questions: list[str], rounds: int) -> list[float]:
    for question in questions[:3]:
        retriever.search(question, 3)  # warm-up
    timings = []
    for _ in range(rounds):
        for question in questions:
            # Every timed search is a new question: repeated ones hit the query-vector cache
            # and take a fraction of a millisecond, which would flatter the figure.
            retriever.forget_queries()
            started = time.perf_counter()
            retriever.search(question, 3)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def _target(label: str, copies: int, p50_ms: float) -> tuple[str, bool | None]:
    """The issue's targets: 20 ms on the sample, 100 ms at 100x (none for a smaller copy)."""
    if label == "sample":
        return "< 20 ms", p50_ms < 20
    if copies == FULL_COPIES:
        return "< 100 ms", p50_ms < 100
    return f"< 100 ms at {FULL_COPIES}x", None


def run(quick: bool) -> list[Measurement]:
    copies = QUICK_COPIES if quick else FULL_COPIES
    settings = Settings(_env_file=None)
    embedder = load_embedder(settings)
    rows: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="fmt-bench-") as folder:
        catalogs = {
            "sample": SAMPLE_CATALOG,
            f"{copies}x": synthetic_catalog(SAMPLE_CATALOG, copies, Path(folder)),
        }
        built = {}
        for label, catalog in catalogs.items():
            print(f"  building the {label} index…", file=sys.stderr, flush=True)
            built[label] = _built(catalog, settings, embedder)
        limit_torch_threads()  # as the service does once its index is built
        questions = _questions(20 if quick else None)
        for label, (retriever, build_s) in built.items():
            timings = _query_ms(retriever, questions, 1 if quick else 3)
            p50 = statistics.median(timings)
            target, met = _target(label, copies, p50)
            chunks = len(retriever.index.chunks)
            rows += [
                Measurement(NAME, f"{label} index build ({chunks:,} chunks)", build_s, "s"),
                Measurement(NAME, f"{label} query p50", p50, "ms", target, met),
                Measurement(NAME, f"{label} query p95", percentile(timings, 0.95), "ms"),
            ]
    return rows
