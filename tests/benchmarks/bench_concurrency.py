"""(2) Concurrency: many simultaneous requests to a backend that takes 1 s each."""

from __future__ import annotations

from tests.benchmarks.apps import GENERATOR_DELAY_ENV
from tests.benchmarks.results import Measurement
from tests.benchmarks.servers import run_load, serving

NAME = "concurrency"
BACKEND_DELAY_S = 1.0


def run(quick: bool) -> list[Measurement]:
    requests = 64 if quick else 256
    once = ["--per-connection", "1", "--duration", "120"]
    with serving("service_app", {GENERATOR_DELAY_ENV: str(BACKEND_DELAY_S)}) as port:
        run_load(port, "--concurrency", "8", *once)  # warm-up
        figures = run_load(port, "--concurrency", str(requests), *once)
    factor = figures.wall_s / BACKEND_DELAY_S
    rows = [
        Measurement(
            NAME, f"wall of {requests} requests / 1 s", factor, "x", "<= 1.3", factor <= 1.3
        ),
        Measurement(NAME, "slowest request", figures.max_ms, "ms"),
    ]
    if figures.requests != requests:
        rows.append(
            Measurement(NAME, "requests answered", figures.requests, "", str(requests), False)
        )
    return rows
