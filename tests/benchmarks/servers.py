"""Starts a benchmark app under uvicorn (one worker, 127.0.0.1) in its own process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from app.settings import PROJECT_ROOT
from tests.benchmarks.load import LoadSummary
from tests.uvicorn_process import uvicorn_process


@contextmanager
def serving(factory: str, environment: dict[str, str] | None = None) -> Iterator[int]:
    """Serves `tests.benchmarks.apps:<factory>`; yields its port, stops it afterwards."""
    options = ["--workers", "1", "--backlog", "4096"]
    with uvicorn_process(f"tests.benchmarks.apps:{factory}", options, environment) as served:
        yield served.port


def run_load(port: int, *arguments: str) -> LoadSummary:
    """Runs the load generator in its own process against `port`; returns its summary."""
    import json

    completed = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.load", "--port", str(port), *arguments],
        cwd=PROJECT_ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return LoadSummary(**json.loads(completed.stdout))
