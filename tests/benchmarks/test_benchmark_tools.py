"""The pieces `make bench` is built from, checked quickly so the benchmarks do not rot."""

from __future__ import annotations

import json
from pathlib import Path

from app.catalog import read_catalog
from app.settings import DocumentSettings
from tests.benchmarks.apps import RESPONSE_ENV
from tests.benchmarks.bench_retrieval import SAMPLE_CATALOG, synthetic_catalog
from tests.benchmarks.results import Measurement, table
from tests.benchmarks.servers import run_load, serving


def test_the_synthetic_catalog_repeats_the_sample_with_unique_products(tmp_path: Path) -> None:
    sample_products = read_catalog(SAMPLE_CATALOG, DocumentSettings()).products()

    catalog = synthetic_catalog(SAMPLE_CATALOG, 3, tmp_path)
    products = read_catalog(catalog, DocumentSettings()).products()

    assert len(set(products)) == 3 * len(sample_products)
    assert "KX-420-002" in catalog.read_text(encoding="utf-8")


def test_the_table_shows_targets_and_misses() -> None:
    printed = table(
        [
            Measurement("retrieval", "sample query p50", 31.25, "ms", "< 20 ms", False),
            Measurement(
                "generation", "tuned time to first token p50", None, "ms", note="no adapter"
            ),
        ]
    )

    lines = printed.splitlines()
    assert "31.2 ms" in lines[2] and "< 20 ms" in lines[2] and "NO" in lines[2]
    assert "no adapter" in lines[3]


def test_the_load_generator_counts_answers_from_a_live_server() -> None:
    environment = {RESPONSE_ENV: json.dumps({"answer": "ok"})}
    with serving("bare_app", environment) as port:
        figures = run_load(port, "--concurrency", "4", "--per-connection", "5")

    assert figures.requests == 20
    assert figures.failures == 0
    assert 0 < figures.p50_ms <= figures.p99_ms
