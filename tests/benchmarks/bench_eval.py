"""(5) Eval runner: wall time of a full run against the sum of its samples' latencies."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path

from tests.benchmarks.apps import GENERATOR_DELAY_ENV
from tests.benchmarks.results import Measurement
from tests.benchmarks.servers import serving

NAME = "eval"
CONCURRENCY = 8
BACKEND_DELAY_S = 0.2
TARGET = "<= 0.25 x"


def _run(port: int, out: Path, limit: int | None) -> float:
    """Runs `python -m eval run`'s engine without BERTScore or judges; returns its wall time."""
    from eval.runner import RunOptions, run_evaluation
    from eval.settings import EvalSettings

    settings = EvalSettings(url=f"http://127.0.0.1:{port}", out=out)
    settings = settings.model_copy(
        update={
            "http": settings.http.model_copy(update={"concurrency": CONCURRENCY}),
            "bertscore": settings.bertscore.model_copy(update={"enabled": False}),
            "jury": settings.jury.model_copy(update={"judges": []}),
        }
    )
    started = time.perf_counter()
    asyncio.run(run_evaluation(settings, RunOptions(limit=limit, show_progress=False)))
    return time.perf_counter() - started


def run(quick: bool) -> list[Measurement]:
    try:
        import eval.runner  # noqa: F401
    except ImportError as error:
        return [
            Measurement(
                NAME, "full run", None, "", TARGET, note=f"eval runner not available: {error}"
            )
        ]
    limit = 10 if quick else None
    with (
        tempfile.TemporaryDirectory(prefix="fmt-bench-") as folder,
        serving("service_app", {GENERATOR_DELAY_ENV: str(BACKEND_DELAY_S)}) as port,
    ):
        started_at = datetime.now().astimezone()
        wall_s = _run(port, Path(folder) / "run", limit)
        samples = [
            json.loads(line)
            for line in (Path(folder) / "run" / "samples.jsonl").read_text().splitlines()
            if line.strip()
        ]
    latencies_s = sum(sample["latency_ms"] or 0.0 for sample in samples) / 1000
    finished = max(datetime.fromisoformat(sample["finished_at"]) for sample in samples)
    collect_s = (finished - started_at).total_seconds()
    ratio = wall_s / latencies_s
    failed = sum(not sample["ok"] for sample in samples)
    rows = [] if not failed else [Measurement(NAME, "failed samples", failed, "", "0", False)]
    return [
        *rows,
        Measurement(
            NAME,
            f"full run wall / sum of latencies, concurrency {CONCURRENCY}",
            ratio,
            "x",
            TARGET,
            ratio <= 0.25,
        ),
        Measurement(
            NAME,
            f"full run wall ({len(samples)} samples, {BACKEND_DELAY_S:g} s backend)",
            wall_s,
            "s",
        ),
        Measurement(NAME, "of which collecting answers", collect_s, "s"),
        Measurement(NAME, "sum of sample latencies", latencies_s, "s"),
    ]
