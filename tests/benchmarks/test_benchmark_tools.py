"""The pieces `make bench` is built from, checked quickly so the benchmarks do not rot."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from app.catalog import read_catalog
from app.http.schemas import AnswerRequest
from app.settings import DocumentSettings
from tests.benchmarks.apps import RESPONSE_ENV
from tests.benchmarks.bench_retrieval import SAMPLE_CATALOG, synthetic_catalog
from tests.benchmarks.results import Measurement, table
from tests.benchmarks.servers import run_load, serving
from tests.benchmarks.soak_mix import (
    QUESTION_MAX_CHARS,
    MixShape,
    Outcome,
    SoakTally,
    build_mix,
    valid_request,
)
from tests.benchmarks.soak_server import ServerSampler


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


QUESTIONS = ["What pressure does the press use?", "Which wire suits 1 mm steel?"]
SHAPE = MixShape(weights={"valid": 1, "malformed": 1, "disconnect": 1}, max_body_bytes=4096)


def test_the_soak_mix_is_reproducible_and_keeps_valid_requests_within_the_schema() -> None:
    mix = build_mix(300, QUESTIONS, SHAPE, seed=7)

    assert mix == build_mix(300, QUESTIONS, SHAPE, seed=7)
    assert {request.kind for request in mix} == {"valid", "malformed", "disconnect"}
    for request in mix:
        if request.kind == "malformed":
            continue
        body = AnswerRequest.model_validate_json(request.body)
        assert body.stream == request.stream
        assert not (request.path == "/compare" and request.stream)
    long_questions = [
        AnswerRequest.model_validate_json(request.body).question
        for request in mix
        if request.kind == "valid" and "long" in request.label
    ]
    assert long_questions
    assert all(
        QUESTION_MAX_CHARS * 0.8 < len(question) <= QUESTION_MAX_CHARS
        for question in long_questions
    )


def test_every_malformed_soak_request_is_refused_by_the_service_schema_or_limits() -> None:
    mix = build_mix(300, QUESTIONS, SHAPE, seed=3)
    malformed = [request for request in mix if request.kind == "malformed"]

    assert len({request.label for request in malformed}) > 10
    for request in malformed:
        too_big = len(request.body) > SHAPE.max_body_bytes
        not_json = request.content_type != "application/json"
        if not (too_big or not_json):
            with pytest.raises(ValueError):
                AnswerRequest.model_validate_json(request.body)


def test_the_soak_tally_separates_load_shedding_from_failures_of_valid_requests() -> None:
    valid = replace(valid_request(QUESTIONS, SHAPE, random.Random(1)), stream=False)
    streamed = replace(valid, stream=True)
    tally = SoakTally()
    tally.add(Outcome(valid, 200, 1.0))
    tally.add(Outcome(valid, 200, 3.0))
    tally.add(Outcome(valid, 503, 0.1, retry_after=True))
    tally.add(Outcome(valid, 502, 0.2))
    tally.add(Outcome(streamed, 200, 0.5, stream_end=None))
    tally.add(Outcome(streamed, 200, 0.5, stream_end="error", failures=("stream error x",)))
    tally.add(Outcome(replace(valid, kind="malformed", label="bad json"), 500, 0.01))

    assert tally.valid_failures() == {
        "503 shed (Retry-After)": 1,
        "502": 1,
        "stream ended by a cut connection": 1,
        "stream ended by error": 1,
    }
    assert tally.valid_latencies_s() == [1.0, 3.0]
    assert tally.malformed_server_errors() == {"bad json: 500": 1}


def test_the_soak_counts_each_circuit_opening_once() -> None:
    def exposition(state: float) -> str:
        return (
            "# HELP fmt_circuit_state Circuit.\n# TYPE fmt_circuit_state gauge\n"
            f'fmt_circuit_state{{backend="base"}} {state}\n'
            'fmt_circuit_state{backend="tuned"} 0.0\n'
        )

    sampler = ServerSampler.__new__(ServerSampler)
    sampler.opened, sampler._last_states = Counter(), {}
    for state in (0.0, 2.0, 2.0, 1.0, 2.0, 0.0):
        sampler.note_circuits(exposition(state))

    assert sampler.opened == {"base": 2}
