"""(1) Service overhead: /rag on an instant fake backend against a bare FastAPI endpoint."""

from __future__ import annotations

import json

import httpx

from tests.benchmarks.apps import RESPONSE_ENV
from tests.benchmarks.load import LoadSummary
from tests.benchmarks.results import Measurement
from tests.benchmarks.servers import run_load, serving

NAME = "overhead"
CONCURRENCY = 16
BODY = '{"question": "What hydraulic pressure does the press run at?"}'


def _median_round(rounds: list[LoadSummary]) -> LoadSummary:
    return sorted(rounds, key=lambda figures: figures.requests_per_s)[len(rounds) // 2]


def _measure(rounds: int, duration_s: float) -> tuple[LoadSummary, LoadSummary]:
    """Alternates short rounds on the two servers, so a burst of load from elsewhere on the
    machine hits both; returns the median round of each."""
    load = ["--duration", str(duration_s), "--concurrency", str(CONCURRENCY), "--body", BODY]
    environment = {RESPONSE_ENV: _service_response()}
    service_rounds, bare_rounds = [], []
    with serving("service_app") as service, serving("bare_app", environment) as bare:
        for port in (service, bare):  # warm-up: first requests pay for imports
            run_load(port, *load[2:], "--duration", "1")
        for _ in range(rounds):
            service_rounds.append(run_load(service, *load))
            bare_rounds.append(run_load(bare, *load))
    return _median_round(service_rounds), _median_round(bare_rounds)


def _service_response() -> str:
    """The JSON /rag answers, for the bare endpoint to return."""
    with serving("service_app") as port:
        response = httpx.post(f"http://127.0.0.1:{port}/rag", json=json.loads(BODY), timeout=10)
        response.raise_for_status()
        return json.dumps(response.json())


def _rows(label: str, figures: LoadSummary) -> list[Measurement]:
    rows = [
        Measurement(NAME, f"{label} requests/s", figures.requests_per_s, "req/s"),
        Measurement(NAME, f"{label} p50", figures.p50_ms, "ms"),
        Measurement(NAME, f"{label} p99", figures.p99_ms, "ms"),
    ]
    if figures.failures:
        rows.append(Measurement(NAME, f"{label} failures", figures.failures, "", "0", False))
    return rows


def run(quick: bool) -> list[Measurement]:
    service, bare = _measure(rounds=1 if quick else 5, duration_s=3.0 if quick else 4.0)
    ratio = service.requests_per_s / bare.requests_per_s
    return [
        Measurement(NAME, "requests/s, /rag over bare", ratio, "x", ">= 0.6", ratio >= 0.6),
        *_rows(f"/rag, {CONCURRENCY} connections", service),
        *_rows(f"bare, {CONCURRENCY} connections", bare),
    ]
